"""Dense and normalisation ONNX ops → IR."""

from __future__ import annotations

import onnx

from hwgen.frontend.context import ConvertContext, attr
from hwgen.frontend.registry import converter
from hwgen.ir import ops


@converter("MatMul", since=1)
def matmul(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.MatMulAttrs(), list(node.input), list(node.output), node.name, node)


@converter("Gemm", since=7)
def gemm(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    attrs = ops.GemmAttrs(
        alpha=float(attr(node, "alpha", 1.0)), beta=float(attr(node, "beta", 1.0)),
        trans_a=bool(attr(node, "transA", 0)), trans_b=bool(attr(node, "transB", 0)),
    )
    ctx.emit(attrs, list(node.input), list(node.output), node.name, node)


@converter("Softmax", since=13)
def softmax(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.SoftmaxAttrs(axis=int(attr(node, "axis", -1))), list(node.input), list(node.output), node.name, node)


@converter("LogSoftmax", since=13)
def log_softmax(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.LogSoftmaxAttrs(axis=int(attr(node, "axis", -1))), list(node.input), list(node.output), node.name, node)
