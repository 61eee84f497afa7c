"""Dense algebra and normalisation ops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from hwgen.ir.ops.base import (
    InTypes, OpAttrs, broadcast_shapes, dims_equal, float_input, norm_axis, present, require, same_dtype,
)
from hwgen.ir.types import Dim, Int, TensorType


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
class Reduce(OpAttrs):
    """Reduce over `axes` (all axes when empty), keeping them as size 1 when `keepdims`."""

    axes: tuple[int, ...] = ()
    keepdims: bool = True

    def out_type(self, x: TensorType) -> TensorType:
        axes = {norm_axis(a, x.rank) for a in self.axes} if self.axes else set(range(x.rank))
        shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape) if self.keepdims or i not in axes)
        return TensorType(shape, x.dtype)

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = inputs[0]
        assert x is not None
        return [self.out_type(x)]


@dataclass(frozen=True)
class ReduceMeanAttrs(Reduce):
    op = "ReduceMean"

    def infer(self, inputs: InTypes) -> list[TensorType]:
        return [self.out_type(float_input(inputs[0], self.op))]


@dataclass(frozen=True)
class ReduceSumAttrs(Reduce):
    """Sum (0 over an empty set); integers wrap like ONNX's."""

    op = "ReduceSum"

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = inputs[0]
        assert x is not None
        require(x.dtype != Int(1, signed=False), f"ReduceSum of bool {x} is not defined")
        return [self.out_type(x)]


@dataclass(frozen=True)
class ReduceMaxAttrs(Reduce):
    """Maximum (the dtype's lowest value, -inf for f32, over an empty set); bool: any."""

    op = "ReduceMax"


@dataclass(frozen=True)
class ReduceMinAttrs(Reduce):
    """Minimum (the dtype's highest value, +inf for f32, over an empty set); bool: all."""

    op = "ReduceMin"


def parse_einsum(equation: str, ranks: Sequence[int]) -> tuple[list[str], str]:
    """(input terms, output term) of an einsum equation with '...' written as '.' (one letter per dim).

    Implicit output (no '->'): the letters used once, in alphabetical order, after the ellipsis.
    """
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    require(len(terms) == len(ranks), f"Einsum {equation!r} has {len(terms)} operand(s), got {len(ranks)} input(s)")
    for term in terms + [rhs]:
        body = term.replace("...", "")
        require(all(c.isalpha() for c in body) and term.count("...") <= 1, f"Einsum term {term!r} of {equation!r} is malformed")
    terms = [t.replace("...", ".") for t in terms]
    for term, rank in zip(terms, ranks):
        letters = len(term) - ("." in term)
        require(letters == rank if "." not in term else letters <= rank,
                f"Einsum term {term!r} of {equation!r} does not match an input of rank {rank}")
    if arrow:
        out = rhs.replace("...", ".")
        used = set("".join(terms))
        require(all(c in used for c in out) and len(set(out)) == len(out),
                f"Einsum output {rhs!r} of {equation!r} repeats a letter or names one no input has")
    else:
        counts = {c: "".join(terms).count(c) for c in set("".join(terms)) if c != "."}
        out = ("." if any("." in t for t in terms) else "") + "".join(sorted(c for c, n in counts.items() if n == 1))
    return terms, out


@dataclass(frozen=True)
class EinsumAttrs(OpAttrs):
    """numpy.einsum over one or more inputs of one dtype (ellipsis broadcast, repeated letters take diagonals)."""

    op = "Einsum"
    equation: str = ""
    min_inputs = 1
    max_inputs = 1 << 8

    def infer(self, inputs: InTypes) -> list[TensorType]:
        ts = [t for t in inputs if t is not None]
        dtype = same_dtype(ts, self.op)
        terms, out = parse_einsum(self.equation, [t.rank for t in ts])
        sizes: dict[str, Dim] = {}
        ellipses: list[tuple[Dim, ...]] = []
        for term, t in zip(terms, ts):
            dims = list(t.shape)
            if "." in term:
                k = term.index(".")
                n = t.rank - (len(term) - 1)
                ellipses.append(tuple(dims[k : k + n]))
                dims = dims[:k] + dims[k + n :]
                term = term.replace(".", "")
            for c, d in zip(term, dims):
                if c in sizes and sizes[c] != 1 and d != 1:
                    require(dims_equal(sizes[c], d), f"Einsum {self.equation!r}: letter {c!r} is both {sizes[c]} and {d}")
                if c not in sizes or sizes[c] == 1:
                    sizes[c] = d
        lead = broadcast_shapes(*ellipses) if ellipses else ()
        shape: list[Dim] = []
        for c in out:
            shape.extend(lead if c == "." else (sizes[c],))
        return [TensorType(tuple(shape), dtype)]
