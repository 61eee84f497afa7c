"""Relax forms of onnxruntime's dynamic quantization ops (DynamicQuantizeLinear, MatMulInteger), so a
`quantize_dynamic` model compiles for TVM with the reference interpreter's exact arithmetic.

Plain Relax operators, correctness first: the per-tensor scale and zero point are computed from the
activation at run time exactly as `hwgen.reference` does (f32, rounding half to even), and the
integer matmul accumulates in int32.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from tvm import relax


def _f32(value: float) -> relax.Expr:
    return relax.const(np.float32(value), "float32")


def dynamic_quantize(x: relax.Expr) -> list[relax.Expr]:
    """(codes u8, scale f32 scalar, zero point u8 scalar) of x, as ONNX DynamicQuantizeLinear."""
    lo = relax.op.minimum(relax.op.min(x), _f32(0))
    hi = relax.op.maximum(relax.op.max(x), _f32(0))
    span = relax.op.subtract(hi, lo)
    scale = relax.op.where(relax.op.equal(span, _f32(0)), _f32(1), relax.op.divide(span, _f32(255)))
    zero_point = relax.op.round(relax.op.clip(relax.op.subtract(_f32(0), relax.op.divide(lo, scale)), 0, 255))
    codes = relax.op.clip(relax.op.add(relax.op.round(relax.op.divide(x, scale)), zero_point), 0, 255)
    return [relax.op.astype(codes, "uint8"), scale, relax.op.astype(zero_point, "uint8")]


def _centered(codes: relax.Expr, zero_point: Optional[relax.Expr], zp_size: int, per_row: bool) -> relax.Expr:
    """codes - zero_point in int32; a zero point with one entry per row of A is a column vector."""
    c = relax.op.astype(codes, "int32")
    if zero_point is None:
        return c
    zp = relax.op.astype(zero_point, "int32")
    if zp_size > 1 and per_row:
        zp = relax.op.reshape(zp, (zp_size, 1))
    elif zp_size == 1:
        zp = relax.op.reshape(zp, ())
    return relax.op.subtract(c, zp)


def matmul_integer(a: relax.Expr, b: relax.Expr, a_zp: Optional[relax.Expr], a_zp_size: int,
                   b_zp: Optional[relax.Expr], b_zp_size: int) -> relax.Expr:
    """(A - a_zero_point) @ (B - b_zero_point) in int32, as ONNX MatMulInteger."""
    return relax.op.matmul(_centered(a, a_zp, a_zp_size, True), _centered(b, b_zp, b_zp_size, False), out_dtype="int32")
