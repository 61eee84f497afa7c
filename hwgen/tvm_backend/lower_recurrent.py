"""The recurrent converters of `hwgen.tvm_backend.lower`: ONNX LSTM and GRU nodes as calls to the scheduled TIR
kernels (`gemm_kernels.projection` for the input projection of all steps, then `lstm_kernels.recurrence` with packed
ternary/binary or float panels, or `gru_kernels.recurrence`). Registered with `converts` on import; `lower` imports
this module, so lowering a graph always has them."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from tvm import relax

from hwgen.ir import ops
from hwgen.ir.graph import Node
from hwgen.ir.types import Dim
from hwgen.tvm_backend import gemm_kernels, gru_kernels, lstm_kernels, packing
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.relax_context import LowerContext, LSTMKernel, converts
from hwgen.tvm_backend.weights import split_rows


def _const(ctx: LowerContext, node: Node, index: int, what: str) -> Optional[np.ndarray]:
    if index >= len(node.inputs) or not node.inputs[index]:
        return None
    value = ctx.env[node.inputs[index]]
    if not isinstance(value, np.ndarray):
        raise TVMUnsupportedError(f"node {node.name!r} ({node.op}): {what} must be a constant for the TVM target "
                                  "(it is computed at run time)")
    return value


def _panels(ctx: LowerContext, weights: np.ndarray, source_kind: Optional[str]) -> packing.Panels:
    if ctx.weights == "auto" and source_kind in ("ternary", "binary"):
        split = split_rows(weights, source_kind)  # type: ignore[arg-type]
        if split is not None:
            return packing.pack_codes(split.codes, split.scale, split.kind)
    return packing.pack_float(weights)


def _state(ctx: LowerContext, node: Node, index: int, d: int, batch: object, hidden: int) -> relax.Expr:
    if index >= len(node.inputs) or not node.inputs[index]:
        if isinstance(batch, int):
            return relax.const(np.zeros((batch, hidden), np.float32))
        return ctx.emit(relax.op.zeros(relax.ShapeExpr([batch, hidden]), "float32"))
    value = ctx.env[node.inputs[index]]
    if isinstance(value, np.ndarray):
        return relax.const(np.ascontiguousarray(value[d], np.float32))
    return ctx.emit(relax.op.squeeze(relax.op.strided_slice(value, [0], [d], [d + 1]), [0]))


def _lstm_dims(ctx: LowerContext, node: Node) -> tuple[Dim, Dim, int]:
    steps, batch, size = ctx.type(node.inputs[0]).shape
    if not isinstance(size, int):
        raise TVMUnsupportedError(f"node {node.name!r} ({node.op}): the input size must be static, not {size!r}")
    return steps, batch, size


@converts(ops.LSTMAttrs)
def _lstm(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.LSTMAttrs)
    steps, batch, size = _lstm_dims(ctx, node)
    t, n = ctx.dim(steps), ctx.dim(batch)  # sizes or TIR variables
    hid, dirs = attrs.hidden, attrs.num_directions
    w, r, b = (_const(ctx, node, i, what) for i, what in ((attrs.W, "W"), (attrs.R, "R"), (attrs.B, "B")))
    cscale = _const(ctx, node, attrs.CELL_SCALE, "cell_scale")
    cshift = _const(ctx, node, attrs.CELL_SHIFT, "cell_shift")
    affine = cscale is not None and cshift is not None
    assert w is not None and r is not None
    x = ctx.emit(relax.op.reshape(ctx.expr(node.inputs[0]), (t * n, size)))
    rows = packing.padded_rows(4 * hid)
    shape = lstm_kernels.LSTMShape(steps if isinstance(steps, int) else None, batch if isinstance(batch, int) else None,
                                   size, hid)
    rows_n = steps * batch if isinstance(steps, int) and isinstance(batch, int) else None
    ys, hs, cs = [], [], []
    for d in range(dirs):
        wp = _panels(ctx, w[d], ctx.kinds.get(node.inputs[attrs.W]))
        rp = _panels(ctx, r[d], ctx.kinds.get(node.inputs[attrs.R]))
        bias = np.zeros(rows, np.float32)
        if b is not None:
            bias[: 4 * hid] = b[d, : 4 * hid] + b[d, 4 * hid :]
        proj = ctx.prim_func(("proj", rows, size, rows_n, wp.kind),
                             lambda: gemm_kernels.projection(rows, size, rows_n, wp.kind),
                             f"lstm_projection_{wp.kind}_{size}x{rows}")
        xw = ctx.emit(relax.call_tir(proj, [x, relax.const(wp.data), relax.const(wp.scale), relax.const(bias)],
                                     relax.TensorType((t * n, rows), "float32")))
        xw = ctx.emit(relax.op.reshape(xw, (t, n, rows)))
        reverse = attrs.direction == "reverse" or d == 1
        rec = ctx.prim_func(("rec", shape, rows, rp.kind, reverse, attrs.clip, affine),
                            lambda: lstm_kernels.recurrence(shape, rows, rp.kind, reverse, attrs.clip, affine),
                            f"lstm_recurrence_{rp.kind}_{'rev' if reverse else 'fwd'}_h{hid}")
        cs_d = relax.const(np.asarray(cscale[d] if affine else np.ones(hid), np.float32))  # type: ignore[index]
        sh_d = relax.const(np.asarray(cshift[d] if affine else np.zeros(hid), np.float32))  # type: ignore[index]
        out = ctx.emit(relax.call_tir(
            rec, [xw, relax.const(rp.data), relax.const(rp.scale), cs_d, sh_d,
                  _state(ctx, node, attrs.INITIAL_H, d, n, hid), _state(ctx, node, attrs.INITIAL_C, d, n, hid)],
            [relax.TensorType((t, n, hid), "float32"), relax.TensorType((n, hid), "float32"),
             relax.TensorType((n, hid), "float32")]))
        ys.append(relax.op.expand_dims(relax.TupleGetItem(out, 0), 1))
        hs.append(relax.op.expand_dims(relax.TupleGetItem(out, 1), 0))
        cs.append(relax.op.expand_dims(relax.TupleGetItem(out, 2), 0))
        ctx.kernels.append(LSTMKernel(node.name, "reverse" if reverse else "forward", steps, batch, size, hid,
                                      wp.kind, rp.kind, wp.nbytes + rp.nbytes))
    return [relax.op.concat(ys, axis=1), relax.op.concat(hs, axis=0), relax.op.concat(cs, axis=0)]


@converts(ops.GRUAttrs)
def _gru(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    """Per direction: the float input projection of all steps (`gemm_kernels.projection`), then the
    `gru_kernels.recurrence` time loop; bidirectional: both, concatenated on the directions axis."""
    attrs = node.attrs
    assert isinstance(attrs, ops.GRUAttrs)
    steps, batch, size = _lstm_dims(ctx, node)
    t, n = ctx.dim(steps), ctx.dim(batch)
    hid = attrs.hidden
    w, r, b = (_const(ctx, node, i, what) for i, what in ((attrs.W, "W"), (attrs.R, "R"), (attrs.B, "B")))
    assert w is not None and r is not None
    x = ctx.emit(relax.op.reshape(ctx.expr(node.inputs[0]), (t * n, size)))
    rows3 = packing.padded_rows(3 * hid)
    shape = gru_kernels.GRUShape(steps if isinstance(steps, int) else None, batch if isinstance(batch, int) else None, hid)
    rows_n = steps * batch if isinstance(steps, int) and isinstance(batch, int) else None
    ys, hs = [], []
    for d in range(attrs.num_directions):
        bias = np.zeros(6 * hid, np.float32) if b is None else np.asarray(b[d], np.float32)
        wp = packing.pack_float(np.asarray(w[d], np.float32))
        rd = np.asarray(r[d], np.float32)
        rzr, rh = packing.pack_float(rd[: 2 * hid]), packing.pack_float(rd[2 * hid :])
        wb = np.zeros(rows3, np.float32)
        wb[: 3 * hid] = bias[: 3 * hid]
        rbzr, rbh = np.zeros(rzr.rows_padded, np.float32), np.zeros(rh.rows_padded, np.float32)
        rbzr[: 2 * hid], rbh[:hid] = bias[3 * hid : 5 * hid], bias[5 * hid :]
        proj = ctx.prim_func(("proj", rows3, size, rows_n, "float"),
                             lambda: gemm_kernels.projection(rows3, size, rows_n, "float"),
                             f"lstm_projection_float_{size}x{rows3}")
        xw = ctx.emit(relax.call_tir(proj, [x, relax.const(wp.data), relax.const(wp.scale), relax.const(wb)],
                                     relax.TensorType((t * n, rows3), "float32")))
        xw = ctx.emit(relax.op.reshape(xw, (t, n, rows3)))
        reverse = attrs.direction == "reverse" or d == 1
        key = (shape, reverse, attrs.linear_before_reset, attrs.clip)
        rec = ctx.prim_func(("gru",) + key, lambda key=key: gru_kernels.recurrence(*key),
                            f"gru_recurrence_{'rev' if reverse else 'fwd'}_h{hid}")
        out = ctx.emit(relax.call_tir(
            rec, [xw, relax.const(rzr.data), relax.const(rbzr), relax.const(rh.data), relax.const(rbh),
                  _state(ctx, node, attrs.INITIAL_H, d, n, hid)],
            [relax.TensorType((t, n, hid), "float32"), relax.TensorType((n, hid), "float32")]))
        ys.append(relax.op.expand_dims(relax.TupleGetItem(out, 0), 1))
        hs.append(relax.op.expand_dims(relax.TupleGetItem(out, 1), 0))
    return [relax.op.concat(ys, axis=1), relax.op.concat(hs, axis=0)]
