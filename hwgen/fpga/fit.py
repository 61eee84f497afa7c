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

from dataclasses import replace
from typing import Callable, Optional

from hwgen.errors import HwgenError
from hwgen.fpga.block_ram import MemoryUse
from hwgen.fpga.boards import Board
from hwgen.hw.config import CELL_GATES, EBR_TARGETS, AccelConfig, ConfigError
from hwgen.hw.lanes import WEIGHT_BITS
from hwgen.hw.weight_memory import SPRAM_COUNT, SPRAM_WIDTH
from hwgen.model.gru import IntegerGRUModel
from hwgen.model.saved import RecurrentModel

#: The most weight codes a board's logic uses per cycle (lanes × gate rows) beside the rest of the accelerator and
#: the host link, per lane kind: add/sub/skip lanes (binary, ternary) and multiply lanes (int8 MACs). UP5K: 32
#: accumulate lanes, the SPRAMs' whole 64-bit ternary word, as 8 vector lanes × 4 gate rows (H=256 board top: 4364 of
#: 5280 LCs, 30 of 30 EBR); 4 MACs (8 DSPs, of which the row affine and the state update take 3). ECP5 85F: 16 and 16.
LOGIC_LANES = {"ice40": {"accumulate": 32, "multiply": 4}, "ecp5": {"accumulate": 16, "multiply": 16}}
#: Multipliers an accelerator's row affine and state update take.
ACCEL_MULTIPLIERS = 3
#: Multipliers a board has for the dense head's int8 lanes (`AccelConfig.head_lanes`) beside the row affine and the
#: state update, before any int8 gate lanes take theirs: UP5K 8 DSPs − 3; ECP5 85F as many as its multiply lanes.
HEAD_MULTIPLIERS = {"ice40": 8 - ACCEL_MULTIPLIERS, "ecp5": 16}
#: The widest vector chunk (lanes): UP5K H=64 at 32 lanes of one row took 4729 of 5280 LCs (vector memory, operand
#: and output registers 32 values wide) and nextpnr found no legal placement; H=128 at 16 lanes placed (3953 LCs).
VECTOR_LANES = 16
#: Gate rows a word may hold, per lane kind (`AccelConfig.gate_rows`): four rows side by side keep the vector chunk
#: narrow while the word is used whole; two serve units too short for four; MAC lanes stay one row (each product is
#: a multiplier).
GATE_ROW_CHOICES = {"accumulate": (1, 4, 2), "multiply": (1,)}
#: Two rows a word (a vector twice as wide as four rows' at the same codes a cycle) win only by at least this share
#: of the cycles a step of the best one- or four-row choice: UP5K H=48, input 8, 10 classes, 16 × 2 against 6 × 4:
#: 413 against 505 cycles, 4414 against 4046 LCs, 51.7 against 46.7 MHz (seed 1); a one-cycle saving (every-step
#: 16 × 2 against 8 × 4) is not worth the wider vector.
TWO_ROW_MIN_GAIN = 0.05


def model_cell(model: RecurrentModel) -> str:
    """"gru" for an `IntegerGRUModel`, else "lstm"."""
    return "gru" if isinstance(model, IntegerGRUModel) else "lstm"


def gate_row_choices(kind: str, cell: str) -> tuple[int, ...]:
    """`GATE_ROW_CHOICES` for a weight kind and cell: a GRU's word holds one gate row (its n row's two partial sums
    leave the lanes one row at a time; `AccelConfig` refuses gate_rows=4 for it)."""
    choices = GATE_ROW_CHOICES["multiply" if kind == "int8" else "accumulate"]
    return (1,) if cell == "gru" else choices


#: The widest word one block RAM reads (iCE40 SB_RAM40_4K 256 × 16, ECP5 DP16KD 512 × 36): a small model's weights
#: still come a whole word per cycle.
EBR_WIDEST = {"ice40": 16, "ecp5": 36}


