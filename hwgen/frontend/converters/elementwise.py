"""Elementwise ONNX ops → IR."""

from __future__ import annotations

import onnx

from hwgen.frontend.context import ConvertContext, attr
from hwgen.frontend.registry import converter
from hwgen.ir import ops

_SIMPLE = {
    "Add": ops.AddAttrs, "Sub": ops.SubAttrs, "Mul": ops.MulAttrs, "Div": ops.DivAttrs, "Pow": ops.PowAttrs,
    "Equal": ops.EqualAttrs, "Where": ops.WhereAttrs, "Identity": ops.IdentityAttrs, "Neg": ops.NegAttrs,
    "Sqrt": ops.SqrtAttrs, "Sigmoid": ops.SigmoidAttrs, "Tanh": ops.TanhAttrs, "Relu": ops.ReluAttrs,
    "Erf": ops.ErfAttrs,
}


def _simple(attrs_type: type[ops.OpAttrs]):  # type: ignore[no-untyped-def]
    def convert(ctx: ConvertContext, node: onnx.NodeProto) -> None:
        ctx.emit(attrs_type(), list(node.input), list(node.output), node.name, node)

    return convert


for _op, _cls in _SIMPLE.items():
    converter(_op, since=1)(_simple(_cls))


@converter("Gelu", since=20)
def gelu(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.GeluAttrs(attr(node, "approximate", "none")), list(node.input), list(node.output), node.name, node)
