"""Dense and normalisation ONNX ops → IR."""

from __future__ import annotations

import numpy as np
import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.registry import converter
from hwgen.ir import ops
from hwgen.ir.ops.nn import Reduce
from hwgen.ir.types import Int


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


@converter("LayerNormalization", since=17, notes="Y, Mean and InvStdDev outputs; computed in f32 (stash_type 1)")
def layer_norm(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axis, epsilon = int(attr(node, "axis", -1)), float(attr(node, "epsilon", 1e-5))
    ctx.emit(ops.LayerNormAttrs(axis=axis, epsilon=epsilon), [i for i in node.input], [node.output[0]], node.name, node)
    if any(node.output[1:]):
        _layer_norm_stats(ctx, node, axis, epsilon)


def _layer_norm_stats(ctx: ConvertContext, node: onnx.NodeProto, axis: int, epsilon: float) -> None:
    """LayerNormalization's Mean and InvStdDev outputs (over axes [axis, rank), kept as size 1) from IR ops."""
    x = node.input[0]
    rank = ctx.type(x).rank
    axes = tuple(range(axis % rank if rank else 0, rank))
    base = node.name or "layer_norm"

    def emit(attrs: ops.OpAttrs, inputs: list[str], hint: str, out: str = "") -> str:
        return ctx.emit(attrs, inputs, [out or ctx.fresh(f"{base}_{hint}")], f"{base}/{hint}", node)[0]

    mean_out = node.output[1] if len(node.output) > 1 else ""
    mean = emit(ops.ReduceMeanAttrs(axes, True), [x], "mean", mean_out)
    if len(node.output) < 3 or not node.output[2]:
        return
    centered = emit(ops.SubAttrs(), [x, mean], "centered")
    var = emit(ops.ReduceMeanAttrs(axes, True), [emit(ops.MulAttrs(), [centered, centered], "squared")], "var")
    eps = ctx.add_const(ctx.fresh(f"{base}_epsilon"), np.float32(epsilon))
    std = emit(ops.SqrtAttrs(), [emit(ops.AddAttrs(), [var, eps], "var_eps")], "std")
    emit(ops.ReciprocalAttrs(), [std], "inv_std", node.output[2])


_REDUCE_OPS: dict[str, type[Reduce]] = {
    "ReduceMean": ops.ReduceMeanAttrs, "ReduceSum": ops.ReduceSumAttrs, "ReduceMax": ops.ReduceMaxAttrs,
    "ReduceMin": ops.ReduceMinAttrs,
}


def _reduce(ctx: ConvertContext, node: onnx.NodeProto, axes: tuple[int, ...]) -> None:
    """Reduce over `axes` (all axes when empty)."""
    x = ctx.type(node.input[0])
    axes = axes or tuple(range(x.rank))
    if node.op_type == "ReduceMin" and x.dtype == Int(1, signed=False):
        sizes = [x.shape[a % x.rank] if -x.rank <= a < x.rank else 1 for a in axes]
        if 0 in sizes:
            raise ConversionError(f"{describe(node)}: ReduceMin of bool over an empty set is not supported")
    attrs = _REDUCE_OPS[node.op_type](axes, bool(attr(node, "keepdims", 1)))
    ctx.emit(attrs, [node.input[0]], list(node.output), node.name, node)


def _reduce_axes_attr(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    _reduce(ctx, node, tuple(int(a) for a in attr(node, "axes", ())))


def _reduce_axes_input(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(int(a) for a in ctx.require_const(node, 1, "axes").reshape(-1)) if input_name(node, 1) else ()
    if not axes and int(attr(node, "noop_with_empty_axes", 0)):
        ctx.emit(ops.IdentityAttrs(), [node.input[0]], list(node.output), node.name, node)
    else:
        _reduce(ctx, node, axes)


converter("ReduceMean", since=1, notes="axes attribute")(_reduce_axes_attr)
converter("ReduceMean", since=18, notes="axes as constant input; noop_with_empty_axes")(_reduce_axes_input)
converter("ReduceSum", since=1, notes="axes attribute")(_reduce_axes_attr)
converter("ReduceSum", since=13, notes="axes as constant input; noop_with_empty_axes; empty set sums to 0")(_reduce_axes_input)
for _op in ("ReduceMax", "ReduceMin"):
    converter(_op, since=1, notes="axes attribute")(_reduce_axes_attr)
    converter(_op, since=18, notes="axes as constant input; noop_with_empty_axes; bool (any/all); "
              "empty set gives the dtype's extreme (-inf/+inf)")(_reduce_axes_input)


@converter("Einsum", since=12, notes="numpy einsum: explicit/implicit output, '...', diagonals; inputs of one dtype")
def einsum(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    equation = attr(node, "equation")
    if not equation:
        raise ConversionError(f"{describe(node)}: Einsum needs its equation attribute")
    ctx.emit(ops.EinsumAttrs(str(equation).replace(" ", "")), list(node.input), list(node.output), node.name, node)
