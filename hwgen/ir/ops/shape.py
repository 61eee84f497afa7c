"""Data-movement ops. Their shape arguments are attributes resolved by the frontend
(ONNX gives them as constant inputs; a Shape chain is folded before it gets here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from hwgen.ir.ops.base import InTypes, OpAttrs, dims_equal, norm_axis, require
from hwgen.ir.types import Dim, Int, TensorType


def _static(t: TensorType, op: str) -> tuple[int, ...]:
    require(t.is_static, f"{op} needs a static input shape, got {t}")
    return tuple(int(d) for d in t.shape)


@dataclass(frozen=True)
class ReshapeAttrs(OpAttrs):
    """Reshape to `shape` exactly (no -1 or 0 left: the frontend resolves them)."""

    op = "Reshape"
    shape: tuple[Dim, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        if x.is_static and all(isinstance(d, int) for d in self.shape):
            require(
                x.numel == int(np.prod(self.shape, dtype=np.int64)),
                f"Reshape of {x} to {list(self.shape)} changes the element count",
            )
        return [TensorType(tuple(self.shape), x.dtype)]


@dataclass(frozen=True)
class FlattenAttrs(OpAttrs):
    op = "Flatten"
    axis: int = 1

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        shape = _static(x, self.op)
        axis = self.axis + len(shape) if self.axis < 0 else self.axis
        require(0 <= axis <= len(shape), f"Flatten axis {self.axis} out of range for rank {len(shape)}")
        return [TensorType((int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))), x.dtype)]


@dataclass(frozen=True)
class SqueezeAttrs(OpAttrs):
    op = "Squeeze"
    axes: tuple[int, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        axes = {norm_axis(a, x.rank) for a in self.axes}
        for a in axes:
            require(x.shape[a] == 1 or isinstance(x.shape[a], str), f"Squeeze axis {a} of {x} is not 1")
        return [TensorType(tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype)]


@dataclass(frozen=True)
class UnsqueezeAttrs(OpAttrs):
    op = "Unsqueeze"
    axes: tuple[int, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        rank = x.rank + len(self.axes)
        axes = sorted(norm_axis(a, rank) for a in self.axes)
        require(len(set(axes)) == len(axes), f"Unsqueeze axes {self.axes} repeat")
        shape = list(x.shape)
        for a in axes:
            shape.insert(a, 1)
        return [TensorType(tuple(shape), x.dtype)]


@dataclass(frozen=True)
class TransposeAttrs(OpAttrs):
    op = "Transpose"
    perm: tuple[int, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        require(sorted(self.perm) == list(range(x.rank)), f"Transpose perm {self.perm} is not a permutation of rank {x.rank}")
        return [TensorType(tuple(x.shape[p] for p in self.perm), x.dtype)]


@dataclass(frozen=True)
class ConcatAttrs(OpAttrs):
    op = "Concat"
    axis: int = 0
    min_inputs = 1
    max_inputs = 1 << 16

    def infer(self, inputs: InTypes) -> list[TensorType]:
        ts = [t for t in inputs if t is not None]
        first = ts[0]
        axis = norm_axis(self.axis, first.rank)
        total: Dim = 0
        for t in ts:
            require(t.rank == first.rank and t.dtype == first.dtype, f"Concat inputs {first} and {t} differ in rank or dtype")
            for i, (a, b) in enumerate(zip(first.shape, t.shape)):
                require(i == axis or dims_equal(a, b), f"Concat inputs {first} and {t} differ off axis {axis}")
            d = t.shape[axis]
            total = total + d if isinstance(total, int) and isinstance(d, int) else f"concat{axis}"
        shape = list(first.shape)
        shape[axis] = total
        return [TensorType(tuple(shape), first.dtype)]


def slice_bounds(start: int, end: int, step: int, dim: int) -> slice:
    """ONNX Slice bounds on an axis of size `dim` as a Python slice.

    ONNX adds `dim` to negative starts/ends, then clamps them to [0, dim] (step > 0) or
    start to [0, dim-1] and end to [-1, dim-1] (step < 0), where -1 means "past index 0".
    Python differs for a negative step with start < -dim (it gives nothing, ONNX starts at 0).
    """
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start = min(max(start, 0), dim - 1)
    end = min(max(end, -1), dim - 1)
    return slice(start, None if end < 0 else end, step)


@dataclass(frozen=True)
class SliceAttrs(OpAttrs):
    """x[starts[i]:ends[i]:steps[i]] along axes[i], with ONNX's clamping rules (see `slice_bounds`)."""

    op = "Slice"
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    axes: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        require(len(self.starts) == len(self.ends) == len(self.axes) == len(self.steps), "Slice starts/ends/axes/steps differ in length")
        shape = list(x.shape)
        for start, end, axis, step in zip(self.starts, self.ends, self.axes, self.steps):
            a = norm_axis(axis, x.rank)
            require(step != 0, "Slice step must not be 0")
            d = shape[a]
            require(isinstance(d, int), f"Slice along symbolic axis {a} of {x}")
            assert isinstance(d, int)
            shape[a] = len(range(*slice_bounds(start, end, step, d).indices(d)))
        return [TensorType(tuple(shape), x.dtype)]


@dataclass(frozen=True)
class GatherAttrs(OpAttrs):
    op = "Gather"
    axis: int = 0
    min_inputs = 2
    max_inputs = 2

    def infer(self, inputs: InTypes) -> list[TensorType]:
        data, indices = inputs
        assert data is not None and indices is not None
        require(isinstance(indices.dtype, Int), f"Gather indices must be integers, got {indices.dtype}")
        a = norm_axis(self.axis, data.rank)
        return [TensorType(data.shape[:a] + indices.shape + data.shape[a + 1 :], data.dtype)]


@dataclass(frozen=True)
class SplitAttrs(OpAttrs):
    op = "Split"
    axis: int = 0
    sizes: tuple[int, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        a = norm_axis(self.axis, x.rank)
        d = x.shape[a]
        require(not isinstance(d, int) or sum(self.sizes) == d, f"Split sizes {self.sizes} do not add up to {d} on axis {a} of {x}")
        outs = []
        for size in self.sizes:
            shape = list(x.shape)
            shape[a] = size
            outs.append(TensorType(tuple(shape), x.dtype))
        return outs


@dataclass(frozen=True)
class ExpandAttrs(OpAttrs):
    op = "Expand"
    shape: tuple[Dim, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        from hwgen.ir.ops.base import broadcast_shapes

        (x,) = inputs
        assert x is not None
        return [TensorType(broadcast_shapes(x.shape, tuple(self.shape)), x.dtype)]


def static_shape(t: Optional[TensorType], op: str) -> tuple[int, ...]:
    assert t is not None
    return _static(t, op)
