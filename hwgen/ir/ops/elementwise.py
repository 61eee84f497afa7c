"""Elementwise ops: binary arithmetic with numpy broadcasting, and unary activations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hwgen.ir.ops.base import InTypes, OpAttrs, broadcast_shapes, require, same_dtype
from hwgen.ir.types import DType, Float32, Int, TensorType


@dataclass(frozen=True)
class BinaryElementwise(OpAttrs):
    min_inputs = 2
    max_inputs = 2

    def infer(self, inputs: InTypes) -> list[TensorType]:
        a, b = inputs
        assert a is not None and b is not None
        dtype = same_dtype(inputs, self.op)
        return [TensorType(broadcast_shapes(a.shape, b.shape), dtype)]


@dataclass(frozen=True)
class AddAttrs(BinaryElementwise):
    op = "Add"


@dataclass(frozen=True)
class SubAttrs(BinaryElementwise):
    op = "Sub"


@dataclass(frozen=True)
class MulAttrs(BinaryElementwise):
    op = "Mul"


@dataclass(frozen=True)
class DivAttrs(BinaryElementwise):
    op = "Div"


@dataclass(frozen=True)
class PowAttrs(BinaryElementwise):
    op = "Pow"


@dataclass(frozen=True)
class ModAttrs(BinaryElementwise):
    """ONNX Mod: sign of the divisor (Python %) unless `fmod` (sign of the dividend, C fmod)."""

    op = "Mod"
    fmod: bool = False


@dataclass(frozen=True)
class EqualAttrs(BinaryElementwise):
    op = "Equal"

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (out,) = super().infer(inputs)
        return [TensorType(out.shape, Int(1, signed=False))]


@dataclass(frozen=True)
class WhereAttrs(OpAttrs):
    op = "Where"
    min_inputs = 3
    max_inputs = 3

    def infer(self, inputs: InTypes) -> list[TensorType]:
        cond, a, b = inputs
        assert cond is not None and a is not None and b is not None
        require(cond.dtype == Int(1, signed=False), f"Where condition must be bool, got {cond.dtype}")
        dtype = same_dtype([a, b], self.op)
        return [TensorType(broadcast_shapes(cond.shape, a.shape, b.shape), dtype)]


@dataclass(frozen=True)
class UnaryElementwise(OpAttrs):
    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        return [x]


@dataclass(frozen=True)
class IdentityAttrs(UnaryElementwise):
    op = "Identity"


@dataclass(frozen=True)
class NegAttrs(UnaryElementwise):
    op = "Neg"


@dataclass(frozen=True)
class SqrtAttrs(UnaryElementwise):
    op = "Sqrt"


@dataclass(frozen=True)
class SigmoidAttrs(UnaryElementwise):
    op = "Sigmoid"


@dataclass(frozen=True)
class TanhAttrs(UnaryElementwise):
    op = "Tanh"


@dataclass(frozen=True)
class ReluAttrs(UnaryElementwise):
    op = "Relu"


@dataclass(frozen=True)
class ErfAttrs(UnaryElementwise):
    op = "Erf"


@dataclass(frozen=True)
class GeluAttrs(UnaryElementwise):
    op = "Gelu"
    approximate: str = "none"

    def __post_init__(self) -> None:
        require(self.approximate in ("none", "tanh"), f"Gelu approximate must be none|tanh, not {self.approximate!r}")


@dataclass(frozen=True)
class ClipAttrs(UnaryElementwise):
    """Clamp to [min, max] (either bound may be absent); ONNX gives them as constant inputs."""

    op = "Clip"
    min: Optional[float] = None
    max: Optional[float] = None

    def __post_init__(self) -> None:
        require(self.min is None or self.max is None or self.min <= self.max,
                f"Clip min {self.min} is above max {self.max}")


@dataclass(frozen=True)
class CastAttrs(OpAttrs):
    op = "Cast"
    to: DType = Float32()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        return [TensorType(x.shape, self.to)]
