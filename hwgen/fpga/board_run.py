"""Run a board build on a real board: `run_on_board(folder, port, x) -> BoardRun` (`hwgen run --device`).

The folder is what `hwgen.fpga.build` wrote (fpga.json, model.npz, weights.npy for SPRAM);
weights are uploaded when they sit in SPRAM, each sequence is run, and the outputs are
compared with the integer reference, so a board that disagrees is never reported as working.
A per-step model's board (a char-LM) returns every step's outputs: [N, T, K] logits, or [N, T]
argmax indices. :func:`board_session` opens a board, or with no port the Verilator host
simulation of the whole board top built from the same folder.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Union

import numpy as np

from hwgen.errors import HwgenError
from hwgen.fpga.protocol import PROTOCOL_VERSION, StreamMode
from hwgen.model.saved import RecurrentModel, load_model

if TYPE_CHECKING:  # the driver imports pyserial: only when a board is opened
    from hwgen.fpga.driver import Device


@dataclass(frozen=True, eq=False)
class BoardRun:
    """Outputs from the board ([N, K]; per-step models [N, T, K], argmax [N, T]), the reference's, and the cycles
    each sequence took."""

    outputs: np.ndarray
    expected: np.ndarray
    cycles: tuple[int, ...]
    steps: int
    stream: StreamMode = StreamMode.SEQUENCE

    @property
    def bit_exact(self) -> bool:
        return bool(np.array_equal(self.outputs, self.expected.reshape(self.outputs.shape)))

    @property
    def cycles_per_step(self) -> float:
        return float(np.mean([c / self.steps for c in self.cycles]))

    def step_lines(self, limit: int = 16) -> list[str]:
        """A per-step model's first sequence, one line per step (its largest logit, or its argmax), up to `limit`."""
        if self.stream == StreamMode.SEQUENCE:
            return []
        if self.stream == StreamMode.ARGMAX:
            picks = [(int(k), None) for k in self.outputs[0]]
        else:
            picks = [(int(y.argmax()), int(y.max())) for y in self.outputs[0]]
        lines = [f"step {t}: argmax {k}" + ("" if v is None else f" (logit {v})") for t, (k, v) in enumerate(picks)]
        return lines[:limit] + ([f"... {len(lines) - limit} more steps"] if len(lines) > limit else [])


def load_build(folder: Union[str, Path]) -> dict:
    """The board build's manifest (fpga.json), or a HwgenError saying how to make one (or remake an old one)."""
    manifest = Path(folder) / "fpga.json"
    if not manifest.exists():
        raise HwgenError(f"{folder}: not an FPGA build folder (no fpga.json); "
                         f"make one with `hwgen build model.onnx --target fpga --board ... -o {folder}`")
    meta = json.loads(manifest.read_text())
    version = meta.get("protocol", 1)
    if version != PROTOCOL_VERSION:
        raise HwgenError(f"{manifest}: built for host-link protocol version {version}, this hwgen speaks version "
                         f"{PROTOCOL_VERSION}; rebuild it with `hwgen build --target fpga`")
    return meta


def stream_of(meta: dict) -> StreamMode:
    """The build's stream mode (fpga.json `stream`)."""
    return StreamMode.parse(meta.get("stream", "sequence"))


def expected_outputs(model: RecurrentModel, mode: StreamMode, codes: np.ndarray) -> np.ndarray:
    """What the board returns for integer inputs [N, T, X]: the reference's outputs, per step reduced to the
    index of the first largest logit in argmax mode ([N, T])."""
    out = model.run(codes)
    return out.argmax(axis=-1) if mode == StreamMode.ARGMAX else out


@contextmanager
def board_session(folder: Union[str, Path], port: Optional[str] = None, baud: Optional[int] = None,
                  timeout: float = 30.0) -> Iterator["Device"]:
    """A :class:`~hwgen.fpga.driver.Device` for the build in `folder`, its weights uploaded: the board at `port`,
    or (None) the Verilator host simulation of the whole board top (UART, frame engine, accelerator)."""
    from hwgen.fpga.driver import Device

    folder = Path(folder)
    meta = load_build(folder)
    if port is None:
        from hwgen.fpga.hostsim import simulate_build

        with simulate_build(folder, meta) as board, Device(board.port, timeout=timeout) as dev:
            _prepare(dev, folder, meta, "the host simulation")
            yield dev
        return
    with Device(port, baud=baud or meta["baud"], timeout=timeout) as dev:
        _prepare(dev, folder, meta, port)
        yield dev


def _prepare(dev: "Device", folder: Path, meta: dict, where: str) -> None:
    """Check the device runs this build's design and upload its weights (SPRAM builds)."""
    info, expected_info = dev.info(), meta["device_info"]
    keys = ("in_width", "out_width", "stream", "step_outputs")
    if any(getattr(info, k) != expected_info.get(k, 0) for k in keys):
        raise HwgenError(f"{where}: the board runs a different design ({info}) than {folder} ({expected_info})")
    if meta.get("weights"):
        dev.write_weights(np.load(folder / meta["weights"]))


def input_codes(model: RecurrentModel, x: np.ndarray) -> np.ndarray:
    """Integer inputs as they are (int arrays) or quantised from floats."""
    return x.astype(np.int64) if np.issubdtype(x.dtype, np.integer) else model.quantize_input(x)


def run_on_board(folder: Union[str, Path], port: Optional[str], x: np.ndarray, baud: Optional[int] = None,
                 timeout: float = 30.0) -> BoardRun:
    """Run [T, X] or [N, T, X] inputs on the board at `port` built into `folder` (None: its host simulation);
    compare with the reference."""
    folder = Path(folder)
    meta = load_build(folder)
    if "model" not in meta:  # a surprisal-gated pair (small.npz, big.npz): its input is a character id a step
        raise HwgenError(f"{folder} holds a surprisal-gated pair; run it with `hwgen generate {folder} --prompt ...` "
                         f"(each step's decision and logits are checked against the gated reference)")
    model = load_model(folder / meta["model"])
    codes = input_codes(model, x)
    if codes.ndim == 2:
        codes = codes[None]
    if codes.ndim != 3 or codes.shape[-1] != model.input_size:
        raise HwgenError(f"inputs of shape {list(x.shape)}: the board takes [T, {model.input_size}] or "
                         f"[N, T, {model.input_size}]")
    mode = stream_of(meta)
    expected = expected_outputs(model, mode, codes)
    outs, cycles = [], []
    with board_session(folder, port, baud, timeout) as dev:
        for seq in codes:
            y, result = dev.infer(seq)
            outs.append(y)
            cycles.append(result.cycles)
    return BoardRun(np.stack(outs).reshape(expected.shape), expected, tuple(cycles), codes.shape[1], mode)
