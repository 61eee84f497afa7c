"""`AccelConfig`: one object gives the accelerator's hardware, reference model and cycle count.

Like `amaranth.lib.crc.Parameters`, the config is plain data; `create()` builds the
Amaranth component, `reference()` runs the bit-exact integer model, `expected_cycles()`
counts cycles analytically from the same schedule the controller follows
(see `hwgen.hw.schedule`). Every constraint is checked on construction, and a
violation names the constraint and the nearest valid choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Optional

import numpy as np

from hwgen.errors import HwgenError
from hwgen.hw.lanes import WEIGHT_BITS
from hwgen.hw.weight_memory import SPRAM_COUNT, SPRAM_WIDTH, SPRAM_WORDS, spram_depth
from hwgen.model.fixed import bits_for
from hwgen.model.gru import IntegerGRUModel
from hwgen.model.integer_model import IntegerModel
from hwgen.model.saved import RecurrentModel
from hwgen.model.kinds import OUTPUT_STEPS, WEIGHT_MEMORIES

#: `AccelConfig.cell` choices and their gate rows per unit (hardware order: LSTM i, f, g, o; GRU z, r, n).
CELL_GATES = {"lstm": 4, "gru": 3}

#: `AccelConfig.gate_rows` choices.
GATE_ROWS = (1, 2, 4)
#: With gate_rows > 1, the fewest cycles per unit: its rows enter the shared affine 2 cycles apart (a word's rows
#: within one word's cycles), and the state update takes units at least 8 cycles apart.
UNIT_MIN_CYCLES = 8

#: Weight bits a logic ROM ("registers") may hold before it is better placed in EBR.
REGISTER_WEIGHT_BITS = 16384


@dataclass(frozen=True)
class EbrTarget:
    """A device's block RAM as the weight memory sees it: blocks, how many stay free for the
    activation tables, row constants and vector memories, and one block's geometry (the mode
    the weights use: `depth` words of `width` bits)."""

    device: str
    blocks: int
    reserved: int
    depth: int
    width: int

    def blocks_for(self, words: int, bits: int) -> int:
        return -(-bits // self.width) * -(-words // self.depth)


#: `AccelConfig.ebr_target` choices: an iCE40 UP5K (30 × 4 Kb, 256 × 16 mode) and an ECP5 85F (208 × 18 Kb DP16KD,
#: 1024 × 18 mode).
EBR_TARGETS = {
    "ice40": EbrTarget("iCE40 UP5K", blocks=30, reserved=6, depth=256, width=16),
    "ecp5": EbrTarget("ECP5 85F", blocks=208, reserved=16, depth=1024, width=18),
}
#: iCE40 UP5K: 30 EBR blocks of 4 Kb; the activation tables and row constants need a few.
EBR_BLOCKS = EBR_TARGETS["ice40"].blocks
EBR_BLOCKS_RESERVED = EBR_TARGETS["ice40"].reserved


class ConfigError(HwgenError):
    """An accelerator configuration that cannot be built."""


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _nearest(value: int, choices: list[int]) -> str:
    """The closest valid choice below and above `value` ("4 or 8"), or the one that exists."""
    below = [c for c in choices if c <= value]
    above = [c for c in choices if c > value]
    picks = ([max(below)] if below else []) + ([min(above)] if above else [])
    return " or ".join(str(c) for c in picks) if picks else "none"


@dataclass(frozen=True)
class AccelConfig:
    hidden: int
    input: int
    layers: int = 1
    lanes: int = 4
    #: Gate rows read together: 1 (a weight word is one chunk of one row; rows in turn), 4 (a unit's four gate
    #: rows side by side in one word: `lanes` columns × 4 gates, four adder trees and accumulators on one vector chunk,
    #: so the vector memory stays `lanes` wide while a wide weight word is used whole) or 2 (rows i, f in one word,
    #: then g, o: for units too short for four rows, whose chunks are still enough for two).
    gate_rows: int = 1
    outputs: int = 0  # dense-head outputs (logits); 0: output the last hidden state
    #: The dense head's products a cycle (its int8 multiply lanes, `hwgen.hw.head_unit`); a divisor of lanes; 0: lanes.
    head_lanes: int = 0
    weights_kind: str = "ternary"  # binary | ternary | int8
    weight_memory: str = "ebr"  # registers | ebr | spram
    act_bits: int = 8
    acc_bits: int = 16
    gate_bits: int = 12
    cell_bits: int = 16
    mult_bits: int = 16
    bias_bits: int = 32
    sum_bits: int = 40
    out_bits: int = 24
    top: str = "hwgen_accel"
    #: Whose block RAM budget `weight_memory='ebr'` is checked against (a key of `EBR_TARGETS`: "ice40" | "ecp5");
    #: None: generic Verilog for no particular device, so no budget is assumed.
    ebr_target: Optional[str] = None
    #: "last": outputs after a sequence's last step (a classifier); "every_step": after every step (a char-LM),
    #: each step's K logits (computed beside the next step) or H hidden values (streamed before it starts).
    output_steps: str = "last"
    #: The recurrent cell: "lstm", or "gru" (linear_before_reset=1, one gate row a word; its state update is
    #: `hwgen.hw.gru_update`).
    cell: str = "lstm"
    #: The integer model whose weights fill the ROMs (None: a config for cycle/size analysis only).
    model: Optional[RecurrentModel] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        errs: list[str] = []
        if self.weights_kind not in WEIGHT_BITS:
            errs.append(f"weights_kind {self.weights_kind!r} is not one of {', '.join(WEIGHT_BITS)}")
        if self.weight_memory not in WEIGHT_MEMORIES:
            errs.append(f"weight_memory {self.weight_memory!r} is not one of {', '.join(WEIGHT_MEMORIES)}")
        if self.ebr_target is not None and self.ebr_target not in EBR_TARGETS:
            errs.append(f"ebr_target {self.ebr_target!r} is not one of {', '.join(EBR_TARGETS)}")
        if self.output_steps not in OUTPUT_STEPS:
            errs.append(f"output_steps {self.output_steps!r} is not one of {', '.join(OUTPUT_STEPS)}")
        for name in ("hidden", "input", "layers", "lanes"):
            if getattr(self, name) < 1:
                errs.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.head_lanes < 0 or (self.head_lanes and self.lanes % self.head_lanes):
            errs.append(f"head_lanes={self.head_lanes} must divide lanes={self.lanes} (or be 0: lanes); nearest valid: "
                        f"{_nearest(self.head_lanes, _divisors(self.lanes))}")
        if self.gate_rows not in GATE_ROWS:
            errs.append(f"gate_rows must be one of {', '.join(map(str, GATE_ROWS))}, got {self.gate_rows}")
        if self.cell not in CELL_GATES:
            errs.append(f"cell {self.cell!r} is not one of {', '.join(CELL_GATES)}")
        elif self.cell == "gru" and self.gate_rows != 1:
            errs.append(f"gate_rows={self.gate_rows} is for LSTMs (a word holds 2 or 4 of a unit's four rows); a GRU reads one "
                        "gate row a word: nearest valid choice: gate_rows=1")
        if errs:
            raise ConfigError("; ".join(errs))
        if self.hidden % self.lanes:
            raise ConfigError(f"lanes={self.lanes} must divide hidden={self.hidden} "
                              f"(each row is read in whole chunks of lanes codes, so a row takes >= 2 cycles and the "
                              f"shared affine multiplier keeps up; layer 0's input is zero-padded to a multiple of lanes); "
                              f"nearest valid lanes: {_nearest(self.lanes, _divisors(self.hidden))}")
        if self.gate_rows > 1 and (shortest := self._shortest_unit(self.lanes)) < UNIT_MIN_CYCLES:
            ok = [d for d in _divisors(self.hidden) if self._shortest_unit(d) >= UNIT_MIN_CYCLES]
            fewer = ", ".join(str(r) for r in GATE_ROWS if r < self.gate_rows)
            raise ConfigError(f"gate_rows={self.gate_rows} with lanes={self.lanes}: a unit takes "
                              f"{shortest} cycles, fewer than the {UNIT_MIN_CYCLES} its rows need "
                              f"in the shared affine and the state update; nearest valid lanes: {_nearest(self.lanes, ok)} "
                              f"(or gate_rows {fewer})")
        if self.act_bits < 3 or self.act_bits > 16:
            raise ConfigError(f"act_bits={self.act_bits} must be in 3..16")
        need = self.required_acc_bits()
        if self.acc_bits < need:
            raise ConfigError(f"acc_bits={self.acc_bits} is too small for the worst-case accumulator bound "
                              f"{self.acc_bound()} ({self.weights_kind} weights × |activation| <= {1 << (self.act_bits - 1)}); "
                              f"nearest valid acc_bits: {need}")
        self._check_memory()
        if self.model is not None:
            self._check_model(self.model)

    # ---- derived sizes ---------------------------------------------------------------------
    @property
    def weight_bits(self) -> int:
        return WEIGHT_BITS[self.weights_kind]

    def layer_input(self, layer: int) -> int:
        return self.input if layer == 0 else self.hidden

    def padded_input(self, layer: int = 0) -> int:
        """`layer_input` rounded up to whole chunks: layer 0's pad columns hold zero codes and read x = 0
        (see `hwgen.hw.images.weight_words` and the input-bank writer `hwgen.hw.input_banks`)."""
        return self.x_chunks(layer) * self.lanes

    def chunks(self, layer: int, lanes: Optional[int] = None) -> int:
        """Cycles per row of `layer`: ceil(input / lanes) + hidden / lanes (with `lanes`, for another lane count)."""
        lanes = lanes or self.lanes
        return -(-self.layer_input(layer) // lanes) + self.hidden // lanes

    def x_chunks(self, layer: int) -> int:
        return self.chunks(layer) - self.h_chunks

    @property
    def h_chunks(self) -> int:
        return self.hidden // self.lanes

    @property
    def head_products(self) -> int:
        """The dense head's products a cycle: `head_lanes`, or lanes."""
        return self.head_lanes or self.lanes

    @property
    def products(self) -> int:
        """Weight codes used per cycle: lanes × gate_rows."""
        return self.lanes * self.gate_rows

    @property
    def word_bits(self) -> int:
        return self.products * self.weight_bits

    @property
    def gates(self) -> int:
        """Gate rows per unit: 4 for an LSTM, 3 for a GRU."""
        return CELL_GATES[self.cell]

    def unit_cycles(self, layer: int, lanes: Optional[int] = None) -> int:
        """Issue cycles of one unit's gate rows in `layer`'s pass (with `lanes`, for another lane count)."""
        return self.gates * self.chunks(layer, lanes) // self.gate_rows

    def _shortest_unit(self, lanes: int) -> int:
        """The fewest issue cycles of a unit over the layers, with `lanes` lanes."""
        return min(self.unit_cycles(layer, lanes) for layer in range(self.layers))

    @property
    def weight_words(self) -> int:
        return self.words_for(self.lanes)

    def words_for(self, lanes: int) -> int:
        """Weight words (chunks of all rows, `gate_rows` rows a word) with `lanes` lanes."""
        return sum(self.hidden * self.unit_cycles(layer, lanes) for layer in range(self.layers))

    def acc_bound(self) -> int:
        """Worst case |accumulator|: every code at its largest magnitude on the widest row."""
        code = 127 if self.weights_kind == "int8" else 1
        widest = max(self.layer_input(layer) for layer in range(self.layers))
        return widest * code * (1 << (self.act_bits - 1))

    def required_acc_bits(self) -> int:
        if self.model is not None:
            return self.model.accumulator_bits()
        return bits_for(self.acc_bound())

    def _check_memory(self) -> None:
        bits = self.weight_words * self.word_bits
        if self.weight_memory == "registers" and bits > REGISTER_WEIGHT_BITS:
            raise ConfigError(f"{bits} weight bits are too many for weight_memory='registers' (at most {REGISTER_WEIGHT_BITS}); "
                              "nearest valid choice: weight_memory='ebr'")
        if self.weight_memory == "ebr" and self.ebr_target is not None:
            blocks, target = self.ebr_blocks(), EBR_TARGETS[self.ebr_target]
            if blocks > target.blocks - target.reserved:
                raise ConfigError(f"weights need {blocks} EBR blocks of {target.depth} × {target.width} bits ({bits} bits as "
                                  f"{self.weight_words} words of {self.word_bits} bits); an {target.device} has "
                                  f"{target.blocks - target.reserved} free for weights; nearest valid choice: "
                                  + ("weight_memory='spram'" if self.ebr_target == "ice40" else "a smaller model"))
        if self.weight_memory == "spram":
            if self.word_bits > SPRAM_COUNT * SPRAM_WIDTH:
                ok = [d for d in _divisors(self.hidden) if d * self.gate_rows * self.weight_bits <= SPRAM_COUNT * SPRAM_WIDTH]
                raise ConfigError(f"lanes={self.lanes} × {self.gate_rows} gate row(s) × {self.weight_bits}-bit codes = {self.word_bits}-bit words, wider than "
                                  f"{SPRAM_COUNT} SPRAMs × {SPRAM_WIDTH} bits; nearest valid lanes: {_nearest(self.lanes, ok)}")
            depth = spram_depth(self.word_bits)
            if self.weight_words > depth:
                ok = [d for d in _divisors(self.hidden)
                      if self.words_for(d) <= spram_depth(d * self.gate_rows * self.weight_bits)]
                raise ConfigError(f"{self.weight_words} weight words of {self.word_bits} bits exceed the SPRAM depth {depth} "
                                  f"({SPRAM_COUNT} SPRAMs of {SPRAM_WORDS} × {SPRAM_WIDTH}, cascaded in depth as the word width "
                                  f"allows); nearest valid lanes: {_nearest(self.lanes, ok)} (or a smaller model)")

    def ebr_blocks(self, target: Optional[str] = None) -> int:
        """EBR blocks of `target` (default `ebr_target`) for the weights (one block column per `width` bits of word)."""
        name = target or self.ebr_target
        if name is None:
            raise ConfigError(f"a generic config has no block RAM geometry; name one of {', '.join(EBR_TARGETS)}")
        return EBR_TARGETS[name].blocks_for(self.weight_words, self.word_bits)

    def _check_model(self, model: RecurrentModel) -> None:
        is_gru = isinstance(model, IntegerGRUModel)
        if is_gru != (self.cell == "gru"):
            raise ConfigError(f"the model is {'a GRU' if is_gru else 'an LSTM'} but the config is for cell={self.cell!r}; "
                              f"nearest valid choice: cell={'gru' if is_gru else 'lstm'!r}")
        if is_gru and not model.linear_before_reset:
            raise ConfigError("the GRU has linear_before_reset=0 (the reset gate before R_h, so a layer's candidate rows "
                              "would wait for every unit's r ⊙ h); the accelerator supports linear_before_reset=1 "
                              "(nn.GRU's form, what `hwgen train lstm --cell gru` trains)")
        want = (model.hidden, model.input_size, len(model.layers), model.output_size if model.head is not None else 0)
        have = (self.hidden, self.input, self.layers, self.outputs)
        if want != have:
            raise ConfigError(f"config (hidden, input, layers, outputs) = {have} does not match the model's {want}")
        if model.output_steps != self.output_steps:
            raise ConfigError(f"output_steps={self.output_steps!r} but the model outputs {model.output_steps!r}; "
                              f"nearest valid choice: output_steps={model.output_steps!r}")
        if model.weights_kind != self.weights_kind and not (self.weights_kind == "int8"):
            raise ConfigError(f"the model has {model.weights_kind} weights but the config is for {self.weights_kind}; "
                              f"nearest valid choice: weights_kind={model.weights_kind!r} (or 'int8' for the MAC baseline)")
        if self.weights_kind == "binary":
            for layer in model.layers:
                if np.any(layer.w_codes == 0) or np.any(layer.r_codes == 0):
                    raise ConfigError("weights_kind='binary' cannot hold zero codes; nearest valid choice: weights_kind='ternary'")
        widths = {"act_bits": (self.act_bits, model.hidden_format.bits), "gate_bits": (self.gate_bits, model.gate_format.bits)}
        if isinstance(model, IntegerModel):
            widths["cell_bits"] = (self.cell_bits, model.cell_format.bits)
        for name, (have_bits, want_bits) in widths.items():
            if have_bits != want_bits:
                raise ConfigError(f"{name}={have_bits} differs from the model's format ({want_bits} bits); nearest valid: {want_bits}")
        if model.multiplier_bits() > self.mult_bits:
            raise ConfigError(f"mult_bits={self.mult_bits} cannot hold the model's multipliers; nearest valid: {model.multiplier_bits()}")
        if model.affine_bits() > self.sum_bits:
            raise ConfigError(f"sum_bits={self.sum_bits} is below the affine bound; nearest valid: {model.affine_bits()}")

    # ---- construction ------------------------------------------------------------------------
    @staticmethod
    def for_model(model: RecurrentModel, lanes: int = 4, weight_memory: str = "ebr", weights_kind: Optional[str] = None,
                  top: str = "hwgen_accel", ebr_target: Optional[str] = None, gate_rows: int = 1,
                  head_lanes: int = 0) -> "AccelConfig":
        """The smallest config that runs `model` bit-exactly with `lanes` lanes (× `gate_rows` rows a word; the head's
        `head_lanes` products a cycle, 0: lanes)."""
        kind = weights_kind or model.weights_kind
        biases = [np.abs(layer.gate.bias).max() for layer in model.layers]
        if isinstance(model, IntegerGRUModel):  # no cell state; the candidate rows' reset biases sit beside the biases
            biases += [np.abs(layer.reset_bias).max() for layer in model.layers]
            cell_sum, cell_bits, cell = 0, AccelConfig.cell_bits, "gru"
        else:
            biases += [np.abs(layer.cell.bias).max() for layer in model.layers]
            cell_sum = max(bits_for(int(np.abs(layer.cell.mult).max()) * -model.cell_format.min
                                    + int(np.abs(layer.cell.bias).max())) for layer in model.layers)
            cell_bits, cell = model.cell_format.bits, "lstm"
        return AccelConfig(
            hidden=model.hidden, input=model.input_size, layers=len(model.layers), lanes=lanes, gate_rows=gate_rows,
            head_lanes=head_lanes,
            outputs=model.output_size if model.head is not None else 0, weights_kind=kind, weight_memory=weight_memory,
            act_bits=model.hidden_format.bits, acc_bits=max(model.accumulator_bits(), bits_for(-model.hidden_format.min * 127)),
            gate_bits=model.gate_format.bits, cell_bits=cell_bits, mult_bits=max(model.multiplier_bits(), 9),
            bias_bits=bits_for(int(max(biases))), sum_bits=max(model.affine_bits(), cell_sum),
            out_bits=model.output_bits, top=top, ebr_target=ebr_target, output_steps=model.output_steps, cell=cell,
            model=model,
        )

    @staticmethod
    def choose_lanes(hidden: int, make: Callable[[int], "AccelConfig"], prefer: int) -> "AccelConfig":
        """The one default-lanes policy (rtl and fpga): the config `make(lanes)` for the most lanes up to
        `prefer` that is valid, else the fewest above it. Lanes must divide hidden; `prefer` is the width a
        target wants (wide enough for short steps, small enough for its logic), and fewer lanes are tried
        first when the preferred width does not fit (e.g. a block RAM budget), more when fewer cannot
        (e.g. SPRAM depth, which needs wider words). When no lanes work, raises the preferred width's ConfigError."""
        divisors = _divisors(hidden)
        order = sorted((d for d in divisors if d <= prefer), reverse=True) + [d for d in divisors if d > prefer]
        error: Optional[ConfigError] = None
        for lanes in order:
            try:
                return make(lanes)
            except ConfigError as err:
                error = error or err
        assert error is not None
        raise error

    def with_model(self, model: RecurrentModel) -> "AccelConfig":
        return replace(self, model=model)

    def create(self, simulate: bool = False) -> "object":
        """The Amaranth `wiring.Component` of the whole accelerator (flat ports of the contract)."""
        if self.model is None:
            raise ConfigError("this config has no model to put in its ROMs; use AccelConfig.for_model(model, ...)")
        from hwgen.hw.accelerator import Accelerator

        return Accelerator(self, self.model, simulate=simulate)

    # ---- reference and timing ----------------------------------------------------------------------
    def reference(self, model: RecurrentModel, x_int: np.ndarray) -> np.ndarray:
        """Bit-exact outputs of the hardware for one sequence [T, X] (or a batch [N, T, X]): [K] (or [N, K]),
        with every-step outputs [T, K] (or [N, T, K]) in stream order."""
        self._check_model(model)
        return model.run(x_int)

    def schedule(self) -> "object":
        from hwgen.hw.schedule import Schedule

        return Schedule.of(self)

    def cycles_per_step(self) -> int:
        """Steady-state cycles of one time step (all layers), state update overlapped with the next pass (with
        every-step logits the dense head runs beside the next step; every-step hidden outputs add the drain of the
        last state update and the output burst)."""
        return self.schedule().cycles_per_step  # type: ignore[attr-defined]

    def expected_cycles(self, steps: int) -> int:
        """Cycles from the first input beat to the last output beat (inclusive) for one sequence of
        `steps` steps, with inputs always valid and the output always ready."""
        return self.schedule().sequence_cycles(steps)  # type: ignore[attr-defined]

    def ideal_cycles_per_step(self) -> float:
        """Useful weight operations per step / products per cycle: G·H · (X_l + H) / (lanes · gate_rows) summed over
        the layers, the bound a perfectly busy datapath reaches. With every-step logits the dense head's K · H / lanes
        (its own `head_products` a cycle, beside the gates' lanes) bounds it too: the larger of the two. Pad columns
        of an input that lanes do not divide are not useful work, so they count against utilisation."""
        return max(self.gate_ideal_cycles_per_step(), self.head_ideal_cycles_per_step())

    def gate_ideal_cycles_per_step(self) -> float:
        """The gate rows' products per step over the gates' lanes: G·H · (X_l + H) / (lanes · gate_rows), all layers
        (G = `gates`: 4 for an LSTM, 3 for a GRU)."""
        return sum(self.gates * self.hidden * (self.layer_input(layer) + self.hidden) for layer in range(self.layers)) / self.products

    def head_ideal_cycles_per_step(self) -> float:
        """The dense head's products per step over its lanes: K · H / head_products with every-step logits, else 0."""
        return self.outputs * self.hidden / self.head_products if self.output_steps == "every_step" else 0.0

    def utilisation(self) -> float:
        return self.ideal_cycles_per_step() / self.cycles_per_step()
