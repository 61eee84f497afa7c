"""Quantization ops.

`Dequantize` is ONNX DequantizeLinear: y = (x - zero_point) * scale, per tensor or per
axis; its `x` is typically a constant of dtype Ternary/Binary/Int(8) — the exact integer
weights — and `scale`/`zero_point` are constants. `Quantize` is QuantizeLinear
(round half to even, saturate). `FakeQuant` and `BipolarQuant` are QONNX's `Quant` and
`BipolarQuant` (quantize-dequantize in one op, float in and out).
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
