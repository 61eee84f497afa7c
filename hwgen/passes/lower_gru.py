"""Recognise a stacked GRU (+ dense head) in an IR graph and lower it to the integer GRU spec.

The shape is the LSTM stack's (`match_lstm_stack`): L forward GRU layers of one hidden
size from zero state, weights through Dequantize (or factorable float constants), then
optionally one dense layer reading the last step (Y_h) or every step (Y). The lowering is
`lower_stack`'s recipe, option for option (`LoweringOptions`; the cell format is unused):
one multiplier per row and a shared floor shift per layer, the biases rounded at that
shift, σ/tanh tables over the gate format. For linear_before_reset=1 the h rows' Rb_h is
kept apart (`reset_bias`) because the reset gate multiplies it (see `hwgen.model.gru`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Union

import numpy as np

from hwgen.errors import HwgenError, UnsupportedError
from hwgen.ir import ops
from hwgen.ir.graph import Graph
from hwgen.model.fixed import FixedFormat
from hwgen.model.gru import GRUFloatLayer, GRUStack, IntegerGRULayer, IntegerGRUModel
from hwgen.model.integer_model import GateAffine
from hwgen.passes.lower_fixed_point import (LoweringOptions, _choose_shift, _input_frac, _int8_rows, _ro, _rounded,
                                            activation_tables, lower_head)
from hwgen.passes.match_lstm_stack import (_check_against_interpreter, _const, _head, _reads_every_step, _weight,
                                          sequence_source)


def _layer(graph: Graph, node) -> GRUFloatLayer:
    a = node.attrs
    assert isinstance(a, ops.GRUAttrs)
    where = f"GRU {node.name!r}"
    if a.direction != "forward" or a.clip is not None:
        raise UnsupportedError(f"{where}: only forward GRUs without clip are supported "
                               f"(direction {a.direction}, clip {a.clip})")
    h0 = _const(graph, node.inputs[5]) if len(node.inputs) > 5 and node.inputs[5] else np.zeros(1)
    if h0 is None or np.any(h0):
        raise UnsupportedError(f"{where} has a non-zero initial_h; the integer GRU starts from zero state")
    w_codes, w_scale, w_kind = _weight(graph, node.inputs[1], f"{where} W")
    r_codes, r_scale, r_kind = _weight(graph, node.inputs[2], f"{where} R")
    hid = a.hidden
    b = _const(graph, node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else np.zeros((1, 6 * hid))
    if b is None:
        raise UnsupportedError(f"{where}: its bias B must be a constant")
    kinds = {w_kind, r_kind}
    kind = "float" if "float" in kinds else "int8" if "int8" in kinds else "ternary" if "ternary" in kinds else "binary"
    b = np.asarray(b, np.float64)[0]
    return GRUFloatLayer(w_codes, w_scale, r_codes, r_scale, b[:3 * hid], b[3 * hid:], kind,
                         bool(a.linear_before_reset))


def match_gru_stack(graph: Graph, check: bool = True) -> GRUStack:
    """The GRUStack in `graph`, or UnsupportedError saying what does not fit. With `check`, the stack is run
    beside the reference interpreter on random inputs (as `match_lstm_stack` does): a misread structure
    (ops between the layers, another output) is refused rather than lowered."""
    grus = list(graph.nodes_of(ops.GRUAttrs))
    if not grus:
        raise UnsupportedError(f"graph {graph.name!r} has no GRU node")
    if len({n.attrs.hidden for n in grus}) > 1:  # type: ignore[union-attr]
        raise UnsupportedError(f"graph {graph.name!r}: GRU layers of different hidden sizes are not supported")
    layers = tuple(_layer(graph, n) for n in grus)
    top = grus[-1]
    head, final = _head(graph, list(graph.nodes[graph.nodes.index(top) + 1:]))
    batch_first, src = sequence_source(graph, grus[0])
    if len(graph.inputs) != 1 or len(graph.outputs) != 1 or src != graph.inputs[0].name:
        raise UnsupportedError(f"graph {graph.name!r}: a GRU stack has one input, the first GRU's (seq-first, or "
                               "batch-first through one Transpose), and one output")
    stack = GRUStack(layers, head, _reads_every_step(graph, top), graph.name, batch_first, True, graph.inputs[0].name,
                     graph.outputs[0].name, final)
    return _check_against_interpreter(graph, stack, top) if check else stack  # type: ignore[arg-type,return-value]


def accelerator_reasons(graph: Graph) -> list[str]:
    """Every reason the accelerator cannot take the GRU graph `graph` (empty: it can), as
    `match_lstm_stack.accelerator_reasons` for LSTMs."""
    try:
        stack = match_gru_stack(graph)
    except HwgenError as err:
        return [str(err)]
    reasons = []
    if not all(layer.linear_before_reset for layer in stack.layers):
        reasons.append("GRU with linear_before_reset=0: the accelerator places the reset gate after R_h·h "
                       "(linear_before_reset=1, nn.GRU's form, what `hwgen train lstm --cell gru` trains); with 0 a "
                       "layer's candidate rows would wait for every unit's r ⊙ h (lower it with hwgen.passes.lower_gru "
                       "for the integer spec, or build it with --target tvm)")
    if any(layer.kind == "float" for layer in stack.layers):
        reasons.append("GRU with float weights; the multiplier-free accelerator needs binary/ternary codes with per-row "
                       "scales (train with `hwgen train lstm --cell gru`, or quantize)")
    return reasons


def lower_gru_stack(stack: GRUStack, calibration: Optional[np.ndarray] = None,
                    options: LoweringOptions = LoweringOptions()) -> IntegerGRUModel:
    """The integer GRU model of a matched stack (binary/ternary codes; float weights only as int8)."""
    o = options
    kinds = {layer.kind for layer in stack.layers}
    if "float" in kinds and o.weights != "int8":
        raise UnsupportedError("float GRU weights: the multiplier-free design needs binary/ternary codes "
                               "(or lower with weights='int8' for the MAC baseline)")
    if len({layer.linear_before_reset for layer in stack.layers}) > 1:
        raise UnsupportedError("GRU layers mix linear_before_reset 0 and 1; one placement per model is supported")
    kind = "int8" if o.weights == "int8" or "int8" in kinds else "ternary" if "ternary" in kinds else "binary"
    hidden_fmt, gate_fmt = FixedFormat(o.act_bits, o.act_bits - 1), FixedFormat(o.gate_bits, o.gate_frac)
    input_fmt = FixedFormat(o.act_bits, _input_frac(o, calibration))
    sig, tanh = activation_tables(o, gate_fmt, hidden_fmt)
    lbr = stack.layers[0].linear_before_reset
    layers = []
    for index, fl in enumerate(stack.layers):
        w_codes, w_scale, r_codes, r_scale = fl.w_codes, fl.w_scale, fl.r_codes, fl.r_scale
        if kind == "int8" and fl.kind != "int8":
            w_codes, w_scale = _int8_rows(fl.w_codes * fl.w_scale[:, None])
            r_codes, r_scale = _int8_rows(fl.r_codes * fl.r_scale[:, None])
        fin = input_fmt.frac if index == 0 else hidden_fmt.frac
        mx_real = np.asarray(w_scale, np.float64) * 2.0 ** (gate_fmt.frac - fin)
        mh_real = np.asarray(r_scale, np.float64) * 2.0 ** (gate_fmt.frac - hidden_fmt.frac)
        s = _choose_shift(float(max(np.abs(mx_real).max(), np.abs(mh_real).max())), o.multiplier_bits)
        hid = fl.hidden
        bias = fl.wb + fl.rb
        reset_bias = np.zeros(hid, np.int64)
        if lbr:
            bias = np.concatenate([bias[:2 * hid], fl.wb[2 * hid:]])
            reset_bias = _rounded(fl.rb[2 * hid:], gate_fmt.frac + s)
        gate = GateAffine(_ro(_rounded(mx_real, s)), _ro(_rounded(mh_real, s)),
                          _ro(_rounded(bias, gate_fmt.frac + s)), s)
        layers.append(IntegerGRULayer(_ro(np.asarray(w_codes, np.int8)), _ro(np.asarray(r_codes, np.int8)),
                                      FixedFormat(o.act_bits, fin), gate, _ro(reset_bias)))
    head = lower_head(stack.head, hidden_fmt) if stack.head is not None else None
    return IntegerGRUModel(tuple(layers), head, input_fmt, hidden_fmt, gate_fmt, sig, tanh, kind, lbr,
                           "every_step" if stack.every_step else "last", stack.name)


def lower_gru(graph: Union[Graph, GRUStack], calibration: Optional[np.ndarray] = None,
              options: LoweringOptions = LoweringOptions(), **overrides: object) -> IntegerGRUModel:
    """IR graph (or matched stack) of a binary/ternary GRU stack (+ dense head) -> bit-exact IntegerGRUModel."""
    if overrides:
        try:
            options = replace(options, **overrides)  # type: ignore[arg-type]
        except TypeError as err:
            raise HwgenError(f"unknown lowering option: {err}") from None
    stack = graph if isinstance(graph, GRUStack) else match_gru_stack(graph)
    return lower_gru_stack(stack, calibration, options)
