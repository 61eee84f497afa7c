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


BOOL = Int(1, signed=False)


@dataclass(frozen=True)
class Comparison(BinaryElementwise):
    """Compare two tensors of one dtype (numpy broadcasting); bool out."""

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (out,) = super().infer(inputs)
        return [TensorType(out.shape, BOOL)]


@dataclass(frozen=True)
class EqualAttrs(Comparison):
    op = "Equal"


@dataclass(frozen=True)
class GreaterAttrs(Comparison):
    op = "Greater"


@dataclass(frozen=True)
class GreaterOrEqualAttrs(Comparison):
    op = "GreaterOrEqual"


@dataclass(frozen=True)
class LessAttrs(Comparison):
    op = "Less"


@dataclass(frozen=True)
class LessOrEqualAttrs(Comparison):
    op = "LessOrEqual"


@dataclass(frozen=True)
class Logical(BinaryElementwise):
    """Boolean And/Or/Xor of two bool tensors (numpy broadcasting)."""

    def infer(self, inputs: InTypes) -> list[TensorType]:
        for t in inputs:
            require(t is not None and t.dtype == BOOL, f"{self.op} inputs must be bool, got {t}")
        return super().infer(inputs)


@dataclass(frozen=True)
class AndAttrs(Logical):
    op = "And"


@dataclass(frozen=True)
class OrAttrs(Logical):
    op = "Or"


@dataclass(frozen=True)
class XorAttrs(Logical):
    op = "Xor"


@dataclass(frozen=True)
class Variadic(OpAttrs):
    """Elementwise over one or more inputs of one dtype, numpy broadcasting (ONNX Max, Min)."""

    min_inputs = 1
    max_inputs = 1 << 16

    def infer(self, inputs: InTypes) -> list[TensorType]:
        ts = [t for t in inputs if t is not None]
        require(len(ts) == len(inputs), f"{self.op} inputs must all be present")
        dtype = same_dtype(ts, self.op)
        return [TensorType(broadcast_shapes(*(t.shape for t in ts)), dtype)]


@dataclass(frozen=True)
class MaxAttrs(Variadic):
    """Elementwise maximum; a NaN in any input gives NaN."""

    op = "Max"


@dataclass(frozen=True)
class MinAttrs(Variadic):
    """Elementwise minimum; a NaN in any input gives NaN."""

    op = "Min"


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
class FloatUnary(UnaryElementwise):
    """A float-only unary op (f32 in, f32 out)."""

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        require(x is not None and x.dtype == Float32(), f"{self.op} input must be f32, got {x}")
        return super().infer(inputs)


@dataclass(frozen=True)
class ExpAttrs(FloatUnary):
    op = "Exp"


@dataclass(frozen=True)
class LogAttrs(FloatUnary):
    """Natural log: -inf at 0, NaN below."""

    op = "Log"


@dataclass(frozen=True)
class ReciprocalAttrs(FloatUnary):
    """1 / x (±inf at ±0)."""

    op = "Reciprocal"


@dataclass(frozen=True)
class NotAttrs(UnaryElementwise):
    op = "Not"

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        require(x is not None and x.dtype == BOOL, f"Not input must be bool, got {x}")
        return super().infer(inputs)


@dataclass(frozen=True)
class FloatPredicate(OpAttrs):
    """f32 in, bool out, elementwise."""

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        require(x is not None and x.dtype == Float32(), f"{self.op} input must be f32, got {x}")
        assert x is not None
        return [TensorType(x.shape, BOOL)]


@dataclass(frozen=True)
class IsNaNAttrs(FloatPredicate):
    """True where x is NaN."""

    op = "IsNaN"


@dataclass(frozen=True)
class IsInfAttrs(FloatPredicate):
    """f32 in, bool out: true where x is +inf (if detect_positive) or -inf (if detect_negative)."""

    op = "IsInf"
    detect_positive: bool = True
    detect_negative: bool = True


@dataclass(frozen=True)
class GeluAttrs(UnaryElementwise):
    op = "Gelu"
    approximate: str = "none"

    def __post_init__(self) -> None:
        require(self.approximate in ("none", "tanh"), f"Gelu approximate must be none|tanh, not {self.approximate!r}")


@dataclass(frozen=True)
class ClipAttrs(UnaryElementwise):
    """Clamp to [min, max] (either bound may be absent); ONNX gives them as constant inputs.

    y = min(max(x, min), max): with min above max every value is max, as ONNX specifies.
    """

    op = "Clip"
    min: Optional[float] = None
    max: Optional[float] = None


@dataclass(frozen=True)
class CastAttrs(OpAttrs):
    op = "Cast"
    to: DType = Float32()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        return [TensorType(x.shape, self.to)]
