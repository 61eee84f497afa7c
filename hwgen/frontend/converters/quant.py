"""QCDQ (QuantizeLinear/DequantizeLinear) → IR.

An int8 initializer feeding DequantizeLinear is re-typed by its values: all in {-1,+1}
is a Binary weight, all in {-1,0,+1} Ternary; the (per-row) scale is kept exactly.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.registry import converter
from hwgen.ir import ops
from hwgen.ir.types import Int, weight_kind


def _axis(ctx: ConvertContext, node: onnx.NodeProto) -> int | None:
    if int(attr(node, "block_size", 0)):
        raise ConversionError(f"{ctx.path}: {describe(node)}: blocked quantization (block_size) is not supported "
                              "(per-tensor and per-axis are)")
    scale = ctx.require_const(node, 1, "scale")
    if scale.ndim > 1:
        raise ConversionError(f"{ctx.path}: {describe(node)}: scale must be a scalar or 1-D, got shape {list(scale.shape)}")
    return None if scale.size == 1 else int(attr(node, "axis", 1))


@converter("DequantizeLinear", since=10, notes="per-tensor/per-axis; int8 weights in {-1,0,1} → Ternary, {-1,1} → Binary")
def dequantize_linear(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    x_name = node.input[0]
    codes = ctx.const(x_name)
    zp = ctx.require_const(node, 2, "x_zero_point") if input_name(node, 2) else None
    if codes is not None and codes.dtype == np.int8 and (zp is None or not np.any(zp)):
        kind = weight_kind(codes)
        if not isinstance(kind, Int):
            read = any(x_name in n.inputs for n in ctx.nodes)  # re-type in place unless already read as int8
            x_name = ctx.add_const(ctx.fresh(x_name) if read else x_name, codes, kind)
    inputs = [x_name, node.input[1]] + ([input_name(node, 2)] if input_name(node, 2) else [])
    ctx.emit(ops.DequantizeAttrs(_axis(ctx, node)), inputs, list(node.output), node.name, node)


@converter("QuantizeLinear", since=10, notes="int8/uint8, per-tensor/per-axis; folded on constants")
def quantize_linear(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    zp = ctx.require_const(node, 2, "y_zero_point") if input_name(node, 2) else None
    # the output type: the zero point's, else output_dtype (opset 21), else uint8 (ONNX's default)
    to = zp.dtype if zp is not None else np.dtype(helper.tensor_dtype_to_np_dtype(int(attr(node, "output_dtype", TensorProto.UINT8))))
    if to not in (np.int8, np.uint8):
        raise ConversionError(f"{ctx.path}: {describe(node)}: QuantizeLinear to {to} is not supported (int8, uint8 are)")
    signed = to == np.int8
    inputs = [node.input[0], node.input[1]] + ([input_name(node, 2)] if input_name(node, 2) else [])
    ctx.emit(ops.QuantizeAttrs(_axis(ctx, node), 8, signed), inputs, list(node.output), node.name, node)


# ---- onnxruntime's quantized operators (quantize_dynamic, quantize_static in QOperator format) ----


@converter("DynamicQuantizeLinear", since=11, notes="uint8 codes, per-tensor scale and zero point computed at run time")
def dynamic_quantize_linear(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    outs = [node.output[i] if i < len(node.output) else "" for i in range(3)]
    ctx.emit(ops.DynamicQuantizeAttrs(), [node.input[0]], outs, node.name, node)


@converter("MatMulInteger", since=10, notes="int8/uint8, zero points per tensor, per row of A or per column of B; "
           "exact int32 accumulation")
def matmul_integer(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    inputs = [input_name(node, k) for k in range(4)]
    while not inputs[-1]:
        inputs.pop()
    ctx.emit(ops.MatMulIntegerAttrs(), inputs, list(node.output), node.name, node)


@converter("QLinearMatMul", since=10, notes="int8/uint8, scales/zero points per tensor, per row of a or per column of b; "
           "requantized through an f32 multiplier, rounding half to even")
def qlinear_matmul(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    names = ("a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point")
    missing = [what for k, what in enumerate(names) if not input_name(node, k)]
    if missing:
        raise ConversionError(f"{ctx.path}: {describe(node)}: QLinearMatMul needs all 8 inputs; {', '.join(missing)} missing")
    ctx.emit(ops.QLinearMatMulAttrs(), list(node.input), list(node.output), node.name, node)