def memory_word_bits(board: Board, weight_bits_total: int) -> int:
    """Bits the board's weight memory delivers per cycle: the UP5K's four SPRAMs side by side (4 × 16); on an EBR
    board, the fewest blocks that hold the weights, side by side (blocks × the block's word width), at least one
    block's widest word."""
    if board.weight_memory == "spram":
        return SPRAM_COUNT * SPRAM_WIDTH
    target = EBR_TARGETS[board.family]
    blocks = -(-weight_bits_total // (target.depth * target.width))
    return max(blocks * target.width, EBR_WIDEST[board.family])


def preferred_lanes(board: Board, kind: str, weight_bits_total: int) -> int:
    """A board's preferred codes per cycle (lanes × gate rows): its weight memory's word bits ÷ code bits (every
    read delivers a whole word of codes, so fewer leave bandwidth unused), within its logic budget (`LOGIC_LANES`)."""
    code = WEIGHT_BITS.get(kind, 8)
    budget = LOGIC_LANES[board.family]["multiply" if kind == "int8" else "accumulate"]
    return max(1, min(memory_word_bits(board, weight_bits_total) // code, budget))


class ModelTooLarge(HwgenError):
    """The model's weights (or datapath) do not fit the board."""


def _lane_choices(hidden: int) -> list[int]:
    """Lanes must divide hidden; layer 0's input is zero-padded to whole chunks, so it does not restrict them."""
    return [d for d in range(1, hidden + 1) if hidden % d == 0]


def weight_bits(hidden: int, inputs: int, layers: int, kind: str, cell: str = "lstm") -> int:
    bits = {"binary": 1, "ternary": 2}.get(kind, 8)  # int8 codes (the MAC baseline, or lowered floats)
    gates = CELL_GATES[cell]
    return sum(gates * hidden * ((inputs if layer == 0 else hidden) + hidden) for layer in range(layers)) * bits


def _analysis_config(board: Board, hidden: int, inputs: int, layers: int, lanes: int, kind: str,
                     cell: str) -> AccelConfig:
    """A model-less config (for sizing only): wide accumulators so only the memory decides."""
    return AccelConfig(hidden=hidden, input=inputs, layers=layers, lanes=lanes, weights_kind=kind,
                       weight_memory=board.weight_memory, acc_bits=48, ebr_target=board.family, cell=cell)


def largest_fitting_hidden(board: Board, hidden: int, inputs: int, layers: int, kind: str,
                           cell: str = "lstm") -> Optional[tuple[int, int]]:
    """(hidden, lanes) of the largest model with this input size, layer count, weight kind and cell that fits."""
    for h in range(hidden - 1, 0, -1):
        if weight_bits(h, inputs, layers, kind, cell) > board.weight_bits:
            continue
        for lanes in _lane_choices(h):
            try:
                _analysis_config(board, h, inputs, layers, lanes, kind, cell)
                return h, lanes
            except ConfigError:
                continue
    return None


def choose_config(board: Board, model: RecurrentModel, lanes: Optional[int] = None,
                  weights_kind: Optional[str] = None,
                  fits: Optional[Callable[[AccelConfig], None]] = None,
                  gate_rows: Optional[int] = None, max_products: Optional[int] = None) -> AccelConfig:
    """The accelerator config for ``model`` on ``board`` (weights in the board's RAM kind).

    Without `lanes`, for each gate-rows choice (`GATE_ROW_CHOICES`) the one lanes policy (`AccelConfig.choose_lanes`)
    with the board's preferred codes per cycle (`preferred_lanes`) ÷ gate rows as lanes (at most `VECTOR_LANES`), and
    of those the config with the fewest cycles per step; `fits(config)` may refuse a choice with a ConfigError (the
    whole design's block RAM: `hwgen.fpga.flow.design_for`). When `fits` refuses every lane count, the fewest valid
    lanes are returned (the caller's own check then says what overflows in the smallest design). `gate_rows` (with or
    without `lanes`) fixes the gate rows; with `lanes` alone they are 1. `max_products` caps the codes per cycle
    below the board's preference (an accelerator that shares the board's logic)."""
    kind = weights_kind or model.weights_kind
    H, X, L, cell = model.hidden, model.input_size, len(model.layers), model_cell(model)
    if gate_rows not in (None, 1) and cell == "gru":  # said before any lanes search, not as "does not fit"
        AccelConfig.for_model(model, lanes=1, weights_kind=kind, gate_rows=gate_rows)
    if lanes is not None:
        try:
            config = AccelConfig.for_model(model, lanes=lanes, weight_memory=board.weight_memory, weights_kind=kind,
                                           ebr_target=board.family, gate_rows=gate_rows or 1)
        except ConfigError as err:
            raise ConfigError(f"lanes={lanes} on {board.name}: {err}") from None
        # the head's lanes within the board's multipliers, as without `lanes` (its own lanes default to all of
        # them: 4 int8 gate lanes + a 4-lane head took 12 of the UP5K's 8 DSPs); `fits` may narrow it further
        return _with_head(board, config, fits, fallback=True)
    products = preferred_lanes(board, kind, weight_bits(H, X, L, kind, cell))
    if max_products is not None:
        products = min(products, max_products)
    rows_choices = (gate_rows,) if gate_rows else gate_row_choices(kind, cell)
    last_error: Optional[ConfigError] = None

    def best(check: Optional[Callable[[AccelConfig], None]], narrowest: bool) -> Optional[AccelConfig]:
        """Per gate-rows choice the one lanes policy's config (`narrowest`: from 1 lane up); the fewest cycles per
        step of them (`_fewest_cycles`)."""
        nonlocal last_error
        choices = []
        for rows in rows_choices:
            prefer = 1 if narrowest else min(max(1, products // rows), VECTOR_LANES)
            try:
                choices.append(AccelConfig.choose_lanes(H, _maker(board, model, kind, rows, check), prefer=prefer))
            except ConfigError as err:
                last_error = last_error or err
        return _fewest_cycles(choices)

    # With `fits`, only designs that fit; when none does, the narrowest valid one, so the caller's own check says what
    # overflows in the smallest design.
    config = (fits and best(fits, False)) or best(None, fits is not None)
    if config is not None:
        return config
    need = weight_bits(H, X, L, kind, cell)
    memory = board.resource(board.weight_memory.upper())
    best = largest_fitting_hidden(board, H, X, L, kind, cell)
    name = cell.upper()
    suggestion = (f"the largest {kind} {name} with input {X} and {L} layer(s) that fits is hidden={best[0]} "
                  f"(lanes={best[1]})" if best else f"no {kind} {name} with input {X} fits")
    raise ModelTooLarge(
        f"the {kind} {name} (hidden {H}, input {X}, {L} layer(s)) does not fit {board.description}: its weights need "
        f"{need} bits of {memory.name} and the board has {memory.capacity} × {memory.bits // 1024} Kb = "
        f"{board.weight_bits} bits ({last_error}); {suggestion}")


def _fewest_cycles(choices: list[AccelConfig]) -> Optional[AccelConfig]:
    """The config of fewest cycles a step (ties: the first, one row a word before four), a two-row one only when it
    saves `TWO_ROW_MIN_GAIN` of the best other's."""
    cycles = AccelConfig.cycles_per_step
    best = min((c for c in choices if c.gate_rows != 2), key=cycles, default=None)
    two = min((c for c in choices if c.gate_rows == 2), key=cycles, default=None)
    if two is not None and (best is None or cycles(two) <= (1 - TWO_ROW_MIN_GAIN) * cycles(best)):
        return two
    return best


def head_lane_choices(family: str, config: AccelConfig, sharers: int = 1) -> list[int]:
    """The dense head's lanes (`AccelConfig.head_lanes`) a board of `family` can give `config`, most first: the
    divisors of its lanes within the multipliers left beside the row affine, the state update and any int8 gate
    lanes (at least one). The board fit takes the first whose design fits; the explore estimators assume it.
    `sharers` accelerators on one board (a gated pair: 2) split what is left after the others' row affines and
    state updates."""
    others = (sharers - 1) * ACCEL_MULTIPLIERS
    spare = (HEAD_MULTIPLIERS[family] - others) // sharers - (config.products if config.weights_kind == "int8" else 0)
    return sorted((d for d in _lane_choices(config.lanes) if d <= max(1, spare)), reverse=True)


def _maker(board: Board, model: RecurrentModel, kind: str, gate_rows: int,
           check: Optional[Callable[[AccelConfig], None]]) -> Callable[[int], AccelConfig]:
    """`make(lanes)` for `AccelConfig.choose_lanes`: the board's config at `gate_rows`, refused by `check` too."""
    def make(lanes: int) -> AccelConfig:
        config = AccelConfig.for_model(model, lanes=lanes, weight_memory=board.weight_memory, weights_kind=kind,
                                       ebr_target=board.family, gate_rows=gate_rows)
        return _with_head(board, config, check)

    return make


def _with_head(board: Board, config: AccelConfig, check: Optional[Callable[[AccelConfig], None]],
               fallback: bool = False) -> AccelConfig:
    """`config` with the head's lanes: the most the board's spare multipliers allow, fewer while `check` (the
    design's block RAM: the head's weight words are head_lanes codes wide) refuses; when it refuses every choice,
    its first error, or with `fallback` the narrowest head (the caller's own check then says what overflows)."""
    if config.outputs == 0:
        if check is not None:
            check(config)
        return config
    error: Optional[ConfigError] = None
    choices = head_lane_choices(board.family, config)
    for n in choices:
        candidate = replace(config, head_lanes=n)
        try:
            if check is not None:
                check(candidate)
            return candidate
        except ConfigError as err:
            error = error or err
    if fallback:
        return replace(config, head_lanes=choices[-1])
    assert error is not None
    raise error


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
