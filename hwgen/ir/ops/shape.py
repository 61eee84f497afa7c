"""Data-movement ops. Their shape arguments are attributes resolved by the frontend (ONNX gives
them as inputs; a Shape chain is followed symbolically before it gets here), so a Reshape target or
a Slice end may be a dim expression such as ``4*batch`` or ``sequence`` (listed in `dim_fields`,
evaluated by `OpAttrs.bind` when a run gives the inputs their sizes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hwgen.ir import dims as D
from hwgen.ir.ops.base import InTypes, OpAttrs, dims_equal, norm_axis, require
from hwgen.ir.types import DType, Dim, Int, TensorType


def _static(t: TensorType, op: str) -> tuple[int, ...]:
    require(t.is_static, f"{op} needs a static input shape, got {t}")
    return tuple(int(d) for d in t.shape)


@dataclass(frozen=True)
class ReshapeAttrs(OpAttrs):
    """Reshape to `shape` exactly (no -1 or 0 left: the frontend resolves them, symbolically if need be)."""

    op = "Reshape"
    shape: tuple[Dim, ...] = ()
    dim_fields = ("shape",)

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        require(not D.dims_differ(x.size, D.product(self.shape)),
                f"Reshape of {x} to {list(self.shape)} changes the element count")
        return [TensorType(tuple(self.shape), x.dtype)]


@dataclass(frozen=True)
class FlattenAttrs(OpAttrs):
    op = "Flatten"
    axis: int = 1

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        shape = x.shape
        axis = self.axis + len(shape) if self.axis < 0 else self.axis
        require(0 <= axis <= len(shape), f"Flatten axis {self.axis} out of range for rank {len(shape)}")
        return [TensorType((D.product(shape[:axis]), D.product(shape[axis:])), x.dtype)]


@dataclass(frozen=True)
class SqueezeAttrs(OpAttrs):
    op = "Squeeze"
    axes: tuple[int, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        axes = {norm_axis(a, x.rank) for a in self.axes}
        for a in axes:
            require(dims_equal(x.shape[a], 1), f"Squeeze axis {a} of {x} is not 1")
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
            total = D.add(total, t.shape[axis])
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


#: Ends at or beyond this mean "to the end of the axis" (exporters write INT64_MAX or INT32_MAX).
_TO_END = 1 << 30


def _symbolic_bound(b: Dim, d: Dim) -> Dim:
    if isinstance(b, int) and b < 0:
        return D.add(d, b)
    if isinstance(b, int) and b >= _TO_END:
        return d
    return b


def symbolic_slice_length(start: Dim, end: Dim, step: int, d: Dim, what: str) -> Dim:
    """The length of a positive-step slice whose bounds or axis are symbolic, assuming the bounds lie in
    the axis (ONNX would clamp them; the interpreter checks the assumption at each run's sizes)."""
    require(step > 0, f"{what}: a negative step over symbolic bounds is not supported")
    s, e = _symbolic_bound(start, d), _symbolic_bound(end, d)
    if isinstance(d, int) and isinstance(e, int):
        e = min(e, d)
    if step == 1:
        return D.sub(e, s)
    return D.ceildiv(D.sub(e, s), step)


@dataclass(frozen=True)
class SliceAttrs(OpAttrs):
    """x[starts[i]:ends[i]:steps[i]] along axes[i], with ONNX's clamping rules (see `slice_bounds`)."""

    op = "Slice"
    starts: tuple[Dim, ...] = ()
    ends: tuple[Dim, ...] = ()
    axes: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()
    dim_fields = ("starts", "ends")

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        require(len(self.starts) == len(self.ends) == len(self.axes) == len(self.steps), "Slice starts/ends/axes/steps differ in length")
        shape = list(x.shape)
        for start, end, axis, step in zip(self.starts, self.ends, self.axes, self.steps):
            a = norm_axis(axis, x.rank)
            require(step != 0, "Slice step must not be 0")
            d = shape[a]
            if isinstance(d, int) and isinstance(start, int) and isinstance(end, int):
                shape[a] = len(range(*slice_bounds(start, end, step, d).indices(d)))
            else:
                shape[a] = symbolic_slice_length(start, end, step, d, f"Slice of axis {a} of {x}")
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
    dim_fields = ("shape",)

    def infer(self, inputs: InTypes) -> list[TensorType]:
        from hwgen.ir.ops.base import broadcast_shapes

        (x,) = inputs
        assert x is not None
        return [TensorType(broadcast_shapes(x.shape, tuple(self.shape)), x.dtype)]


def static_shape(t: Optional[TensorType], op: str) -> tuple[int, ...]:
    assert t is not None
    return _static(t, op)


def _int_indices(t: Optional[TensorType], op: str) -> TensorType:
    require(t is not None and isinstance(t.dtype, Int) and t.dtype.bits > 1, f"{op} indices must be integers, got {t}")
    assert t is not None
    return t


@dataclass(frozen=True)
class GatherElementsAttrs(OpAttrs):
    """out[i][j][k] = data[index[i][j][k]][j][k] for axis 0 (likewise for any axis); negative indices count from the end."""

    op = "GatherElements"
    axis: int = 0
    min_inputs = 2
    max_inputs = 2

    def infer(self, inputs: InTypes) -> list[TensorType]:
        data, indices = inputs[0], _int_indices(inputs[1], self.op)
        assert data is not None
        require(indices.rank == data.rank, f"GatherElements indices {indices} must have the rank of data {data}")
        axis = norm_axis(self.axis, data.rank)
        for i, (n, d) in enumerate(zip(indices.shape, data.shape)):
            require(i == axis or not isinstance(n, int) or not isinstance(d, int) or n <= d,
                    f"GatherElements indices {indices} exceed data {data} on axis {i}")
        return [TensorType(indices.shape, data.dtype)]


@dataclass(frozen=True)
class GatherNDAttrs(OpAttrs):
    """ONNX GatherND: index tuples in the last dim of `indices` pick slices of `data`, after `batch_dims` shared leading dims."""

    op = "GatherND"
    batch_dims: int = 0
    min_inputs = 2
    max_inputs = 2

    def infer(self, inputs: InTypes) -> list[TensorType]:
        data, indices = inputs[0], _int_indices(inputs[1], self.op)
        assert data is not None
        b = self.batch_dims
        require(0 <= b < min(data.rank, indices.rank), f"GatherND batch_dims {b} must be below the ranks of {data} and {indices}")
        require(indices.rank >= 1 and isinstance(indices.shape[-1], int), f"GatherND indices {indices} need a static last dim")
        depth = int(indices.shape[-1])
        require(1 <= depth <= data.rank - b, f"GatherND index depth {depth} must be in 1..{data.rank - b} for {data}")
        for i in range(b):
            require(dims_equal(data.shape[i], indices.shape[i]), f"GatherND batch dim {i} of {data} and {indices} differ")
        return [TensorType(tuple(indices.shape[:-1]) + tuple(data.shape[b + depth :]), data.dtype)]


SCATTER_REDUCTIONS = ("none", "add", "mul", "max", "min")


@dataclass(frozen=True)
class ScatterNDAttrs(OpAttrs):
    """A copy of `data` with `updates` written (or combined by `reduction`) at the index tuples in `indices`."""

    op = "ScatterND"
    reduction: str = "none"
    min_inputs = 3
    max_inputs = 3

    def __post_init__(self) -> None:
        require(self.reduction in SCATTER_REDUCTIONS, f"ScatterND reduction {self.reduction!r} is not one of {', '.join(SCATTER_REDUCTIONS)}")

    def infer(self, inputs: InTypes) -> list[TensorType]:
        data, indices, updates = inputs[0], _int_indices(inputs[1], self.op), inputs[2]
        assert data is not None and updates is not None
        require(updates.dtype == data.dtype, f"ScatterND updates {updates} must have the dtype of data {data}")
        require(indices.rank >= 1 and isinstance(indices.shape[-1], int), f"ScatterND indices {indices} need a static last dim")
        depth = int(indices.shape[-1])
        require(1 <= depth <= data.rank, f"ScatterND index depth {depth} must be in 1..{data.rank} for {data}")
        expected = tuple(indices.shape[:-1]) + tuple(data.shape[depth:])
        require(updates.rank == len(expected) and all(dims_equal(a, b) for a, b in zip(updates.shape, expected)),
                f"ScatterND updates must be {list(expected)}, got {updates}")
        return [data]


@dataclass(frozen=True)
class TileAttrs(OpAttrs):
    """Repeat x `repeats[i]` times along axis i."""

    op = "Tile"
    repeats: tuple[int, ...] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        require(len(self.repeats) == x.rank, f"Tile repeats {list(self.repeats)} must have one entry per axis of {x}")
        require(all(r >= 0 for r in self.repeats), f"Tile repeats {list(self.repeats)} must not be negative")
        shape = tuple(D.mul(d, r) for d, r in zip(x.shape, self.repeats))
        return [TensorType(shape, x.dtype)]


PAD_MODES = ("constant", "reflect", "edge", "wrap")


@dataclass(frozen=True)
class PadAttrs(OpAttrs):
    """ONNX Pad: `pads` = (begin of each axis..., end of each axis...); a negative pad crops."""

    op = "Pad"
    pads: tuple[int, ...] = ()
    mode: str = "constant"
    value: float = 0.0

    def __post_init__(self) -> None:
        require(self.mode in PAD_MODES, f"Pad mode {self.mode!r} is not one of {', '.join(PAD_MODES)}")

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        require(len(self.pads) == 2 * x.rank, f"Pad pads {list(self.pads)} must have 2 entries per axis of {x}")
        shape: list[Dim] = []
        for i, d in enumerate(x.shape):
            begin, end = self.pads[i], self.pads[i + x.rank]
            if not isinstance(d, int):
                require(begin == end == 0, f"Pad of symbolic axis {i} of {x}")
                shape.append(d)
                continue
            require(d + begin + end >= 0, f"Pad pads {list(self.pads)} crop axis {i} of {x} below size 0")
            require(self.mode == "constant" or d > 0 or begin + end <= 0, f"Pad mode {self.mode} of empty axis {i} of {x}")
            shape.append(d + begin + end)
        return [TensorType(tuple(shape), x.dtype)]


@dataclass(frozen=True)
class TriluAttrs(OpAttrs):
    """Keep the upper (or lower) triangle of the last two dims from diagonal `k`; zero the rest."""

    op = "Trilu"
    upper: bool = True
    k: int = 0

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        require(x.rank >= 2, f"Trilu input must have rank >= 2, got {x}")
        return [x]


@dataclass(frozen=True)
class ShapeAttrs(OpAttrs):
    """ONNX Shape: the input's dims ``start:end`` as an int64 vector, kept as an op only where the
    frontend could not resolve its uses symbolically (its value feeds arithmetic at run time)."""

    op = "Shape"
    start: int = 0
    end: Optional[int] = None

    def infer(self, inputs: InTypes) -> list[TensorType]:
        (x,) = inputs
        assert x is not None
        return [TensorType((len(x.shape[self.start : self.end]),), Int(64))]


@dataclass(frozen=True)
class RangeAttrs(OpAttrs):
    """``start + delta * arange(size)`` with `start` and `size` dims (symbolic when the range's limit
    comes from an input's size, e.g. the position indices of a sequence)."""

    op = "Range"
    start: Dim = 0
    size: Dim = 0
    delta: int = 1
    dtype: DType = Int(64)
    min_inputs = 0
    max_inputs = 0
    dim_fields = ("start", "size")

    def infer(self, inputs: InTypes) -> list[TensorType]:
        require(isinstance(self.dtype, Int), f"Range of symbolic size must be of an integer type, not {self.dtype}")
        require(self.delta != 0, "Range delta must not be 0")
        return [TensorType((self.size,), self.dtype)]
