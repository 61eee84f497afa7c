"""The register-blocked GEMM over weight panels: y[n, rows] = (x[n, k] W^T) * wscale + bias.

Why hand-vectorised: the block-scheduled form (`tvm.s_tir.Schedule` over a [rows, PANEL]
accumulator block) left LLVM storing 10 of its 12 accumulator vectors to the stack and
reloading them around every FMA. Here the accumulators are an unrolled buffer of whole
vectors that LLVM keeps in registers (the inner loop is COLS loads, ROWS broadcasts and
ROWS * COLS FMAs, nothing else).

The register tile is ROWS rows of x times COLS vectors of 8 outputs; a PANEL of 32 outputs
runs as PANEL / (8 * COLS) strips. 4 x 2 (8 accumulators): 6 x 2 and 2 x 4 were no faster on
the Zen 1 EPYC; 3 x 4 (17 live vectors) ran 2-3x slower. The last tile of a symbolic n overlaps
the one before (it starts at n - ROWS and rewrites a few rows with the same values), so no
row runs on a narrow tail loop; only n < ROWS does. Packed weights (ternary, binary, int8
codes) are decoded per panel once into a float [k, PANEL] scratch and then run the same
tiles; float panels are read in place.
"""

from __future__ import annotations

from tvm import tirx
from tvm.script import tirx as T

from hwgen.tvm_backend.lstm_kernels import codes_per_word, decode, extent, panel_dtype
from hwgen.tvm_backend.packing import PANEL, WeightKind

#: float32 lanes per vector (AVX2; NEON uses two registers per vector).
LANES = 8
#: Register tile: ROWS rows of x x COLS vectors of outputs.
ROWS = 4
COLS = 2
STRIPS = PANEL // (LANES * COLS)


def _tile_macro(k: int, nrows: int, ncols: int):
    """T.macro(x, src, sp, p, strip, start, wscale, bias, out): out[start:start+nrows, panel p, strip] from
    src[sp, k, PANEL] (float weights in panel layout)."""

    def _cols(p, strip, c):
        # The output columns as one expression: a named scalar (`col = ...`) in TVMScript is a local
        # variable that TVM allocates on the heap (TVMBackendAllocWorkspace) at every use, which cost
        # 8 allocations per tile, ~25 % of a K = 384 projection.
        return T.ramp(p * PANEL + (strip * ncols + c) * LANES, 1, LANES)

    @T.macro
    def tile(x, src, sp, p, strip, start, wscale, bias, out):
        acc = T.alloc_buffer((nrows * ncols,), "float32x8")
        for a in T.unroll(nrows * ncols):
            acc[a] = T.broadcast(T.float32(0), LANES)
        for kk in range(k):
            for r in T.unroll(nrows):
                for c in T.unroll(ncols):
                    acc[r * ncols + c] = acc[r * ncols + c] + T.broadcast(x[start + r, kk], LANES) * src[
                        sp, kk, T.ramp((strip * ncols + c) * LANES, 1, LANES)]
        for r in T.unroll(nrows):
            for c in T.unroll(ncols):
                out[start + r, _cols(p, strip, c)] = (acc[r * ncols + c] * wscale[_cols(p, strip, c)]
                                                      + bias[_cols(p, strip, c)])

    return tile


def projection(rows: int, k: int, n: int | None, kind: WeightKind, tile_rows: int = ROWS,
               tile_cols: int = COLS) -> tirx.PrimFunc:
    """PrimFunc(x[n, k] float32, w panels [rows/PANEL, words, PANEL] (`packing.Panels.data` of `kind`),
    wscale[rows], bias[rows], out[n, rows]): out = (x W^T) * wscale + bias; n None: symbolic (any number of
    rows; an LSTM's steps x batch, a transformer's tokens)."""
    per = codes_per_word(kind)
    words = -(-k // per)
    panels = rows // PANEL
    strips = PANEL // (LANES * tile_cols)
    wdtype = panel_dtype(kind)
    n_ = extent(n, "n")
    tile = _tile_macro(k, tile_rows, tile_cols)
    single = _tile_macro(k, 1, tile_cols)

    if kind == "float":
        @T.prim_func
        def proj(x: T.Buffer((n_, k), "float32"), w: T.Buffer((panels, words, PANEL), wdtype),
                 wscale: T.Buffer((rows,), "float32"), bias: T.Buffer((rows,), "float32"),
                 out: T.Buffer((n_, rows), "float32")):
            T.func_attr({"tir.noalias": True})
            for p in range(panels):
                for strip in range(strips):
                    if n_ >= tile_rows:
                        for io in range((n_ + tile_rows - 1) // tile_rows):
                            tile(x, w, p, p, strip, T.min(io * tile_rows, n_ - tile_rows), wscale, bias, out)
                    else:
                        for i in range(n_):
                            single(x, w, p, p, strip, i, wscale, bias, out)
    else:
        @T.prim_func
        def proj(x: T.Buffer((n_, k), "float32"), w: T.Buffer((panels, words, PANEL), wdtype),
                 wscale: T.Buffer((rows,), "float32"), bias: T.Buffer((rows,), "float32"),
                 out: T.Buffer((n_, rows), "float32")):
            T.func_attr({"tir.noalias": True})
            wdec = T.alloc_buffer((1, k, PANEL), "float32")
            for p in range(panels):
                for kw in range(words):
                    for s in T.unroll(per):
                        if kw * per + s < k:
                            for lane in T.vectorized(PANEL):
                                wdec[0, kw * per + s, lane] = decode(kind, w[p, kw, lane], s)
                for strip in range(strips):
                    if n_ >= tile_rows:
                        for io in range((n_ + tile_rows - 1) // tile_rows):
                            tile(x, wdec, 0, p, strip, T.min(io * tile_rows, n_ - tile_rows), wscale, bias, out)
                    else:
                        for i in range(n_):
                            single(x, wdec, 0, p, strip, i, wscale, bias, out)

    return proj.with_attr("global_symbol", f"gemm_{kind}_{k}x{rows}")
