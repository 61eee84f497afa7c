"""Elementwise ONNX ops → IR."""

from __future__ import annotations

from typing import Callable

import numpy as np
import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.onnx_types import elem_name, ir_dtype, supported_elem_names
from hwgen.frontend.registry import converter
from hwgen.ir import ops
from hwgen.ir.ops.elementwise import BOOL
from hwgen.ir.types import Float32

#: ONNX op → (IR attrs class, first opset, coverage note). Same inputs, same outputs, no attributes.
_SIMPLE: dict[str, tuple[type[ops.OpAttrs], int, str]] = {
    "Add": (ops.AddAttrs, 7, "numpy broadcasting"),
    "Sub": (ops.SubAttrs, 7, "numpy broadcasting"),
    "Mul": (ops.MulAttrs, 7, "numpy broadcasting"),
    "Div": (ops.DivAttrs, 7, "integer division truncates"),
    "Equal": (ops.EqualAttrs, 7, "bool out"),
    "Where": (ops.WhereAttrs, 9, ""),
    "Identity": (ops.IdentityAttrs, 1, "tensors only"),
    "Neg": (ops.NegAttrs, 6, ""),
    "Sqrt": (ops.SqrtAttrs, 6, ""),
    "Sigmoid": (ops.SigmoidAttrs, 6, ""),
    "Tanh": (ops.TanhAttrs, 6, ""),
    "Relu": (ops.ReluAttrs, 6, ""),
    "Erf": (ops.ErfAttrs, 9, ""),
    "Exp": (ops.ExpAttrs, 6, ""),
    "Log": (ops.LogAttrs, 6, ""),
    "Reciprocal": (ops.ReciprocalAttrs, 6, ""),
    "Max": (ops.MaxAttrs, 6, "any number of inputs of one dtype, numpy broadcasting; NaN propagates"),
    "Min": (ops.MinAttrs, 6, "any number of inputs of one dtype, numpy broadcasting; NaN propagates"),
    "Greater": (ops.GreaterAttrs, 7, "bool out"),
    "Less": (ops.LessAttrs, 7, "bool out"),
    "GreaterOrEqual": (ops.GreaterOrEqualAttrs, 12, "bool out"),
    "LessOrEqual": (ops.LessOrEqualAttrs, 12, "bool out"),
    "And": (ops.AndAttrs, 7, "bool, numpy broadcasting"),
    "Or": (ops.OrAttrs, 7, "bool, numpy broadcasting"),
    "Xor": (ops.XorAttrs, 7, "bool, numpy broadcasting"),
    "Not": (ops.NotAttrs, 1, "bool"),
    "IsNaN": (ops.IsNaNAttrs, 9, "bool out"),
}


def _simple(attrs_type: type[ops.OpAttrs]) -> Callable[[ConvertContext, onnx.NodeProto], None]:
    def convert(ctx: ConvertContext, node: onnx.NodeProto) -> None:
        ctx.emit(attrs_type(), list(node.input), list(node.output), node.name, node)

    return convert


for _op, (_cls, _since, _notes) in _SIMPLE.items():
    converter(_op, since=_since, notes=_notes)(_simple(_cls))


@converter("Pow", since=7, notes="a float base with an integer exponent casts the exponent to f32; "
           "an integer base with a float exponent is rejected")
def pow_(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    base, exponent = node.input[0], node.input[1]
    bt, et = ctx.type(base), ctx.type(exponent)
    if bt.dtype != et.dtype:
        if bt.dtype != Float32():
            raise ConversionError(f"{describe(node)}: Pow of a {bt.dtype} base with a {et.dtype} exponent is not supported "
                                  "(one dtype, or a float base with an integer exponent)")
        exponent = ctx.emit(ops.CastAttrs(Float32()), [exponent], [ctx.fresh(f"{exponent}_f32")], f"{node.name}_exponent", node)[0]
    ctx.emit(ops.PowAttrs(), [base, exponent], list(node.output), node.name, node)


@converter("Gelu", since=20, notes="approximate none|tanh")
def gelu(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.GeluAttrs(attr(node, "approximate", "none")), list(node.input), list(node.output), node.name, node)


@converter("Mod", since=10, notes="fmod 0|1")
def mod(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.ModAttrs(bool(attr(node, "fmod", 0))), list(node.input), list(node.output), node.name, node)


@converter("Cast", since=6, notes="to float/int/bool types; float→int truncates")
def cast(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    to = int(attr(node, "to"))
    dtype = ir_dtype(to)
    if dtype is None:
        raise ConversionError(f"{describe(node)}: Cast to {elem_name(to)} is not supported "
                              f"(supported: {supported_elem_names()})")
    ctx.emit(ops.CastAttrs(dtype), [node.input[0]], list(node.output), node.name, node)


@converter("CastLike", since=15, notes="to the second input's dtype (float/int/bool types); float→int truncates")
def cast_like(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.CastAttrs(ctx.type(node.input[1]).dtype), [node.input[0]], list(node.output), node.name, node)


@converter("IsInf", since=10, notes="detect_positive, detect_negative; bool out")
def is_inf(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    attrs = ops.IsInfAttrs(bool(attr(node, "detect_positive", 1)), bool(attr(node, "detect_negative", 1)))
    ctx.emit(attrs, [node.input[0]], list(node.output), node.name, node)


def _bound(ctx: ConvertContext, node: onnx.NodeProto, index: int, what: str) -> float | None:
    if not input_name(node, index):
        return None
    value = ctx.require_const(node, index, what)
    if value.size != 1:
        raise ConversionError(f"{describe(node)}: Clip {what} must be a scalar, got shape {list(value.shape)}")
    return float(value.reshape(()))


@converter("Clip", since=6, notes="bounds as attributes")
def clip_v6(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    lo, hi = attr(node, "min"), attr(node, "max")
    attrs = ops.ClipAttrs(None if lo is None else float(lo), None if hi is None else float(hi))
    ctx.emit(attrs, [node.input[0]], list(node.output), node.name, node)


@converter("Clip", since=11, notes="bounds as constant inputs")
def clip_v11(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    attrs = ops.ClipAttrs(_bound(ctx, node, 1, "min"), _bound(ctx, node, 2, "max"))
    ctx.emit(attrs, [node.input[0]], [node.output[0]], node.name, node)


@converter("Dropout", since=7, notes="inference (or training with ratio 0): identity, mask all true; "
           "training with ratio > 0 is rejected")
def dropout(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    training = bool(np.any(ctx.require_const(node, 2, "training_mode"))) if input_name(node, 2) else False
    if training:
        ratio = float(ctx.require_const(node, 1, "ratio").reshape(())) if input_name(node, 1) else 0.5
        if ratio != 0:
            raise ConversionError(f"{describe(node)}: Dropout in training mode (ratio {ratio} > 0) is not supported "
                                  "(export in eval mode)")
    ctx.emit(ops.IdentityAttrs(), [node.input[0]], [node.output[0]], node.name, node)
    if len(node.output) > 1 and node.output[1]:  # the mask: all true (1.0 of x's dtype before opset 10)
        x = ctx.type(node.input[0])
        if not x.is_static:
            raise ConversionError(f"{describe(node)}: Dropout's mask output of symbolic {x} is not supported")
        dtype = x.dtype if ctx.opset < 10 else BOOL
        ctx.add_const(node.output[1], np.ones(tuple(int(d) for d in x.shape), dtype.numpy), dtype)
