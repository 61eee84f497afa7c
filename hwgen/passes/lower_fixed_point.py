"""Lower a binary/ternary LSTM stack (+ dense head) to an integer model (the hardware's spec).

Choices, and why:
- Activations (inputs, hidden state, σ/tanh outputs) are `act_bits` signed; the hidden
  state is Q0.(act_bits-1) because h = σ·tanh lies in (-1, 1). The input fraction comes
  from calibration data (largest |x|), or `input_frac`.
- Each row's BN/scale affine a·acc_x + a'·acc_h + b becomes integer multipliers with one
  shift per layer (a wire shift in hardware) chosen as large as the `multiplier_bits`
  multiplier allows. The shift floors, with no rounding constant in the bias: a gate code
  g then stands for [g, g+1) gate steps, whose centre is where the σ/tanh tables sample
  (rounding half up would put every table read half a gate step off: a systematic bias
  that the ablation, `hwgen.model.ablation`, measured as larger than the rounding itself).
  The same holds for the cell affine (its result only feeds tanh).
- Gate pre-activations saturate to the gate format (its range covers the σ/tanh tables'
  whole domain, so saturation changes nothing the table could see); the cell state
  saturates to the cell format. Everything else is sized from worst-case bounds, so it
  cannot overflow: accumulators hold max-row-sum(|codes|)·max|activation|.
- The dense head uses int8 weights with one per-tensor scale, and a wide integer bias.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from hwgen.errors import HwgenError, UnsupportedError
from hwgen.ir.graph import Graph
from hwgen.model.fixed import ActivationTable, FixedFormat
from hwgen.model.integer_model import CellAffine, DenseHead, GateAffine, IntegerLayer, IntegerModel
from hwgen.model.gru import IntegerGRUModel
from hwgen.model.kinds import ACCEL_WEIGHTS, AccelWeights, check_kind
from hwgen.model.lstm_stack import FloatHead, LSTMStack
from hwgen.passes.match_lstm_stack import match_lstm_stack

__all__ = ["LoweringOptions", "lower_fixed_point", "lower_stack", "IntegerModel", "FixedFormat"]


@dataclass(frozen=True)
class LoweringOptions:
    act_bits: int = 8
    gate_bits: int = 12
    gate_frac: int = 8  # gate range ±8: σ/tanh are flat beyond it
    cell_bits: int = 16
    cell_frac: int = 11  # cell range ±16
    table_index_bits: int = 10  # 1024-entry tables over ±8 (1/64 steps); the hardware stores only their samples
    # Sample resolutions (top bits of the gate code; capped at table_index_bits): σ every 1/32 (slope <= 1/4),
    # tanh every 1/64 (slope 1 near 0). Not tanh every 1/128: with slope 1 that is one output step per sample,
    # so 128·tanh((k+½)/128) ≈ k+½ sits on a rounding tie and every entry rounds towards 0 (measured: +0.006
    # BPC on the binary char-LM against 1/64). Port A stores both k >= 0 halves (178 + 165 words, each padded
    # to 256): one 4 Kb EBR, as the 512-entry tables did (hw.activation).
    sigmoid_bits: int = 9
    tanh_bits: int = 10
    multiplier_bits: int = 16  # iCE40 SB_MAC16 / ECP5 MULT18 operand width
    input_frac: Optional[int] = None  # None: from calibration data (or 5 without it: range ±4)
    weights: AccelWeights = "auto"  # "auto": the model's own codes; "int8": force int8 codes (the MAC baseline)

    def __post_init__(self) -> None:
        if not 3 <= self.act_bits <= 16:
            raise HwgenError(f"act_bits must be in 3..16, got {self.act_bits}")
        if self.cell_frac < self.act_bits - 1:
            raise HwgenError(f"cell_frac {self.cell_frac} must be >= act_bits-1 = {self.act_bits - 1}")
        if self.table_index_bits >= self.gate_bits:
            raise HwgenError(f"table_index_bits {self.table_index_bits} must be below gate_bits {self.gate_bits} "
                             f"(a table entry spans at least two gate codes, so its samples are symmetric about 0)")
        for name, bits in (("sigmoid_bits", self.sigmoid_bits), ("tanh_bits", self.tanh_bits)):
            if bits < 1:
                raise HwgenError(f"{name} must be >= 1, got {bits}")
        check_kind("weights", self.weights, ACCEL_WEIGHTS)
        if self.multiplier_bits < 8:
            raise HwgenError(f"multiplier_bits must be >= 8 (int8 dense weights), got {self.multiplier_bits}")

    @classmethod
    def of_model(cls, model: Union[IntegerModel, IntegerGRUModel], weights: AccelWeights = "auto") -> "LoweringOptions":
        """The options that lower another stack to `model`'s formats and tables (its activation sample
        resolutions included), e.g. a random stand-in of another size for a fit search. A GRU has no cell
        state: the cell format stays the default (`lower_gru` does not use it)."""
        sig, tanh = model.sigmoid, model.tanh
        cell = model.cell_format if isinstance(model, IntegerModel) else FixedFormat(cls.cell_bits, cls.cell_frac)
        return cls(act_bits=model.hidden_format.bits, gate_bits=model.gate_format.bits, gate_frac=model.gate_format.frac,
                   cell_bits=cell.bits, cell_frac=cell.frac, table_index_bits=sig.index_bits,
                   sigmoid_bits=sig.sample_bits or sig.index_bits, tanh_bits=tanh.sample_bits or tanh.index_bits,
                   input_frac=model.input_format.frac, weights=weights)


def _choose_shift(max_real: float, mult_bits: int) -> int:
    """Largest shift s (0..40) with round(max_real * 2**s) inside a signed mult_bits multiplier."""
    limit = (1 << (mult_bits - 1)) - 1
    if max_real <= 0:
        return 0
    s = int(math.floor(math.log2(limit / max_real)))
    while s > 0 and round(max_real * 2.0**s) > limit:
        s -= 1
    return max(0, min(s, 40))


def _rounded(values: np.ndarray, exp: int) -> np.ndarray:
    return np.floor(np.asarray(values, np.float64) * 2.0**exp + 0.5).astype(np.int64)


def _input_frac(opts: LoweringOptions, calibration: Optional[np.ndarray]) -> int:
    if opts.input_frac is not None:
        return opts.input_frac
    if calibration is None:
        return opts.act_bits - 3
    peak = float(np.abs(np.asarray(calibration, np.float64)).max(initial=0.0))
    if peak == 0:
        return opts.act_bits - 1
    return int(math.floor(math.log2(((1 << (opts.act_bits - 1)) - 1) / peak)))


def lower_stack(stack: LSTMStack, calibration: Optional[np.ndarray] = None,
                options: LoweringOptions = LoweringOptions()) -> IntegerModel:
    """The integer model of an already matched LSTM stack."""
    o = options
    kind = "int8" if o.weights == "int8" else stack.weights_kind
    if kind == "float" and o.weights != "int8":
        raise UnsupportedError("float LSTM weights: the multiplier-free design needs binary/ternary codes "
                               "(or lower with weights='int8' for the MAC baseline)")
    hidden_fmt = FixedFormat(o.act_bits, o.act_bits - 1)
    gate_fmt = FixedFormat(o.gate_bits, o.gate_frac)
    cell_fmt = FixedFormat(o.cell_bits, o.cell_frac)
    input_fmt = FixedFormat(o.act_bits, _input_frac(o, calibration))
    sig, tanh = activation_tables(o, gate_fmt, hidden_fmt)
    fg, fh, fc = gate_fmt.frac, hidden_fmt.frac, cell_fmt.frac
    layers = []
    for index, fl in enumerate(stack.layers):
        w_codes, w_scale, r_codes, r_scale = fl.w_codes, fl.w_scale, fl.r_codes, fl.r_scale
        if fl.kind == "float":  # only reachable for the int8 baseline: quantize per row
            w_codes, w_scale = _int8_rows(fl.w_codes * fl.w_scale[:, None])
            r_codes, r_scale = _int8_rows(fl.r_codes * fl.r_scale[:, None])
        fin = input_fmt.frac if index == 0 else fh
        mx_real = np.asarray(w_scale, np.float64) * 2.0 ** (fg - fin)
        mh_real = np.asarray(r_scale, np.float64) * 2.0 ** (fg - fh)
        s = _choose_shift(float(max(np.abs(mx_real).max(), np.abs(mh_real).max())), o.multiplier_bits)
        bias = _rounded(fl.bias, fg + s)  # no rounding constant: the shift floors (see the module docstring)
        gate = GateAffine(_rounded(mx_real, s), _rounded(mh_real, s), bias, s)
        mc_real = np.asarray(fl.cell_scale, np.float64) * 2.0 ** (fg - fc)
        sc = _choose_shift(float(np.abs(mc_real).max()), o.multiplier_bits)
        cell = CellAffine(_rounded(mc_real, sc), _rounded(fl.cell_shift, fg + sc), sc)
        layers.append(IntegerLayer(_ro(np.asarray(w_codes, np.int8)), _ro(np.asarray(r_codes, np.int8)),
                                   FixedFormat(o.act_bits, fin), _ro_affine(gate), _ro_cell(cell)))
    head = lower_head(stack.head, hidden_fmt) if stack.head is not None else None
    notes = (f"input format {input_fmt} (frac {'given' if o.input_frac is not None else 'from calibration' if calibration is not None else 'default'})",)
    model = IntegerModel(tuple(layers), head, input_fmt, hidden_fmt, gate_fmt, cell_fmt, sig, tanh, kind, stack.name, notes,
                         "every_step" if stack.every_step else "last")
    return model


def activation_tables(o: LoweringOptions, gate_fmt: FixedFormat,
                      hidden_fmt: FixedFormat) -> tuple[ActivationTable, ActivationTable]:
    """The σ and tanh tables over the gate format, at the options' sample resolutions."""
    return (ActivationTable.build("sigmoid", gate_fmt, hidden_fmt, o.table_index_bits, min(o.sigmoid_bits, o.table_index_bits)),
            ActivationTable.build("tanh", gate_fmt, hidden_fmt, o.table_index_bits, min(o.tanh_bits, o.table_index_bits)))


