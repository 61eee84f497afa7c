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
from hwgen.tvm_backend.token_quant import quantise_macro

#: float32 lanes per vector (AVX2; NEON uses two registers per vector).
LANES = 8
#: Register tile: ROWS rows of x x COLS vectors of outputs.
ROWS = 4
COLS = 2
STRIPS = PANEL // (LANES * COLS)
#: AVX-512's 16-lane vectors: 6 rows x 2 vectors (12 accumulators, a whole PANEL per row). On the Xeon of
#: docs/results.md (K = 384 and 1536, 64 tokens) 5-7 rows ran at 66-78 G MAC/s, 4 rows 63-72, 8 and more rows
#: 19-35 (against 39-45 for the AVX2 tile).
WIDE_LANES, WIDE_ROWS = 16, 6


def tile_for(simd: str) -> tuple[int, int, int]:
    """(lanes, tile rows, tile cols) of the float tiles on a `quad_kernels.SIMD_LEVELS` level."""
    return (WIDE_LANES, WIDE_ROWS, COLS) if simd in ("avx512", "amx") else (LANES, ROWS, COLS)


def _tile_macro(k: int, nrows: int, ncols: int, lanes: int = LANES):
    """T.macro(x, src, sp, p, strip, start, wscale, bias, out): out[start:start+nrows, panel p, strip] from
    src[sp, k, PANEL] (float weights in panel layout)."""

    def _cols(p, strip, c):
        # The output columns as one expression: a named scalar (`col = ...`) in TVMScript is a local
        # variable that TVM allocates on the heap (TVMBackendAllocWorkspace) at every use, which cost
        # 8 allocations per tile, ~25 % of a K = 384 projection.
        return T.ramp(p * PANEL + (strip * ncols + c) * lanes, 1, lanes)

    @T.macro
    def tile(x, src, sp, p, strip, start, wscale, bias, out):
        acc = T.alloc_buffer((nrows * ncols,), f"float32x{lanes}")
        for a in T.unroll(nrows * ncols):
            acc[a] = T.broadcast(T.float32(0), lanes)
        for kk in range(k):
            for r in T.unroll(nrows):
                for c in T.unroll(ncols):
                    acc[r * ncols + c] = acc[r * ncols + c] + T.broadcast(x[start + r, kk], lanes) * src[
                        sp, kk, T.ramp((strip * ncols + c) * lanes, 1, lanes)]
        for r in T.unroll(nrows):
            for c in T.unroll(ncols):
                out[start + r, _cols(p, strip, c)] = (acc[r * ncols + c] * wscale[_cols(p, strip, c)]
                                                      + bias[_cols(p, strip, c)])

    return tile


