"""Dense and normalisation ONNX ops → IR."""

from __future__ import annotations

import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.registry import converter
from hwgen.ir import ops


@converter("MatMul", since=1, notes="numpy matmul, batched")
def matmul(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.MatMulAttrs(), list(node.input), list(node.output), node.name, node)


@converter("Gemm", since=7, notes="alpha, beta, transA, transB")
def gemm(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    attrs = ops.GemmAttrs(
        alpha=float(attr(node, "alpha", 1.0)), beta=float(attr(node, "beta", 1.0)),
        trans_a=bool(attr(node, "transA", 0)), trans_b=bool(attr(node, "transB", 0)),
    )
    ctx.emit(attrs, list(node.input), list(node.output), node.name, node)


@converter("Softmax", since=13, notes="any axis")
def softmax(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.SoftmaxAttrs(axis=int(attr(node, "axis", -1))), list(node.input), list(node.output), node.name, node)


@converter("LogSoftmax", since=13, notes="any axis")
def log_softmax(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.LogSoftmaxAttrs(axis=int(attr(node, "axis", -1))), list(node.input), list(node.output), node.name, node)


@converter("Softmax", since=1, notes="x viewed as 2-D at axis")
def softmax_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    _coerced_softmax(ctx, node, ops.SoftmaxAttrs)


@converter("LogSoftmax", since=1, notes="x viewed as 2-D at axis")
def log_softmax_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    _coerced_softmax(ctx, node, ops.LogSoftmaxAttrs)


def _coerced_softmax(ctx: ConvertContext, node: onnx.NodeProto, attrs_type: type[ops.SoftmaxAttrs]) -> None:
    """Opset 1-12 Softmax normalises x viewed as 2-D [prod(:axis), prod(axis:)]: Reshape around it."""
    x = ctx.type(node.input[0])
    axis = int(attr(node, "axis", 1))
    axis = axis + x.rank if axis < 0 else axis
    if axis == x.rank - 1:
        ctx.emit(attrs_type(axis=-1), [node.input[0]], list(node.output), node.name, node)
        return
    if not x.is_static:
        raise ConversionError(f"{describe(node)}: {node.op_type} over axes {axis}.. of symbolic {x} (opset < 13)")
    flat = ctx.emit(ops.FlattenAttrs(axis), [node.input[0]], [ctx.fresh(f"{node.output[0]}_2d")], f"{node.name}_flatten", node)
    soft = ctx.emit(attrs_type(axis=-1), flat, [ctx.fresh(f"{node.output[0]}_2d_out")], node.name, node)
    ctx.emit(ops.ReshapeAttrs(x.shape), soft, [node.output[0]], f"{node.name}_unflatten", node)


@converter("LayerNormalization", since=17, notes="Y output only; stash_type 1")
def layer_norm(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    if any(node.output[1:]):
        raise ConversionError(f"{describe(node)}: LayerNormalization Mean/InvStdDev outputs are not supported (only Y)")
    attrs = ops.LayerNormAttrs(axis=int(attr(node, "axis", -1)), epsilon=float(attr(node, "epsilon", 1e-5)))
    ctx.emit(attrs, [i for i in node.input], [node.output[0]], node.name, node)


def _reduce_mean(ctx: ConvertContext, node: onnx.NodeProto, axes: tuple[int, ...]) -> None:
    """Mean over `axes` (all axes when empty)."""
    axes = axes or tuple(range(ctx.type(node.input[0]).rank))
    ctx.emit(ops.ReduceMeanAttrs(axes, bool(attr(node, "keepdims", 1))), [node.input[0]], list(node.output), node.name, node)


@converter("ReduceMean", since=1, notes="axes attribute")
def reduce_mean_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    _reduce_mean(ctx, node, tuple(int(a) for a in attr(node, "axes", ())))


@converter("ReduceMean", since=18, notes="axes as constant input; noop_with_empty_axes")
def reduce_mean_v18(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(int(a) for a in ctx.require_const(node, 1, "axes").reshape(-1)) if input_name(node, 1) else ()
    if not axes and int(attr(node, "noop_with_empty_axes", 0)):
        ctx.emit(ops.IdentityAttrs(), [node.input[0]], list(node.output), node.name, node)
    else:
        _reduce_mean(ctx, node, axes)