def lower_head(head: FloatHead, hidden_fmt: FixedFormat) -> DenseHead:
    """The dense head with int8 weights (one per-tensor scale) and an integer bias, on the hidden format."""
    wd = head.weight
    sd = float(np.abs(wd).max()) / 127 or 1.0
    scale = sd * hidden_fmt.step
    return DenseHead(_ro(np.rint(wd / sd).astype(np.int64)), _ro(np.rint(head.bias / scale).astype(np.int64)), scale)


def lower_fixed_point(graph: Union[Graph, LSTMStack], calibration: Optional[np.ndarray] = None,
                      options: LoweringOptions = LoweringOptions(), **overrides: object) -> IntegerModel:
    """IR graph of a binary/ternary LSTM stack (+ dense head) → bit-exact IntegerModel.

    `calibration`: representative float inputs [..., X] (sets the input format);
    keyword overrides replace fields of `options` (e.g. ``weights="int8"``).
    """
    if overrides:
        from dataclasses import replace

        options = replace(options, **overrides)  # type: ignore[arg-type]
    stack = graph if isinstance(graph, LSTMStack) else match_lstm_stack(graph)
    return lower_stack(stack, calibration, options)


def _int8_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(w).max(axis=1) / 127
    scale = np.where(scale > 0, scale, 1.0)
    return np.rint(w / scale[:, None]).astype(np.int8), scale


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


def _ro_affine(g: GateAffine) -> GateAffine:
    return GateAffine(_ro(g.mult_x), _ro(g.mult_h), _ro(g.bias), g.shift)


def _ro_cell(c: CellAffine) -> CellAffine:
    return CellAffine(_ro(c.mult), _ro(c.bias), c.shift)
