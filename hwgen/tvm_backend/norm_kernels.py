"""Row normalisations as hand-vectorised kernels: LayerNormalization over a static last axis, softmax over any
last axis (attention's, of the symbolic sequence length); each row in three passes.

Why: Relax legalises layer_norm to TOPI's loop nest, and dlight's CPU row-reduction schedule left it
at ~45 us for a [64, 384] input on the Xeon of docs/results.md, about a tenth of a ternary MiniLM
inference over its 13 calls. Here a row's sum, its squared deviations and the normalised output are
three passes of whole `LANES`-wide vectors (the row length a multiple of `LANES`; other lengths keep
Relax's layer_norm): mean = sum / k, var = sum (x - mean)^2 / k (the two-pass form, as onnxruntime's),
y = (x - mean) / sqrt(var + eps) * gamma + beta.

`softmax` replaces the TE form (`schedules.softmax_last_axis`, which no row-reduction schedule takes over a
symbolic row): 1.5 ns an element at sequence 128, about a sixth of a ternary MiniLM inference there. Its passes:
the row's peak, e = exp(x - peak) (`mathfns.exp`) stored and summed, e / sum; whole vectors and a scalar tail.
"""

from __future__ import annotations

import operator
from functools import reduce

import numpy as np
import tvm
from tvm import relax, tirx
from tvm.script import tirx as T

from hwgen.tvm_backend import mathfns
from hwgen.tvm_backend.gemm_kernels import tile_for
from hwgen.tvm_backend.lstm_kernels import extent
from hwgen.tvm_backend.relax_context import LowerContext

#: float32 lanes of the row passes (AVX2 and NEON take them as one or two registers; AVX-512 as half of one).
LANES = 8


def fits(k: int) -> bool:
    """Whether a row of length k runs on `layer_norm` (whole vectors)."""
    return k % LANES == 0


def layer_norm(k: int, eps: float) -> tirx.PrimFunc:
    """PrimFunc(x[n, k], gamma[k], beta[k], out[n, k]) float32, n symbolic: each row normalised."""
    if not fits(k):
        raise ValueError(f"norm_kernels.layer_norm needs a row length that is a multiple of {LANES}, got {k}")
    n = extent(None, "n")
    vectors = k // LANES

    def vec(buf, i, j0):
        return buf[i, T.ramp(j0 * LANES, 1, LANES)]

    @T.prim_func
    def norm(x: T.Buffer((n, k), "float32"), gamma: T.Buffer((k,), "float32"), beta: T.Buffer((k,), "float32"),
             out: T.Buffer((n, k), "float32")):
        T.func_attr({"tir.noalias": True})
        acc = T.alloc_buffer((1, LANES), "float32")
        stats = T.alloc_buffer((2,), "float32")  # mean, 1 / sqrt(var + eps)
        for i in range(n):
            acc[0, T.ramp(0, 1, LANES)] = T.broadcast(T.float32(0), LANES)
            for j0 in range(vectors):
                acc[0, T.ramp(0, 1, LANES)] = acc[0, T.ramp(0, 1, LANES)] + vec(x, i, j0)
            stats[0] = T.float32(0)
            for lane in range(LANES):
                stats[0] = stats[0] + acc[0, lane]
            stats[0] = stats[0] / T.float32(k)
            acc[0, T.ramp(0, 1, LANES)] = T.broadcast(T.float32(0), LANES)
            for j0 in range(vectors):
                acc[0, T.ramp(0, 1, LANES)] = acc[0, T.ramp(0, 1, LANES)] + (
                    vec(x, i, j0) - T.broadcast(stats[0], LANES)) * (vec(x, i, j0) - T.broadcast(stats[0], LANES))
            stats[1] = T.float32(0)
            for lane in range(LANES):
                stats[1] = stats[1] + acc[0, lane]
            stats[1] = T.float32(1) / T.sqrt(stats[1] / T.float32(k) + T.float32(eps))
            for j0 in range(vectors):
                out[i, T.ramp(j0 * LANES, 1, LANES)] = (
                    (vec(x, i, j0) - T.broadcast(stats[0], LANES)) * T.broadcast(stats[1], LANES)
                    * gamma[T.ramp(j0 * LANES, 1, LANES)] + beta[T.ramp(j0 * LANES, 1, LANES)])

    return norm


