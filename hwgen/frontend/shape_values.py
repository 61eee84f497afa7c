"""Symbolic shape tensors: what an int64 shape computation holds, element by element, at import time.

A model exported with a dynamic batch or sequence computes its reshape targets at run time:
``Shape(x) → Gather(0) → Unsqueeze → Concat([·, -1, 4, 16]) → Reshape``. The frontend follows such
chains with the sizes they stand for: `ConvertContext.dims` maps a value to a numpy object array of
`Dim`s (``batch``, ``sequence``, ``4*sequence``, or None where an element is not known), and
`propagate` computes that array for the output of each op on it. A consumer that needs a shape
(Reshape, Expand, ConstantOfShape, Range, Slice) then reads dims, not a tensor, and gets an IR op
with symbolic attributes; the Shape/Gather/Concat nodes are still emitted (something may read the
value as data) and dropped as dead code when nothing does.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from hwgen.ir import dims as D
from hwgen.ir import ops
from hwgen.ir.ops import OpAttrs
from hwgen.ir.ops.shape import slice_bounds
from hwgen.ir.types import Int, TensorType

#: Integer constants up to this size are read as shape values (larger ones are data, not shapes).
MAX_ELEMENTS = 1024
Known = Optional[np.ndarray]  # object array of Dim | None


def from_constant(array: np.ndarray) -> Known:
    """A small integer constant as a shape value (None for floats and large tensors)."""
    if array.size > MAX_ELEMENTS or not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        return None
    out = np.empty(array.shape, dtype=object)
    out.reshape(-1)[:] = [int(v) for v in array.reshape(-1)]
    return out


def of_dims(dims: Sequence[D.Dim]) -> np.ndarray:
    out = np.empty(len(dims), dtype=object)
    out[:] = list(dims)
    return out


def all_static(value: np.ndarray) -> bool:
    return all(isinstance(v, int) for v in value.reshape(-1))


def _elementwise(fn: Callable[..., Optional[D.Dim]]) -> Callable[..., np.ndarray]:
    def safe(*args: Optional[D.Dim]) -> Optional[D.Dim]:
        if any(a is None for a in args):
            return None
        try:
            return fn(*args)
        except D.DimError:
            return None

    return np.frompyfunc(safe, 2, 1)


def _equal(a: D.Dim, b: D.Dim) -> Optional[int]:
    if D.simplify(a) == D.simplify(b):
        return 1
    return 0 if D.dims_differ(a, b) else None


def _pick(larger: bool) -> Callable[[D.Dim, D.Dim], Optional[D.Dim]]:
    def pick(a: D.Dim, b: D.Dim) -> Optional[D.Dim]:
        if D.nonnegative(D.sub(a, b)):
            return a if larger else b
        if D.nonnegative(D.sub(b, a)):
            return b if larger else a
        return None

    return pick


def _div(a: D.Dim, b: D.Dim) -> D.Dim:
    if isinstance(a, int) and isinstance(b, int):
        return int(np.trunc(a / b))  # ONNX integer Div truncates
    return D.floordiv(a, b)  # sizes are non-negative: floor is trunc


_ARITHMETIC = {
    ops.AddAttrs: _elementwise(D.add), ops.SubAttrs: _elementwise(D.sub), ops.MulAttrs: _elementwise(D.mul),
    ops.DivAttrs: _elementwise(_div), ops.EqualAttrs: _elementwise(_equal),
    ops.MaxAttrs: _elementwise(_pick(True)), ops.MinAttrs: _elementwise(_pick(False)),
}
_RESHAPES = (ops.IdentityAttrs, ops.UnsqueezeAttrs, ops.SqueezeAttrs, ops.ReshapeAttrs, ops.FlattenAttrs)


def _cast(attrs: ops.CastAttrs, value: np.ndarray) -> Known:
    if not isinstance(attrs.to, Int):
        return None
    if attrs.to.bits > 1:
        return value
    return _elementwise(_truth)(value, 0)


def _truth(a: D.Dim, _: object) -> Optional[int]:
    zero = _equal(a, 0)
    return None if zero is None else 1 - zero


def _where(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cond, a, b = np.broadcast_arrays(cond, a, b)
    out = np.empty(cond.shape, dtype=object)
    for i in np.ndindex(cond.shape):
        c = cond[i]
        out[i] = None if c is None and a[i] != b[i] else (a[i] if c is None or c else b[i])
    return out


def _gather(attrs: ops.GatherAttrs, data: np.ndarray, indices: np.ndarray) -> Known:
    if not all_static(indices):
        return None
    axis = attrs.axis % data.ndim
    idx = np.asarray(indices.astype(np.int64))
    return np.take(data, np.where(idx < 0, idx + data.shape[axis], idx), axis=axis)


def _slice(attrs: ops.SliceAttrs, data: np.ndarray) -> Known:
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(attrs.starts, attrs.ends, attrs.axes, attrs.steps):
        if not isinstance(start, int) or not isinstance(end, int):
            return None
        index[axis] = slice_bounds(start, end, step, data.shape[axis])
    return data[tuple(index)]


def propagate(attrs: OpAttrs, values: Sequence[Known], out: TensorType) -> Known:
    """The shape value of the op's first output from its inputs' (None: not followed)."""
    if not out.is_static or any(v is None for v in values):
        return None
    shape = tuple(int(d) for d in out.shape)
    result: Known = None
    if type(attrs) in _ARITHMETIC:
        result = values[0]
        for other in values[1:]:
            result = _ARITHMETIC[type(attrs)](result, other)
    elif isinstance(attrs, _RESHAPES):
        result = values[0].reshape(shape)  # type: ignore[union-attr]
    elif isinstance(attrs, ops.CastAttrs):
        result = _cast(attrs, values[0])  # type: ignore[arg-type]
    elif isinstance(attrs, ops.GatherAttrs):
        result = _gather(attrs, *values)  # type: ignore[arg-type]
    elif isinstance(attrs, ops.SliceAttrs):
        result = _slice(attrs, values[0])  # type: ignore[arg-type]
    elif isinstance(attrs, ops.ConcatAttrs):
        result = np.concatenate([np.asarray(v).reshape(np.shape(v)) for v in values], axis=attrs.axis)
    elif isinstance(attrs, ops.WhereAttrs):
        result = _where(*values)  # type: ignore[arg-type]
    elif isinstance(attrs, ops.ExpandAttrs):
        result = np.broadcast_to(values[0], shape).copy()  # type: ignore[arg-type]
    if result is None:
        return None
    result = np.asarray(result, dtype=object)
    return result.reshape(shape) if result.size == int(np.prod(shape)) else None
