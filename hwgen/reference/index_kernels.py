"""numpy kernels of the index and layout ops: GatherElements, GatherND, ScatterND, Tile, Pad, Trilu, Einsum.

Registered in `hwgen.reference.kernels.KERNELS` on import (kernels.py imports this module).
An index out of range is a HwgenError naming the op, as onnxruntime refuses it too.
"""

from __future__ import annotations

import numpy as np

from hwgen.errors import HwgenError
from hwgen.ir import ops
from hwgen.ir.ops import OpAttrs
from hwgen.reference.registry import Arrays, kernel


def _wrapped(indices: np.ndarray, dims: np.ndarray | int, op: str) -> np.ndarray:
    """Indices with negative ones counted from the end; a HwgenError if any is outside [-dim, dim)."""
    idx = indices.astype(np.int64)
    if np.any(idx < -dims) or np.any(idx >= dims):
        raise HwgenError(f"{op}: index out of range (indices {idx.min()}..{idx.max()} for size(s) {dims})")
    return np.where(idx < 0, idx + dims, idx)


@kernel(ops.GatherElementsAttrs)
def _gather_elements(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.GatherElementsAttrs) and x[0] is not None and x[1] is not None
    data, indices = x[0], x[1]
    axis = attrs.axis % data.ndim
    # off the axis, indices may be shorter than data: out[i][j] = data[indices[i][j]][j] reads only the leading part
    crop = tuple(slice(None) if i == axis else slice(0, n) for i, n in enumerate(indices.shape))
    return [np.take_along_axis(data[crop], _wrapped(indices, data.shape[axis], attrs.op), axis=axis)]


@kernel(ops.GatherNDAttrs)
def _gather_nd(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.GatherNDAttrs) and x[0] is not None and x[1] is not None
    data, indices, b = x[0], x[1], attrs.batch_dims
    depth = indices.shape[-1]
    batch = int(np.prod(data.shape[:b], dtype=np.int64))
    flat_data = data.reshape((batch,) + data.shape[b:])
    flat_idx = _wrapped(indices.reshape(batch, -1, depth), np.asarray(data.shape[b : b + depth]), attrs.op)
    rows = np.arange(batch)[:, None]
    picked = flat_data[(rows, *(flat_idx[..., k] for k in range(depth)))]
    return [picked.reshape(indices.shape[:-1] + data.shape[b + depth :])]


@kernel(ops.ScatterNDAttrs)
def _scatter_nd(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ScatterNDAttrs) and x[0] is not None and x[1] is not None and x[2] is not None
    data, indices, updates = x
    depth = indices.shape[-1]
    out = data.copy()
    idx = _wrapped(indices.reshape(-1, depth), np.asarray(data.shape[:depth]), attrs.op)
    upd = updates.reshape((idx.shape[0],) + data.shape[depth:])
    combine = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}.get(attrs.reduction)
    for i in range(idx.shape[0]):  # in order: with repeated indices, "none" keeps the last write
        at = tuple(int(v) for v in idx[i])
        out[at] = upd[i] if combine is None else combine(out[at], upd[i])
    return [out]


@kernel(ops.TileAttrs)
def _tile(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.TileAttrs) and x[0] is not None
    return [np.tile(x[0], attrs.repeats)]


@kernel(ops.PadAttrs)
def _pad(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.PadAttrs) and x[0] is not None
    v = x[0]
    rank = v.ndim
    begins, ends = attrs.pads[:rank], attrs.pads[rank:]
    crop = tuple(slice(max(-b, 0), v.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(zip(begins, ends)))
    v = v[crop]  # negative pads crop first (onnxruntime's semantics)
    width = [(max(b, 0), max(e, 0)) for b, e in zip(begins, ends)]
    if attrs.mode == "constant":
        return [np.pad(v, width, mode="constant", constant_values=np.asarray(attrs.value).astype(v.dtype))]
    return [np.pad(v, width, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[attrs.mode])]


@kernel(ops.TriluAttrs)
def _trilu(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.TriluAttrs) and x[0] is not None
    return [np.triu(x[0], attrs.k) if attrs.upper else np.tril(x[0], attrs.k)]


@kernel(ops.EinsumAttrs)
def _einsum(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.EinsumAttrs)
    arrays = [a for a in x if a is not None]
    out = np.einsum(attrs.equation.replace(" ", ""), *arrays)
    return [np.asarray(out).astype(arrays[0].dtype)]