def projection(rows: int, k: int, n: int | None, kind: WeightKind, tile_rows: int = ROWS,
               tile_cols: int = COLS, lanes: int = LANES) -> tirx.PrimFunc:
    """PrimFunc(x[n, k] float32, w panels [rows/PANEL, words, PANEL] (`packing.Panels.data` of `kind`),
    wscale[rows], bias[rows], out[n, rows]): out = (x W^T) * wscale + bias; n None: symbolic (any number of
    rows; an LSTM's steps x batch, a transformer's tokens). `lanes`, `tile_rows`, `tile_cols`: the register
    tile (`tile_for`)."""
    per = codes_per_word(kind)
    words = -(-k // per)
    panels = rows // PANEL
    strips = PANEL // (lanes * tile_cols)
    wdtype = panel_dtype(kind)
    n_ = extent(n, "n")
    tile = _tile_macro(k, tile_rows, tile_cols, lanes)
    single = _tile_macro(k, 1, tile_cols, lanes)

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


def _int_tile_macro(k: int, part: int, nrows: int, ncols: int, lanes: int = LANES):
    """T.macro(x, src, p, strip, start, xs, wscale, bias, out): `_tile_macro` over integer-valued x and weight codes,
    summed exactly: in float32 over parts of K of `part` (every partial sum an integer below 2**24), the parts
    added in int32; out = sum * xs[row] * wscale + bias."""
    parts = -(-k // part)

    def _cols(p, strip, c):
        return T.ramp(p * PANEL + (strip * ncols + c) * lanes, 1, lanes)

    @T.macro
    def tile(x, src, p, strip, start, xs, wscale, bias, out):
        acc = T.alloc_buffer((nrows * ncols,), f"float32x{lanes}")
        total = T.alloc_buffer((nrows * ncols,), f"int32x{lanes}")
        for a in T.unroll(nrows * ncols):
            total[a] = T.broadcast(T.int32(0), lanes)
        for part_i in range(parts):
            for a in T.unroll(nrows * ncols):
                acc[a] = T.broadcast(T.float32(0), lanes)
            for kk in range(part_i * part, T.min(part_i * part + part, k)):
                for r in T.unroll(nrows):
                    for c in T.unroll(ncols):
                        acc[r * ncols + c] = acc[r * ncols + c] + T.broadcast(x[start + r, kk], lanes) * src[
                            0, kk, T.ramp((strip * ncols + c) * lanes, 1, lanes)]
            for a in T.unroll(nrows * ncols):
                total[a] = total[a] + T.Cast(f"int32x{lanes}", acc[a])
        for r in T.unroll(nrows):
            for c in T.unroll(ncols):
                out[start + r, _cols(p, strip, c)] = (T.Cast(f"float32x{lanes}", total[r * ncols + c])
                                                      * T.broadcast(xs[start + r], lanes) * wscale[_cols(p, strip, c)]
                                                      + bias[_cols(p, strip, c)])

    return tile


def int_linear(rows: int, k: int, kind: WeightKind, act_max: int, exact_k: int, simd: str = "avx2") -> tirx.PrimFunc:
    """PrimFunc(x[n, K] float32, w panels of int8 / ternary / binary codes, wscale[rows], bias[rows], out[n, rows]):
    a whole int8-activation Linear layer in one kernel (n symbolic): every token quantised to int8 codes
    (`token_quant`), the codes times the weight codes summed exactly on the float tiles (parts of at most
    `exact_k` of K, added in int32), out = sum * token scale * wscale + bias (`linear.reference_int8`). `simd`:
    the register tile's level (`tile_for`)."""
    per = codes_per_word(kind)
    words = -(-k // per)
    panels = rows // PANEL
    lanes, tile_rows, tile_cols = tile_for(simd)
    strips = PANEL // (lanes * tile_cols)
    wdtype = panel_dtype(kind)
    n_ = extent(None, "n")
    part = -(-k // -(-k // exact_k))  # near-equal parts, none longer than exact_k
    tile = _int_tile_macro(k, part, tile_rows, tile_cols, lanes)
    single = _int_tile_macro(k, part, 1, tile_cols, lanes)
    quantise = quantise_macro(k, act_max)

    @T.prim_func
    def lin(x: T.Buffer((n_, k), "float32"), w: T.Buffer((panels, words, PANEL), wdtype),
            wscale: T.Buffer((rows,), "float32"), bias: T.Buffer((rows,), "float32"),
            out: T.Buffer((n_, rows), "float32")):
        T.func_attr({"tir.noalias": True})
        codes = T.alloc_buffer((n_, k), "float32")
        xs = T.alloc_buffer((n_,), "float32")
        peak = T.alloc_buffer((1, LANES), "float32")
        wdec = T.alloc_buffer((1, k, PANEL), "float32")
        for i in range(n_):
            quantise(x, i, codes, i, xs, i, peak)
        for p in range(panels):
            for kw in range(words):
                for s in T.unroll(per):
                    if kw * per + s < k:
                        for lane in T.vectorized(PANEL):
                            wdec[0, kw * per + s, lane] = decode(kind, w[p, kw, lane], s)
            for strip in range(strips):
                if n_ >= tile_rows:
                    for io in range((n_ + tile_rows - 1) // tile_rows):
                        tile(codes, wdec, p, strip, T.min(io * tile_rows, n_ - tile_rows), xs, wscale, bias, out)
                else:
                    for i in range(n_):
                        single(codes, wdec, p, strip, i, xs, wscale, bias, out)

    return lin.with_attr("global_symbol", f"int_linear_{kind}_{k}x{rows}")
