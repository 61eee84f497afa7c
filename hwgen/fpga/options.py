"""`BoardOptions`: which board a bitstream is for and how its host link runs (`hwgen.fpga.build`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hwgen.fpga.board_top import DEFAULT_BAUD
from hwgen.fpga.boards import BOARDS, Board
from hwgen.fpga.flow import DEFAULT_INPUT_WORDS
from hwgen.model.kinds import check_kind
from hwgen.rtl.options import OptionsError


def check_device(device: Optional[str], board: Board) -> None:
    """A `--fit-device` given with a board build must be the board's own FPGA family."""
    if device is not None and device != board.family:
        raise OptionsError(f"device {device!r}: board {board.name} is an {board.family} board; leave it unset")


#: What a board returns after each step of a per-step model (`hwgen.fpga.protocol.StreamMode`).
STREAM_CHOICES = ("logits", "argmax")


@dataclass(frozen=True)
class BoardOptions:
    """Board options.

    board         a key of `hwgen.fpga.boards.BOARDS` ("icebreaker": iCE40 UP5K, weights in SPRAM;
                  "ulx3s-85f": ECP5 85F, weights in EBR).
    clock_mhz     clock in MHz (None: the board's oscillator; other values use the PLL); a design
                  slower than this is an error.
    input_buffer  input words the board buffers; longer sequences go in chunks.
    baud          host-link UART baud rate.
    seed          nextpnr placement seed (Fmax moves by a few MHz between seeds).
    stream        per-step models only: "logits" (default: every step's K logits) or "argmax" (one word per
                  step, the index of the largest logit); None: the model's default.
    """

    board: str
    clock_mhz: Optional[float] = None
    input_buffer: int = DEFAULT_INPUT_WORDS
    baud: int = DEFAULT_BAUD
    seed: int = 1
    stream: Optional[str] = None

    def __post_init__(self) -> None:
        check_kind("board", self.board, tuple(sorted(BOARDS)), OptionsError)
        if self.clock_mhz is not None and not self.clock_mhz > 0:
            raise OptionsError(f"clock_mhz must be > 0, got {self.clock_mhz}")
        if self.input_buffer < 1:
            raise OptionsError(f"input_buffer must be >= 1 word, got {self.input_buffer}")
        if self.stream is not None:
            check_kind("stream", self.stream, STREAM_CHOICES, OptionsError)
        if self.baud < 1:
            raise OptionsError(f"baud must be >= 1, got {self.baud}")
