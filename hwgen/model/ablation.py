"""Which quantisation makes the integer model disagree with the float model?

`mixed_run` evaluates the integer model's step (see `integer_model`) in float64 with each
rounding stage either as the integer model does it or exact (the float model's value):
with every stage quantised it reproduces `IntegerModel.run` exactly (dequantised), with
none it is `LSTMStack.run_float`. Making one stage exact at a time (`ablate`) shows how
much of the integer-vs-float gap each stage causes.

Stages:
    input     x rounded to the input format
    affine    per-row gate affine as integer multipliers and bias (rounded constants)
    table_in  σ/tanh read at the centre of their sample bin: the gate code (the affine's shift
              floors to the gate format, saturating) truncated to the table's sample bits
    table_out σ/tanh values rounded to the activation (hidden) format
    cell      cell state rounded/saturated to the cell format
    cell_aff  the BN affine on c as integer multiplier and bias (its floor is tanh's table_in)
    hidden    h rounded to the hidden format
    head      dense head with int8 weights and an integer bias
The gate format's floor is part of table_in: the tables sample the centre of the bin a
floored code stands for, so the floor alone (without that centring) is no stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from hwgen.model.fixed import ACTIVATIONS, ActivationTable, sample_centre
from hwgen.model.integer_model import IntegerModel
from hwgen.model.lstm_stack import LSTMStack

STAGES = ("input", "affine", "table_in", "table_out", "cell", "cell_aff", "hidden", "head")


def _activation(table: ActivationTable, g: np.ndarray, exact: frozenset[str]) -> np.ndarray:
    """σ/tanh of real gate values g, with the table's index truncation and output rounding unless exact."""
    gf = table.in_format
    if "table_in" not in exact:  # the gate code (floored, saturated), then its sample bin's centre
        code = gf.saturate(np.floor(g * 2.0**gf.frac)).astype(np.int64)
        g = sample_centre(code, table.index_shift + table.sample_shift, gf)
    v = ACTIVATIONS[table.name](g)
    return v if "table_out" in exact else table.out_format.dequantize(ActivationTable.quantize_values(table.name, table.out_format, v))


def mixed_run(model: IntegerModel, stack: LSTMStack, x: np.ndarray, exact: Iterable[str] = ()) -> np.ndarray:
    """Float outputs [N, K] (or [N, T, K] every step) of inputs [N, T, X] with the `exact` stages unrounded."""
    exact = frozenset(exact)
    unknown = exact - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)} (have {', '.join(STAGES)})")
    seq = np.asarray(x, np.float64)
    if "input" not in exact:
        seq = model.input_format.dequantize(model.quantize_input(seq))
    gfmt, cfmt, hfmt = model.gate_format, model.cell_format, model.hidden_format
    for fl, il in zip(stack.layers, model.layers):
        n, steps, _ = seq.shape
        h = np.zeros((n, fl.hidden))
        c = np.zeros((n, fl.hidden))
        out = np.zeros((n, steps, fl.hidden))
        for t in range(steps):
            acc_x, acc_h = seq[:, t] @ fl.w_codes.T.astype(np.float64), h @ fl.r_codes.T.astype(np.float64)
            if "affine" in exact:
                g = acc_x * fl.w_scale + acc_h * fl.r_scale + fl.bias
            else:  # in gate-format codes: (mult_x·acc_x + mult_h·acc_h + bias) / 2**shift, acc in input/hidden codes
                a = il.gate
                g = (a.mult_x * acc_x * 2.0**il.input_format.frac + a.mult_h * acc_h * 2.0**hfmt.frac
                     + a.bias) * 2.0 ** (-a.shift - gfmt.frac)
            gi, go, gf, gc = np.split(g, 4, axis=1)
            si, so, sf = (_activation(model.sigmoid, v, exact) for v in (gi, go, gf))
            c = sf * c + si * _activation(model.tanh, gc, exact)
            if "cell" not in exact:
                c = cfmt.dequantize(cfmt.saturate(np.floor(c * 2.0**cfmt.frac + 0.5)))
            if "cell_aff" in exact:
                cn = fl.cell_scale * c + fl.cell_shift
            else:
                ca = il.cell
                cn = (ca.mult * c * 2.0**cfmt.frac + ca.bias) * 2.0 ** (-ca.shift - gfmt.frac)
            h = so * _activation(model.tanh, cn, exact)
            if "hidden" not in exact:
                h = hfmt.dequantize(np.floor(h * 2.0**hfmt.frac + 0.5))
            out[:, t] = h
        seq = out
    h = seq if stack.every_step else seq[:, -1]
    if stack.head is None:
        return h
    if "head" in exact:
        return h @ stack.head.weight.T + stack.head.bias
    hd = model.head
    assert hd is not None
    return (h * 2.0**hfmt.frac @ hd.weights.T.astype(np.float64) + hd.bias) * hd.scale


@dataclass(frozen=True)
class AblationRow:
    """One variant against the float model: predictions that differ, the mean |logit error| and the mean
    (signed) logit error, which shows a systematic bias."""

    exact: tuple[str, ...]
    differ: int
    mean_abs_error: float
    mean_error: float


def ablate(model: IntegerModel, stack: LSTMStack, x: np.ndarray, float_out: np.ndarray) -> list[AblationRow]:
    """All stages quantised, then each stage exact alone, then all but each stage exact, then none quantised."""
    want = np.asarray(float_out, np.float64)
    variants: list[tuple[str, ...]] = [()] + [(s,) for s in STAGES]
    variants += [tuple(o for o in STAGES if o != s) for s in STAGES] + [STAGES]
    rows = []
    for exact in variants:
        got = mixed_run(model, stack, x, exact)
        rows.append(AblationRow(exact, int(np.sum(got.argmax(-1) != want.argmax(-1))), float(np.mean(np.abs(got - want))),
                                float(np.mean(got - want))))
    return rows
