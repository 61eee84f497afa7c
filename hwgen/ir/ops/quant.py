"""Quantization ops.

`Dequantize` is ONNX DequantizeLinear: y = (x - zero_point) * scale, per tensor or per
axis; its `x` is typically a constant of dtype Ternary/Binary/Int(8) — the exact integer
weights — and `scale`/`zero_point` are constants. `Quantize` is QuantizeLinear
(round half to even, saturate). `FakeQuant` and `BipolarQuant` are QONNX's `Quant` and
`BipolarQuant` (quantize-dequantize in one op, float in and out).

onnxruntime's quantized models: `DynamicQuantize` (DynamicQuantizeLinear, quantize_dynamic's
activations), `MatMulInteger` (int8/uint8 in, exact int32 out) and `QLinearMatMul` (int8/uint8 in
and out, requantized through an f32 multiplier as onnxruntime does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hwgen.ir.ops.base import InTypes, OpAttrs, norm_axis, present, require
from hwgen.ir.types import Binary, Float32, Int, TensorType, Ternary


def _check_scale(x: TensorType, scale: Optional[TensorType], axis: Optional[int], op: str) -> None:
    assert scale is not None
    if axis is None:
        require(scale.numel == 1, f"{op} per-tensor scale must have one element, got {scale}")
    else:
        a = norm_axis(axis, x.rank)
        require(scale.rank == 1 and scale.shape[0] == x.shape[a], f"{op} per-axis scale along axis {a} of {x} must be [{x.shape[a]}], got {scale}")


@dataclass(frozen=True)
class DequantizeAttrs(OpAttrs):
    op = "Dequantize"
    axis: Optional[int] = None  # None: per-tensor
    min_inputs = 2
    max_inputs = 3
    const_inputs = (1, 2)

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = inputs[0]
        assert x is not None
        require(isinstance(x.dtype, (Int, Ternary, Binary)), f"Dequantize input must be integer codes, got {x.dtype}")
        _check_scale(x, inputs[1], self.axis, self.op)
        return [TensorType(x.shape, Float32())]


@dataclass(frozen=True)
class QuantizeAttrs(OpAttrs):
    op = "Quantize"
    axis: Optional[int] = None
    bits: int = 8
    signed: bool = True
    min_inputs = 2
    max_inputs = 3
    const_inputs = (1, 2)

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = inputs[0]
        assert x is not None
        require(x.dtype == Float32(), f"Quantize input must be f32, got {x.dtype}")
        _check_scale(x, inputs[1], self.axis, self.op)
        return [TensorType(x.shape, Int(self.bits, self.signed))]


@dataclass(frozen=True)
class FakeQuantAttrs(OpAttrs):
    """QONNX Quant: y = (clamp(round(x/scale + zp)) - zp) * scale; inputs x, scale, zero_point."""

    op = "FakeQuant"
    bits: int = 8
    signed: bool = True
    narrow: bool = False
    rounding: str = "ROUND"
    min_inputs = 3
    max_inputs = 3
    const_inputs = (1, 2)

    def __post_init__(self) -> None:
        require(self.rounding in ("ROUND", "CEIL", "FLOOR", "ROUND_TO_ZERO"), f"FakeQuant rounding {self.rounding!r} unsupported")
        require(self.bits >= 2 or not self.signed or self.narrow, "FakeQuant: 1-bit signed needs narrow (use BipolarQuant)")

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = inputs[0]
        assert x is not None
        require(x.dtype == Float32(), f"FakeQuant input must be f32, got {x.dtype}")
        return [x]


@dataclass(frozen=True)
class BipolarQuantAttrs(OpAttrs):
    """QONNX BipolarQuant: y = scale * (x >= 0 ? +1 : -1); inputs x, scale."""

    op = "BipolarQuant"
    min_inputs = 2
    max_inputs = 2
    const_inputs = (1,)

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = inputs[0]
        assert x is not None and present(inputs, 1) is not None
        require(x.dtype == Float32(), f"BipolarQuant input must be f32, got {x.dtype}")
        return [x]


U8 = Int(8, signed=False)


def _int8_like(t: Optional[TensorType], op: str, what: str) -> TensorType:
    require(t is not None and t.dtype in (Int(8), U8), f"{op} {what} must be int8 or uint8, got {t}")
    assert t is not None
    return t


def _zero_point(zp: Optional[TensorType], x: TensorType, along: Optional[object], op: str, what: str) -> None:
    """A zero point of x's dtype: a scalar, or 1-D with one entry per `along` (a row count / column count)."""
    if zp is None:
        return
    require(zp.dtype == x.dtype, f"{op} {what} must have the dtype of its input ({x.dtype}), got {zp}")
    require(zp.numel == 1 or (zp.rank == 1 and zp.shape[0] == along),
            f"{op} {what} must be a scalar or [{along}], got {zp}")


