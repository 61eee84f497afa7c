"""Batched float32 matmul of two run-time tensors (attention's Q Kᵀ and P V) as one register-tiled kernel.

Why not Relax's matmul with the `schedules.Matmul` rule: over the symbolic sequence length that rule's
row tiles carry a tail predicate inside the unrolled, vectorised loops (and the Q Kᵀ column loop, of
symbolic width, stays scalar), so LLVM neither vectorises them fully nor keeps the accumulators in
registers: the two attention matmuls ran at ~5-6 G MAC/s and took ~18 % of a ternary MiniLM inference
at sequence 128. Here every tile is ROWS rows x COLS vectors of 8 outputs held in registers, like
`gemm_kernels`' tiles; a symbolic extent ends in a tile that overlaps the one before (it starts at
extent - tile and rewrites a few outputs with the same values), so no tail runs narrow; only extents
below one tile take the scalar loop.
"""

from __future__ import annotations

import operator
from functools import reduce

from tvm import relax, tirx
from tvm.script import tirx as T

from hwgen.ir.graph import Node
from hwgen.ir.types import TensorType
from hwgen.tvm_backend.gemm_kernels import tile_for
from hwgen.tvm_backend.lstm_kernels import extent
from hwgen.tvm_backend.relax_context import LowerContext, relax_dtype

#: float32 lanes per vector (AVX2; NEON uses two registers per vector).
LANES = 8
#: Register tile: ROWS rows of a x COLS vectors of b's columns (8 accumulators, as `gemm_kernels`).
ROWS = 4
COLS = 2
WIDTH = LANES * COLS


def _tile_macro(k, nrows: int, lanes: int = LANES):
    """T.macro(a, b, bi, row, col, out): out[bi, row:row+nrows, col:col+COLS*lanes] = a[bi, rows, :] @ b[bi, :, cols]."""

    @T.macro
    def tile(a, b, bi, row, col, out):
        acc = T.alloc_buffer((nrows * COLS,), f"float32x{lanes}")
        for i in T.unroll(nrows * COLS):
            acc[i] = T.broadcast(T.float32(0), lanes)
        for kk in range(k):
            for r in T.unroll(nrows):
                for c in T.unroll(COLS):
                    acc[r * COLS + c] = acc[r * COLS + c] + T.broadcast(a[bi, row + r, kk], lanes) * b[
                        bi, kk, T.ramp(col + c * lanes, 1, lanes)]
        for r in T.unroll(nrows):
            for c in T.unroll(COLS):
                out[bi, row + r, T.ramp(col + c * lanes, 1, lanes)] = acc[r * COLS + c]

    return tile


def batch_matmul(batch: int | None, m: int | None, k: int | None, n: int | None, lanes: int = LANES,
                 rows: int = ROWS) -> tirx.PrimFunc:
    """PrimFunc(a[batch, m, k], b[batch, k, n], out[batch, m, n]) float32: out[i] = a[i] @ b[i]; a size None is
    symbolic (a TIR variable: one kernel for every sequence length). `lanes` x `rows`: the register tile
    (`gemm_kernels.tile_for`)."""
    bt, m_, k_, n_ = extent(batch, "batch"), extent(m, "m"), extent(k, "k"), extent(n, "n")
    width = lanes * COLS
    tile = _tile_macro(k_, rows, lanes)
    single = _tile_macro(k_, 1, lanes)

    @T.prim_func
    def bmm(a: T.Buffer((bt, m_, k_), "float32"), b: T.Buffer((bt, k_, n_), "float32"),
            out: T.Buffer((bt, m_, n_), "float32")):
        T.func_attr({"tir.noalias": True})
        for bi in range(bt):
            if n_ >= width:
                for cb in range((n_ + width - 1) // width):
                    if m_ >= rows:
                        for io in range((m_ + rows - 1) // rows):
                            tile(a, b, bi, T.min(io * rows, m_ - rows), T.min(cb * width, n_ - width), out)
                    else:
                        for i in range(m_):
                            single(a, b, bi, i, T.min(cb * width, n_ - width), out)
            else:
                for i, j in T.grid(m_, n_):
                    out[bi, i, j] = T.float32(0)
                    for kk in range(k_):
                        out[bi, i, j] = out[bi, i, j] + a[bi, i, kk] * b[bi, kk, j]

    sizes = "x".join("s" if s is None else str(s) for s in (batch, m, k, n))
    return bmm.with_attr("global_symbol", f"batch_matmul_{sizes}")


def _static(d) -> int | None:
    return d if isinstance(d, int) else None


def lower_matmul(ctx: LowerContext, node: Node) -> relax.Expr | None:
    """MatMul of two run-time float32 tensors [..., m, k] @ [..., k, n] with the same leading dims on
    `batch_matmul`; None for anything else (broadcast leading dims, vectors, other dtypes: Relax's matmul)."""
    a_name, b_name = node.inputs[0], node.inputs[1]
    a_t, b_t = ctx.type(a_name), ctx.type(b_name)
    if {relax_dtype(a_t.dtype), relax_dtype(b_t.dtype)} != {"float32"} or a_t.rank < 2 or a_t.rank != b_t.rank:
        return None
    lead = a_t.shape[:-2]
    if tuple(b_t.shape[:-2]) != tuple(lead):
        return None
    m, k, n = a_t.shape[-2], a_t.shape[-1], b_t.shape[-1]
    lead_r = ctx.shape(TensorType(lead, a_t.dtype))
    bt = reduce(operator.mul, lead_r, 1)
    static_bt = reduce(operator.mul, lead, 1) if all(isinstance(d, int) for d in lead) else None
    a3 = ctx.emit(relax.op.reshape(ctx.expr(a_name), (bt, ctx.dim(m), ctx.dim(k))))
    b3 = ctx.emit(relax.op.reshape(ctx.expr(b_name), (bt, ctx.dim(k), ctx.dim(n))))
    sizes = (static_bt, _static(m), _static(k), _static(n))
    lanes, rows, _ = tile_for(ctx.simd)
    func = ctx.prim_func(("batch_matmul", *sizes), lambda: batch_matmul(*sizes, lanes, rows), "batch_matmul")
    out = ctx.emit(relax.call_tir(func, [a3, b3], relax.TensorType((bt, ctx.dim(m), ctx.dim(n)), "float32")))
    return relax.op.reshape(out, [*lead_r, ctx.dim(m), ctx.dim(n)])
