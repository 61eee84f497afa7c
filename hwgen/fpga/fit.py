"""Choose an accelerator configuration that fits a board, or say why none does.

The weight memory is the first limit (SPRAM on the UP5K, EBR on the ECP5): the config is
checked by :class:`hwgen.hw.config.AccelConfig` itself (with the board's block RAM budget,
`ebr_target` = the board's FPGA family, and the UP5K's SPRAMs cascaded in depth), and when no lane count makes a
model fit, :func:`largest_fitting_hidden` searches the biggest hidden size that would,
so the error names the overflowing resource and a configuration to use instead.
The second is the whole top level's block RAM (row constants, tables, head, vector memories,
host-link buffers: :mod:`hwgen.fpga.block_ram`), checked by :func:`check_block_ram`.
"""

from __future__ import annotations

from typing import Callable, Optional

from hwgen.errors import HwgenError
from hwgen.fpga.block_ram import MemoryUse
from hwgen.fpga.boards import Board
from hwgen.hw.config import AccelConfig, ConfigError
from hwgen.model.integer_model import IntegerModel

#: Lanes tried first: wide enough to keep a step short, small enough for the UP5K's LCs.
PREFERRED_LANES = 4


class ModelTooLarge(HwgenError):
    """The model's weights (or datapath) do not fit the board."""


def _lane_choices(hidden: int) -> list[int]:
    """Lanes must divide hidden; layer 0's input is zero-padded to whole chunks, so it does not restrict them."""
    return [d for d in range(1, hidden + 1) if hidden % d == 0]


def weight_bits(hidden: int, inputs: int, layers: int, kind: str) -> int:
    bits = {"binary": 1, "ternary": 2}.get(kind, 8)  # int8 codes (the MAC baseline, or lowered floats)
    return sum(4 * hidden * ((inputs if layer == 0 else hidden) + hidden) for layer in range(layers)) * bits


def _analysis_config(board: Board, hidden: int, inputs: int, layers: int, lanes: int, kind: str) -> AccelConfig:
    """A model-less config (for sizing only): wide accumulators so only the memory decides."""
    return AccelConfig(hidden=hidden, input=inputs, layers=layers, lanes=lanes, weights_kind=kind,
                       weight_memory=board.weight_memory, acc_bits=48, ebr_target=board.family)


def largest_fitting_hidden(board: Board, hidden: int, inputs: int, layers: int, kind: str) -> Optional[tuple[int, int]]:
    """(hidden, lanes) of the largest model with this input size, layer count and weight kind that fits."""
    for h in range(hidden - 1, 0, -1):
        if weight_bits(h, inputs, layers, kind) > board.weight_bits:
            continue
        for lanes in _lane_choices(h):
            try:
                _analysis_config(board, h, inputs, layers, lanes, kind)
                return h, lanes
            except ConfigError:
                continue
    return None


def choose_config(board: Board, model: IntegerModel, lanes: Optional[int] = None,
                  weights_kind: Optional[str] = None) -> AccelConfig:
    """The accelerator config for ``model`` on ``board`` (weights in the board's RAM kind)."""
    kind = weights_kind or model.weights_kind
    H, X, L = model.hidden, model.input_size, len(model.layers)
    if lanes is not None:
        try:
            return AccelConfig.for_model(model, lanes=lanes, weight_memory=board.weight_memory, weights_kind=kind,
                                         ebr_target=board.family)
        except ConfigError as err:
            raise ConfigError(f"lanes={lanes} on {board.name}: {err}") from None
    try:
        return AccelConfig.choose_lanes(H, lambda choice: AccelConfig.for_model(
            model, lanes=choice, weight_memory=board.weight_memory, weights_kind=kind, ebr_target=board.family),
            prefer=PREFERRED_LANES)
    except ConfigError as err:
        last_error = err
    need = weight_bits(H, X, L, kind)
    memory = board.resource(board.weight_memory.upper())
    best = largest_fitting_hidden(board, H, X, L, kind)
    suggestion = (f"the largest {kind} LSTM with input {X} and {L} layer(s) that fits is hidden={best[0]} "
                  f"(lanes={best[1]})" if best else f"no {kind} LSTM with input {X} fits")
    raise ModelTooLarge(
        f"the {kind} LSTM (hidden {H}, input {X}, {L} layer(s)) does not fit {board.description}: its weights need "
        f"{need} bits of {memory.name} and the board has {memory.capacity} × {memory.bits // 1024} Kb = "
        f"{board.weight_bits} bits ({last_error}); {suggestion}")


def check_block_ram(board: Board, uses: tuple[MemoryUse, ...], what: str, suggestion: Callable[[], str]) -> None:
    """Raise :class:`ModelTooLarge` when the memories of the whole design need more EBR than `board` has.

    `suggestion` is called only then (it may build smaller designs to find one that fits)."""
    have = board.resource("EBR").capacity
    need = sum(u.blocks for u in uses)
    if need <= have:
        return
    largest = ", ".join(f"{u.name} {u.blocks}" for u in sorted(uses, key=lambda u: -u.blocks)[:4] if u.blocks)
    raise ModelTooLarge(f"{what} does not fit {board.description}: the design needs {need} EBR blocks and the board "
                        f"has {have} (largest: {largest}); {suggestion()}")