def _on_rows(ctx: LowerContext, func: tvm.ir.GlobalVar, x: relax.Expr, lead: list, last,
             *args: relax.Expr) -> relax.Expr:
    """`func`(x as [rows, last], *args) -> [rows, last], for x [*lead, last]: the kernels see one row per
    leading index."""
    rows = reduce(operator.mul, lead, 1)
    x2 = ctx.emit(relax.op.reshape(x, (rows, last)))
    y = ctx.emit(relax.call_tir(func, [x2, *args], relax.TensorType((rows, last), "float32")))
    return relax.op.reshape(y, [*lead, last])


def lower_layer_norm(ctx: LowerContext, x: relax.Expr, lead: list, k: int, gamma: relax.Expr, beta: relax.Expr,
                     eps: float) -> relax.Expr:
    """x [*lead, k] normalised over its last axis on `layer_norm` (the caller checked `fits(k)`)."""
    func = ctx.prim_func(("layer_norm", k, float(eps)), lambda: layer_norm(k, eps), "layer_norm")
    return _on_rows(ctx, func, x, lead, k, gamma, beta)


#: The most negative float32: the peak of a row starts there.
LOWEST = -3.4028234663852886e38


def softmax(lanes: int = LANES) -> tirx.PrimFunc:
    """PrimFunc(x[r, n], lowest[1], out[r, n]) float32, r and n symbolic: softmax of each row. `lowest` (the float32
    minimum, where a row's peak starts) is an input rather than a literal because TVM 0.27's RewriteDataflowReshape
    inspects every one-input kernel for a reshape and asserts on a body without TIR blocks."""
    r, n = extent(None, "r"), extent(None, "n")

    @T.prim_func
    def soft(x: T.Buffer((r, n), "float32"), lowest: T.Buffer((1,), "float32"), out: T.Buffer((r, n), "float32")):
        T.func_attr({"tir.noalias": True})
        acc = T.alloc_buffer((1, lanes), "float32")
        stats = T.alloc_buffer((2,), "float32")  # peak, sum
        for i in range(r):
            for lane in T.vectorized(lanes):
                acc[0, lane] = lowest[0]
            for j0 in range(n // lanes):
                for lane in T.vectorized(lanes):
                    acc[0, lane] = T.max(acc[0, lane], x[i, j0 * lanes + lane])
            stats[0] = lowest[0]
            for lane in range(lanes):
                stats[0] = T.max(stats[0], acc[0, lane])
            for j in range(n // lanes * lanes, n):
                stats[0] = T.max(stats[0], x[i, j])
            for lane in T.vectorized(lanes):
                acc[0, lane] = T.float32(0)
            for j0 in range(n // lanes):
                for lane in T.vectorized(lanes):
                    out[i, j0 * lanes + lane] = mathfns.exp(x[i, j0 * lanes + lane] - stats[0])
                    acc[0, lane] = acc[0, lane] + out[i, j0 * lanes + lane]
            stats[1] = T.float32(0)
            for lane in range(lanes):
                stats[1] = stats[1] + acc[0, lane]
            for j in range(n // lanes * lanes, n):
                out[i, j] = mathfns.exp(x[i, j] - stats[0])
                stats[1] = stats[1] + out[i, j]
            for j0 in range(n // lanes):
                for lane in T.vectorized(lanes):
                    out[i, j0 * lanes + lane] = out[i, j0 * lanes + lane] / stats[1]
            for j in range(n // lanes * lanes, n):
                out[i, j] = out[i, j] / stats[1]

    return soft


def lower_softmax(ctx: LowerContext, x: relax.Expr, lead: list, n) -> relax.Expr:
    """softmax of x [*lead, n] float32 over its last axis on `softmax`."""
    lanes = tile_for(ctx.simd)[0]
    func = ctx.prim_func(("softmax", lanes), lambda: softmax(lanes), "softmax")
    return _on_rows(ctx, func, x, lead, n, relax.const(np.full(1, LOWEST, np.float32)))
