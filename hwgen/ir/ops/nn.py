"""Dense algebra and normalisation ops."""

from __future__ import annotations

from dataclasses import dataclass

from hwgen.ir.ops.base import InTypes, OpAttrs, broadcast_shapes, dims_equal, float_input, norm_axis, present, require
from hwgen.ir.types import TensorType


@dataclass(frozen=True)
class MatMulAttrs(OpAttrs):
    """numpy.matmul semantics (batched, broadcasting leading dims)."""

    op = "MatMul"
    min_inputs = 2
    max_inputs = 2

    def infer(self, inputs: InTypes) -> list[TensorType]:
        a, b = inputs
        assert a is not None and b is not None
        require(a.rank >= 1 and b.rank >= 1, "MatMul inputs must have rank >= 1")
        a_shape = (1,) + a.shape if a.rank == 1 else a.shape
        b_shape = b.shape + (1,) if b.rank == 1 else b.shape
        require(dims_equal(a_shape[-1], b_shape[-2]), f"MatMul of {a} and {b}: inner dimensions differ")
        lead = broadcast_shapes(a_shape[:-2], b_shape[:-2])
        shape = lead + (a_shape[-2], b_shape[-1])
        if a.rank == 1:
            shape = shape[:-2] + shape[-1:]
        if b.rank == 1:
            shape = shape[:-1]
        return [TensorType(shape, a.dtype)]


@dataclass(frozen=True)
class GemmAttrs(OpAttrs):
    """Y = alpha * op(A) @ op(B) + beta * C, op = transpose when trans_* is set."""

    op = "Gemm"
    alpha: float = 1.0
    beta: float = 1.0
    trans_a: bool = False
    trans_b: bool = False
    min_inputs = 2
    max_inputs = 3

    def infer(self, inputs: InTypes) -> list[TensorType]:
        a = float_input(inputs[0], self.op, "A")
        b = float_input(inputs[1], self.op, "B")
        require(a.rank == 2 and b.rank == 2, f"Gemm needs 2-D A and B, got {a} and {b}")
        m, k = a.shape[::-1] if self.trans_a else a.shape
        k2, n = b.shape[::-1] if self.trans_b else b.shape
        require(dims_equal(k, k2), f"Gemm of {a} and {b}: inner dimensions differ")
        c = present(inputs, 2)
        if c is not None:
            broadcast_shapes(c.shape, (m, n))
        return [TensorType((m, n), a.dtype)]


@dataclass(frozen=True)
class SoftmaxAttrs(OpAttrs):
    op = "Softmax"
    axis: int = -1

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = float_input(inputs[0], self.op)
        norm_axis(self.axis, x.rank)
        return [x]


@dataclass(frozen=True)
class LogSoftmaxAttrs(SoftmaxAttrs):
    op = "LogSoftmax"


@dataclass(frozen=True)
class LayerNormAttrs(OpAttrs):
    """Normalise over dims [axis, rank) then scale (and bias); inputs X, scale, bias?."""

    op = "LayerNorm"
    axis: int = -1
    epsilon: float = 1e-5
    min_inputs = 2
    max_inputs = 3

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = float_input(inputs[0], self.op, "X")
        a = norm_axis(self.axis, x.rank)
        for i, what in ((1, "scale"), (2, "bias")):
            t = present(inputs, i)
            if t is not None:
                broadcast_shapes(t.shape, x.shape[a:])
        return [x]


@dataclass(frozen=True)
class ReduceMeanAttrs(OpAttrs):
    op = "ReduceMean"
    axes: tuple[int, ...] = ()
    keepdims: bool = True

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = float_input(inputs[0], self.op)
        axes = {norm_axis(a, x.rank) for a in self.axes} if self.axes else set(range(x.rank))
        shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape) if self.keepdims or i not in axes)
        return [TensorType(shape, x.dtype)]