@dataclass(frozen=True)
class DynamicQuantizeAttrs(OpAttrs):
    """ONNX DynamicQuantizeLinear: uint8 codes of x with a per-tensor scale and zero point computed from x.

    scale = (max(x, 0) - min(x, 0)) / 255 (1 when that range is 0, as onnxruntime does),
    zero_point = round(clip(-min(x, 0) / scale, 0, 255)), y = saturate(round(x / scale) + zero_point);
    rounding half to even. Outputs: y (u8, x's shape), y_scale (f32 scalar), y_zero_point (u8 scalar).
    """

    op = "DynamicQuantize"

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = inputs[0]
        require(x is not None and x.dtype == Float32(), f"DynamicQuantize input must be f32, got {x}")
        assert x is not None
        return [TensorType(x.shape, U8), TensorType((), Float32()), TensorType((), U8)]


def _matmul_shape(a: TensorType, b: TensorType, op: str) -> tuple:
    from hwgen.ir.ops.nn import MatMulAttrs

    try:
        return MatMulAttrs().infer([a, b])[0].shape
    except Exception as err:  # noqa: BLE001 (re-raised under this op's name)
        raise type(err)(str(err).replace("MatMul", op)) from None


@dataclass(frozen=True)
class MatMulIntegerAttrs(OpAttrs):
    """ONNX MatMulInteger: (A - a_zero_point) @ (B - b_zero_point) in int32, numpy matmul shapes.

    A and B are int8 or uint8; a_zero_point is a scalar or per row of A ([M]), b_zero_point a scalar
    or per column of B ([N]); absent zero points are 0. Exact integer arithmetic.
    """

    op = "MatMulInteger"
    min_inputs = 2
    max_inputs = 4

    def infer(self, inputs: InTypes) -> list[TensorType]:
        a = _int8_like(inputs[0], self.op, "A")
        b = _int8_like(inputs[1], self.op, "B")
        _zero_point(present(inputs, 2), a, a.shape[-2] if a.rank >= 2 else 1, self.op, "a_zero_point")
        _zero_point(present(inputs, 3), b, b.shape[-1], self.op, "b_zero_point")
        return [TensorType(_matmul_shape(a, b, self.op), Int(32))]


@dataclass(frozen=True)
class QLinearMatMulAttrs(OpAttrs):
    """ONNX QLinearMatMul: y = saturate(round(acc * (a_scale * b_scale / y_scale)) + y_zero_point),
    acc = (A - a_zero_point) @ (B - b_zero_point) in int32; the multiplier in f32, rounding half to even
    (onnxruntime's requantization). Scales/zero points per tensor, or per row of A / per column of B.

    Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
    """

    op = "QLinearMatMul"
    min_inputs = 8
    max_inputs = 8

    def infer(self, inputs: InTypes) -> list[TensorType]:
        a = _int8_like(inputs[0], self.op, "a")
        b = _int8_like(inputs[3], self.op, "b")
        rows, cols = a.shape[-2] if a.rank >= 2 else 1, b.shape[-1]
        for index, along, what in ((1, rows, "a_scale"), (4, cols, "b_scale"), (6, 1, "y_scale")):
            s = inputs[index]
            require(s is not None and s.dtype == Float32() and (s.numel == 1 or (s.rank == 1 and s.shape[0] == along)),
                    f"{self.op} {what} must be an f32 scalar{'' if along == 1 else f' or [{along}]'}, got {s}")
        _zero_point(inputs[2], a, rows, self.op, "a_zero_point")
        _zero_point(inputs[5], b, cols, self.op, "b_zero_point")
        y_zp = _int8_like(inputs[7], self.op, "y_zero_point")
        require(y_zp.numel == 1, f"{self.op} y_zero_point must be a scalar, got {y_zp}")
        return [TensorType(_matmul_shape(a, b, self.op), y_zp.dtype)]
