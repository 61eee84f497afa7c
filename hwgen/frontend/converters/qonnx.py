"""QONNX `Quant` / `BipolarQuant` (Brevitas' and FINN's export format) → IR.

On a constant (a weight) the quantizer is applied at import and the result kept as
exact integer codes behind a `Dequantize`: codes typed Binary / Ternary when their
values allow it (a 2-bit narrow signed Quant is ternary), else Int(bits); the scale
is kept per tensor or per axis. On an activation it stays a `FakeQuant` /
`BipolarQuant` node, float in and out, like QONNX's own executor.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe
from hwgen.frontend.registry import QONNX_DOMAINS, converter
from hwgen.ir import ops
from hwgen.ir.types import Binary, DType, Int, weight_kind
from hwgen.reference.kernels import KERNELS

#: QONNX rounding_mode → FakeQuant rounding (the same function under two names where QONNX has aliases).
_ROUNDING = {"ROUND": "ROUND", "HALF_EVEN": "ROUND", "CEIL": "CEIL", "FLOOR": "FLOOR", "DOWN": "ROUND_TO_ZERO"}


def _scale_axis(scale: np.ndarray, shape: tuple[int, ...]) -> Optional[tuple[Optional[int], np.ndarray]]:
    """(axis, 1-D scale) for a scale broadcast over `shape` along at most one axis; None if it varies along more."""
    if scale.size == 1:
        return None, scale.reshape(())
    aligned = (1,) * (len(shape) - scale.ndim) + tuple(scale.shape)
    varying = [i for i, d in enumerate(aligned) if d != 1]
    if len(varying) != 1 or aligned[varying[0]] != shape[varying[0]]:
        return None
    return varying[0], scale.reshape(-1)


def _emit_codes(ctx: ConvertContext, node: onnx.NodeProto, codes: np.ndarray, dtype: DType, scale: np.ndarray) -> bool:
    """Emit Dequantize(codes, scale) for node's output; False when the scale's layout does not allow it."""
    layout = _scale_axis(scale, codes.shape)
    if layout is None:
        return False
    axis, flat = layout
    codes_name = ctx.add_const(ctx.fresh(f"{node.input[0]}_q"), codes.astype(dtype.numpy), dtype)
    scale_name = ctx.add_const(ctx.fresh(f"{node.input[0]}_scale"), flat.astype(np.float32))
    ctx.emit(ops.DequantizeAttrs(axis), [codes_name, scale_name], [node.output[0]], node.name, node)
    return True


@converter("Quant", since=1, domains=QONNX_DOMAINS,
           notes="constant bitwidth; on weights: exact codes (Ternary/Binary/IntN) + scale")
def quant(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    where = f"{ctx.path}: {describe(node)}"
    scale = ctx.require_const(node, 1, "scale").astype(np.float32)
    zero_point = ctx.require_const(node, 2, "zeropt").astype(np.float32)
    bit_width = ctx.require_const(node, 3, "bitwidth")
    bits = float(bit_width.reshape(-1)[0]) if bit_width.size == 1 else -1.0
    if bits != int(bits) or not 1 <= bits <= 32:
        raise ConversionError(f"{where}: bitwidth must be one integer in 1..32, got {bit_width.tolist()}")
    mode = str(attr(node, "rounding_mode", "ROUND")).upper()
    if mode not in _ROUNDING:
        raise ConversionError(f"{where}: rounding_mode {mode!r} is not supported (supported: {', '.join(_ROUNDING)})")
    signed, narrow = bool(attr(node, "signed", 1)), bool(attr(node, "narrow", 0))
    if int(bits) == 1 and signed and not narrow:
        raise ConversionError(f"{where}: 1-bit signed Quant without narrow is not defined; use BipolarQuant")
    attrs = ops.FakeQuantAttrs(int(bits), signed, narrow, _ROUNDING[mode])
    weight = ctx.const(node.input[0])
    if weight is not None and not np.any(zero_point):
        fake = KERNELS[ops.FakeQuantAttrs](attrs, [weight.astype(np.float32), scale, zero_point])[0]
        codes = np.rint(fake / scale).astype(np.int64)  # exact: fake is codes * scale
        kind = weight_kind(codes)
        dtype = kind if not isinstance(kind, Int) else Int(int(bits), signed)
        if np.array_equal(codes.astype(np.float32) * scale, fake) and _emit_codes(ctx, node, codes, dtype, scale):
            return
    ctx.emit(attrs, list(node.input[:3]), [node.output[0]], node.name, node)


@converter("BipolarQuant", since=1, domains=QONNX_DOMAINS, notes="on weights: Binary codes + scale")
def bipolar_quant(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    scale = ctx.require_const(node, 1, "scale").astype(np.float32)
    weight = ctx.const(node.input[0])
    if weight is not None:
        codes = np.where(weight >= 0, 1, -1).astype(np.int8)
        if _emit_codes(ctx, node, codes, Binary(), scale):
            return
    ctx.emit(ops.BipolarQuantAttrs(), [node.input[0], node.input[1]], [node.output[0]], node.name, node)
