"""ONNX LSTM → IR LSTM, ONNX GRU → IR GRU.

LSTM supported: forward/reverse/bidirectional, layout 0 and 1, initial_h/initial_c, clip,
default activations (Sigmoid, Tanh, Tanh). Rejected by name: other activations,
input_forget=1, non-zero peepholes, sequence_lens shorter than the sequence.
GRU supported: the same directions, layouts and clip, linear_before_reset 0 and 1, initial_h,
default activations (Sigmoid, Tanh); rejected by name: other activations, variable sequence_lens.
Layout 1 (batch first) becomes IR Transposes around a layout-0 LSTM/GRU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.registry import converter
from hwgen.ir import ops


@dataclass(frozen=True)
class _Header:
    """The attributes every ONNX recurrent op shares, checked once."""

    where: str
    hidden: int
    direction: str
    layout: int
    clip: Optional[float]


def _header(node: onnx.NodeProto, ctx: ConvertContext, activations: tuple[str, ...]) -> _Header:
    """hidden_size, direction, layout and clip of an LSTM/GRU node; only the default `activations` are taken."""
    where = f"{ctx.path}: {describe(node)}"
    hidden = attr(node, "hidden_size")
    if hidden is None:
        raise ConversionError(f"{where}: hidden_size attribute is required")
    direction = attr(node, "direction", "forward")
    acts = attr(node, "activations")
    if acts is not None and tuple(a.lower() for a in acts) != tuple(a.lower() for a in activations) * (
            2 if direction == "bidirectional" else 1):
        raise ConversionError(f"{where}: activations {list(acts)} are not supported (only the default "
                              f"{', '.join(activations)})")
    if attr(node, "activation_alpha") is not None or attr(node, "activation_beta") is not None:
        raise ConversionError(f"{where}: activation_alpha/activation_beta are not supported")
    clip = attr(node, "clip")
    return _Header(where, int(hidden), direction, _layout(node, where), None if clip is None else float(clip))


@converter("LSTM", since=7, notes="forward/reverse/bidirectional, layout 0|1, initial h/c, clip, full-length sequences; "
           "rejected by name: other activations, input_forget, peepholes, variable sequence_lens")
def lstm(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    h = _header(node, ctx, ("Sigmoid", "Tanh", "Tanh"))
    if int(attr(node, "input_forget", 0)):
        raise ConversionError(f"{h.where}: input_forget=1 (coupled input/forget gates) is not supported")
    peep = input_name(node, 7)
    if peep:
        p = ctx.const(peep)
        if p is None or np.any(p != 0):
            raise ConversionError(f"{h.where}: peephole weights (input P) are not supported")
    attrs = ops.LSTMAttrs(hidden=h.hidden, direction=h.direction, clip=h.clip)
    _emit(ctx, node, h, attrs, initial=(5, 6), outputs=3)


@converter("GRU", since=7, notes="forward/reverse/bidirectional, layout 0|1, linear_before_reset 0|1, initial h, clip, "
           "full-length sequences; rejected by name: other activations, variable sequence_lens")
def gru(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    h = _header(node, ctx, ("Sigmoid", "Tanh"))
    attrs = ops.GRUAttrs(hidden=h.hidden, direction=h.direction,
                         linear_before_reset=bool(attr(node, "linear_before_reset", 0)), clip=h.clip)
    _emit(ctx, node, h, attrs, initial=(5,), outputs=2)


def _emit(ctx: ConvertContext, node: onnx.NodeProto, h: _Header, attrs: ops.OpAttrs, initial: tuple[int, ...],
          outputs: int) -> None:
    """Emit the layout-0 op on (X, W, R, B, initial states), with Transposes around it for layout 1."""
    x = node.input[0] if h.layout == 0 else _transposed(ctx, node, node.input[0], (1, 0, 2), "seq_first")
    _full_length_sequences(ctx, node, ctx.type(x).shape[0], h.where)
    states = [input_name(node, i) if h.layout == 0 else _transposed(ctx, node, input_name(node, i), (1, 0, 2),
                                                                     f"dir_first{i}") for i in initial]
    inputs = [x, node.input[1], node.input[2], input_name(node, 3), *states]
    while inputs and not inputs[-1]:
        inputs.pop()
    outs = [node.output[i] if i < len(node.output) else "" for i in range(outputs)]
    if h.layout == 0:
        ctx.emit(attrs, inputs, outs, node.name, node)
        return
    inner = [ctx.fresh(o or f"{node.name}_out{i}") for i, o in enumerate(outs)]
    ctx.emit(attrs, inputs, inner, node.name, node)
    perms = [(2, 0, 1, 3)] + [(1, 0, 2)] * (outputs - 1)  # Y -> [batch, seq, dirs, H]; states -> [batch, dirs, H]
    for i, (o, perm) in enumerate(zip(outs, perms)):
        if o:
            ctx.emit(ops.TransposeAttrs(perm), [inner[i]], [o], f"{node.name}_layout_out{i}", node)


def _layout(node: onnx.NodeProto, where: str) -> int:
    layout = int(attr(node, "layout", 0))
    if layout not in (0, 1):
        raise ConversionError(f"{where}: layout {layout} is not supported (0: sequence first, 1: batch first)")
    return layout


def _full_length_sequences(ctx: ConvertContext, node: onnx.NodeProto, seq: object, where: str) -> None:
    seq_lens = input_name(node, 4)
    if seq_lens:
        lens = ctx.const(seq_lens)
        if lens is None or not isinstance(seq, int) or np.any(lens != seq):
            raise ConversionError(f"{where}: sequence_lens must be a constant equal to the sequence length "
                                  "(variable-length sequences are not supported)")


def _transposed(ctx: ConvertContext, node: onnx.NodeProto, value: str, perm: tuple[int, ...], hint: str) -> str:
    """`value` transposed by `perm` into a fresh value ('' stays '')."""
    if not value:
        return ""
    return ctx.emit(ops.TransposeAttrs(perm), [value], [ctx.fresh(f"{value}_{hint}")], f"{node.name}_{hint}", node)[0]
