"""Shape and data-movement ONNX ops → IR (shape arguments must fold to constants)."""

from __future__ import annotations

import numpy as np
import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.registry import converter
from hwgen.ir import ops
from hwgen.ir.types import Int


@converter("Constant", since=1)
def constant(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        value = attr(node, key)
        if value is not None:
            array = np.asarray(value, dtype=np.float32 if "float" in key else (np.int64 if "int" in key else None))
            ctx.add_const(node.output[0], array)
            return
    raise ConversionError(f"{describe(node)}: only tensor/float/int Constant values are supported")


@converter("Shape", since=1)
def shape(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    t = ctx.type(node.input[0])
    start, end = int(attr(node, "start", 0)), attr(node, "end", None)
    dims = t.shape[start:end]
    if not all(isinstance(d, int) for d in dims):
        raise ConversionError(f"{describe(node)}: Shape of {t} has symbolic dimensions; export with static shapes")
    ctx.add_const(node.output[0], np.asarray(dims, dtype=np.int64), Int(64))


@converter("Reshape", since=5)
def reshape(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    x = ctx.type(node.input[0])
    target = [int(d) for d in ctx.require_const(node, 1, "shape")]
    allowzero = int(attr(node, "allowzero", 0))
    out: list = []
    for i, d in enumerate(target):
        out.append(x.shape[i] if d == 0 and not allowzero else d)
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1]))
        if not x.is_static:
            raise ConversionError(f"{describe(node)}: Reshape with -1 of symbolic shape {x}")
        out[out.index(-1)] = x.numel // max(known, 1)
    ctx.emit(ops.ReshapeAttrs(tuple(out)), [node.input[0]], list(node.output), node.name, node)


@converter("Squeeze", since=1)
def squeeze_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(attr(node, "axes", ()))
    ctx.emit(ops.SqueezeAttrs(axes), [node.input[0]], list(node.output), node.name, node)


@converter("Squeeze", since=13)
def squeeze_v13(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(int(a) for a in ctx.require_const(node, 1, "axes")) if input_name(node, 1) else ()
    ctx.emit(ops.SqueezeAttrs(axes), [node.input[0]], list(node.output), node.name, node)


@converter("Unsqueeze", since=1)
def unsqueeze_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.UnsqueezeAttrs(tuple(attr(node, "axes", ()))), [node.input[0]], list(node.output), node.name, node)


@converter("Unsqueeze", since=13)
def unsqueeze_v13(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(int(a) for a in ctx.require_const(node, 1, "axes"))
    ctx.emit(ops.UnsqueezeAttrs(axes), [node.input[0]], list(node.output), node.name, node)


@converter("Transpose", since=1)
def transpose(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    rank = ctx.type(node.input[0]).rank
    perm = tuple(attr(node, "perm", tuple(range(rank - 1, -1, -1))))
    ctx.emit(ops.TransposeAttrs(perm), [node.input[0]], list(node.output), node.name, node)


@converter("Concat", since=4)
def concat(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.ConcatAttrs(int(attr(node, "axis"))), list(node.input), list(node.output), node.name, node)


@converter("Gather", since=1)
def gather(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.GatherAttrs(int(attr(node, "axis", 0))), list(node.input), list(node.output), node.name, node)


@converter("Expand", since=8)
def expand(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    target = tuple(int(d) for d in ctx.require_const(node, 1, "shape"))
    ctx.emit(ops.ExpandAttrs(target), [node.input[0]], list(node.output), node.name, node)
