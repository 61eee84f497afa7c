"""x86 kernels of int8-activation LSTMs and Linears: packed ternary/binary weights x int8 activations.

Why: with float activations every 2-bit weight costs a decode (shift, shift, convert) plus an
FMA, 8 weights per vector op. With int8 activations (the fixed-point model's hidden and input
formats are 8-bit) one `vpmaddubsw` multiplies 32 unsigned codes by 32 int8 activations and
adds pairs into int16: with the `packing.QuadPanels` layout a 32-byte load serves 8 rows x
4 k x 4 sub-steps, and each sub-step is one shift, one and, one multiply-add and one add, 32
weights per 4 vector ops, with no float conversion and 4x fewer weight bytes than int8 codes.

The weights are stored as unsigned offsets u = w + 1 (ternary) or (w + 1) / 2 (binary), so
sum w h = mul * sum u h - sum h: the correction is one scalar per activation vector. The int16
sums are widened to int32 (`vpmaddwd` against ones, which adds the two int16 lanes of one row)
every `chunk` blocks, before they can overflow (|u h| <= 2 * 128 per product, two per lane).

The kernels are hand-vectorised TIR (vector loads, broadcasts and the LLVM x86 intrinsics):
TVM's schedules cannot express the u8 x s8 pair multiply-add, the same reason its own x86
tensor intrinsics are written this way. `available(target)` says whether the target has AVX2;
otherwise the portable int32 kernels of `integer_kernels` are used.

On AVX-512 F/BW/VNNI targets (`simd_level` "avx512") the transformer Linears (`linear`) use
`vpdpbusd` instead (`vnni_macro`): the same layout and codes, a 64-byte load for 16 rows, four
products added straight into each int32 lane, so no int16 stage and no widening. The LSTM's
recurrence keeps the AVX2 kernels on every x86 level.
"""

from __future__ import annotations

from typing import Any, Optional

import tvm
from tvm import tirx
from tvm.script import tirx as T

from hwgen.model.integer_model import IntegerLayer, IntegerModel
from hwgen.tvm_backend.integer_kernels import FixedPointStep
from hwgen.tvm_backend.llvm import AMX_FEATURES
from hwgen.tvm_backend.lstm_kernels import extent
from hwgen.tvm_backend.packing import QUAD, QUAD_PANEL, QuadPanels
from hwgen.tvm_backend.token_quant import quantise_int8_macro

#: int8 activations: |h| <= 128.
ACT_MAX = 128
#: Rows per AVX2 int32 accumulator (32-byte vector = 8 rows x 4 activations).
ROWS_PER_VECTOR = 8
VECTORS = QUAD_PANEL // ROWS_PER_VECTOR
#: float64 lanes of the vectorised fixed-point step (AVX2: 4).
LANES = 4


#: x86 SIMD levels of the int8-activation kernels, lowest first: "portable" (`integer_kernels`, no SIMD assumed),
#: "avx2" (`vpmaddubsw` into int16, widened every `chunk_blocks`), "avx512" (AVX-512 F/BW/VNNI: `vpdpbusd` into
#: int32, 16 rows a vector, no widening), "amx" (AVX-512 plus AMX-INT8: the transformer Linears on `amx_kernels`'
#: int8 tiles, everything else as avx512).
SIMD_LEVELS = ("portable", "avx2", "avx512", "amx")
AVX512_FEATURES = ("avx512f", "avx512bw", "avx512vnni")


def simd_level(target: dict[str, Any]) -> str:
    """The highest `SIMD_LEVELS` entry the LLVM target `target` (a TVM target dict) has every instruction of."""
    t = tvm.target.Target(target)
    if all(tvm.target.codegen.target_has_features(f, t) for f in AVX512_FEATURES):
        return "amx" if all(tvm.target.codegen.target_has_features(f, t) for f in AMX_FEATURES) else "avx512"
    return "avx2" if tvm.target.codegen.target_has_features("avx2", t) else "portable"


def available(target: dict[str, Any]) -> bool:
    """Whether the LLVM target `target` has at least the AVX2 instructions these kernels use."""
    return simd_level(target) != "portable"


def chunk_blocks(panels: QuadPanels) -> int:
    """Blocks accumulated in int16 before widening: every lane adds 2 products of |u h| <= umax * 128 per sub-step."""
    umax = 2 if panels.kind == "ternary" else 1
    return max(1, (32767 // (2 * umax * ACT_MAX)) // panels.per)


def _shape(panels: QuadPanels) -> tuple[int, int]:
    return int(panels.data.shape[0]), int(panels.data.shape[1])


def _codes(w: tirx.Buffer, p: tirx.PrimExpr, q: tirx.PrimExpr, v: tirx.PrimExpr, s: tirx.PrimExpr, bits: int) -> tirx.PrimExpr:
    """Sub-step s of the 32 bytes w[p, q, v]: the u8 codes (word >> bits * s) & mask."""
    word = T.reinterpret("int16x16", w.vload([p, q, v, 0], "uint8x32"))
    mask = (1 << bits) - 1
    if not isinstance(s, int) or s:  # an unrolled loop variable: the shift becomes a constant (0 folds away)
        word = T.shift_right(word, T.broadcast(T.Cast("int16", bits * s), 16))
    return T.reinterpret("uint8x32", T.bitwise_and(word, T.broadcast(T.int16(mask | (mask << 8)), 16)))


def _activations(x: tirx.Buffer, index: list) -> tirx.PrimExpr:
    """4 int8 activations starting at x[index], broadcast to the 8 rows of a vector."""
    return T.reinterpret("int8x32", T.broadcast(T.reinterpret("int32", x.vload(index, "int8x4")), 8))


def matvec_macro(panels: QuadPanels, tokens: int = 1):
    """T.macro(x, xrow, hsum, hrow, w, p, acc32, acc16, out, orow): for t < `tokens`, out[orow + t, rows of panel p]
    = sum_k w[row, k] * x[xrow + t, k] (x: int8, zero beyond the weights' K; hsum[hrow + t]: the sum of x[xrow + t];
    acc32/acc16: tokens * VECTORS-long scratch buffers). Several tokens share each decoded weight vector (one
    load, shift and mask for `tokens` multiply-adds)."""
    blocks = _shape(panels)[1]
    per, bits, mul = panels.per, panels.bits, panels.mul
    chunk = chunk_blocks(panels)
    rounds = -(-blocks // chunk)

    @T.macro
    def body(x, xrow, hsum, hrow, w, p, acc32, acc16, out, orow):
        for a in T.unroll(tokens * VECTORS):
            acc32[a] = T.broadcast(T.int32(0), 8)
        for q0 in range(rounds):
            for a in T.unroll(tokens * VECTORS):
                acc16[a] = T.broadcast(T.int16(0), 16)
            for q1 in range(T.min(chunk, blocks - q0 * chunk)):
                for s in T.unroll(per):
                    for v in T.unroll(VECTORS):
                        for t in T.unroll(tokens):
                            acc16[t * VECTORS + v] = acc16[t * VECTORS + v] + T.call_llvm_pure_intrin(
                                "int16x16", "llvm.x86.avx2.pmadd.ub.sw", _codes(w, p, q0 * chunk + q1, v, s, bits),
                                _activations(x, [xrow + t, (q0 * chunk + q1) * per * QUAD + s * QUAD]))
            for a in T.unroll(tokens * VECTORS):
                acc32[a] = acc32[a] + T.call_llvm_pure_intrin("int32x8", "llvm.x86.avx2.pmadd.wd", acc16[a],
                                                              T.broadcast(T.int16(1), 16))
        for t in T.unroll(tokens):
            for v in T.unroll(VECTORS):
                out[orow + t, T.ramp(p * QUAD_PANEL + v * ROWS_PER_VECTOR, 1, ROWS_PER_VECTOR)] = (
                    acc32[t * VECTORS + v] * T.broadcast(T.int32(mul), 8) - T.broadcast(hsum[hrow + t], 8))

    return body


#: Rows per AVX-512 int32 accumulator: a 64-byte load is two of the layout's 8-row vectors (16 rows x 4 k).
ROWS_PER_ZMM = 16
ZMMS = QUAD_PANEL // ROWS_PER_ZMM


def vnni_macro(panels: QuadPanels, tokens: int):
    """`matvec_macro`'s T.macro(x, xrow, hsum, hrow, w, p, out, orow) on AVX-512 VNNI: `vpdpbusd` adds 4 u8 x s8
    products straight into each int32 lane (|u h| <= 256, so K up to 2**23 cannot overflow), 16 rows a vector;
    the accumulators are the macro's own."""
    blocks = _shape(panels)[1]
    per, bits, mul = panels.per, panels.bits, panels.mul
    mask = (1 << bits) - 1

    def codes(w, p, q, z, s):
        word = T.reinterpret("int16x32", w.vload([p, q, z * (ROWS_PER_ZMM // ROWS_PER_VECTOR), 0], "uint8x64"))
        if not isinstance(s, int) or s:
            word = T.shift_right(word, T.broadcast(T.Cast("int16", bits * s), 32))
        return T.reinterpret("int8x64", T.bitwise_and(word, T.broadcast(T.int16(mask | (mask << 8)), 32)))

    def activations(x, index):
        return T.reinterpret("int8x64", T.broadcast(T.reinterpret("int32", x.vload(index, "int8x4")), ROWS_PER_ZMM))

    @T.macro
    def body(x, xrow, hsum, hrow, w, p, out, orow):
        acc = T.alloc_buffer((tokens * ZMMS,), "int32x16")
        for a in T.unroll(tokens * ZMMS):
            acc[a] = T.broadcast(T.int32(0), ROWS_PER_ZMM)
        for q in range(blocks):
            for s in T.unroll(per):
                for z in T.unroll(ZMMS):
                    for t in T.unroll(tokens):
                        acc[t * ZMMS + z] = T.call_llvm_pure_intrin(
                            "int32x16", "llvm.x86.avx512.vpdpbusd.512", acc[t * ZMMS + z], codes(w, p, q, z, s),
                            activations(x, [xrow + t, q * per * QUAD + s * QUAD]))
        for t in T.unroll(tokens):
            for z in T.unroll(ZMMS):
                out[orow + t, T.ramp(p * QUAD_PANEL + z * ROWS_PER_ZMM, 1, ROWS_PER_ZMM)] = (
                    acc[t * ZMMS + z] * T.broadcast(T.int32(mul), ROWS_PER_ZMM)
                    - T.broadcast(hsum[hrow + t], ROWS_PER_ZMM))

    return body


def matvec(panels: QuadPanels) -> tirx.PrimFunc:
    """PrimFunc(x[1, K_p] int8, w, out[1, rows_p] int32): out = W x exactly, one packed matvec as in the recurrence
    (the benchmark compares it with the C microkernel of the same layout)."""
    np_, blocks = _shape(panels)
    kp, rows = panels.cols_padded, panels.rows_padded
    body = matvec_macro(panels)

    @T.prim_func
    def mv(x: T.Buffer((1, kp), "int8"), w: T.Buffer((np_, blocks, VECTORS, 32), "uint8"), out: T.Buffer((1, rows), "int32")):
        T.func_attr({"tir.noalias": True})
        hsum = T.alloc_buffer((1,), "int32")
        hsum[0] = 0
        for k in range(kp):
            hsum[0] = hsum[0] + T.Cast("int32", x[0, k])
        for p in range(np_):
            acc32 = T.alloc_buffer((VECTORS,), "int32x8")
            acc16 = T.alloc_buffer((VECTORS,), "int16x16")
            body(x, 0, hsum, 0, w, p, acc32, acc16, out, 0)

    return mv.with_attr("global_symbol", f"quad_matvec_{panels.kind}")


def projection(panels: QuadPanels, n: Optional[int]) -> tirx.PrimFunc:
    """PrimFunc(x[n, K] int32 (8-bit codes), w, out[n, rows_p] int32): acc_x = W x of every step at once (n None:
    symbolic). Each row of x is narrowed to int8 into a zero-padded scratch row first (the layout's K is a whole
    number of blocks)."""
    n = extent(n, "n")
    np_, blocks = _shape(panels)
    k, kp, rows = panels.cols, panels.cols_padded, panels.rows_padded
    body = matvec_macro(panels)

    @T.prim_func
    def proj(x: T.Buffer((n, k), "int32"), w: T.Buffer((np_, blocks, VECTORS, 32), "uint8"), out: T.Buffer((n, rows), "int32")):
        T.func_attr({"tir.noalias": True})
        row = T.alloc_buffer((1, kp), "int8")
        hsum = T.alloc_buffer((1,), "int32")
        for j in range(kp):
            row[0, j] = T.int8(0)
        for i in range(n):
            hsum[0] = 0
            for j in range(k):
                row[0, j] = T.Cast("int8", x[i, j])
                hsum[0] = hsum[0] + x[i, j]
            for p in range(np_):
                acc32 = T.alloc_buffer((VECTORS,), "int32x8")
                acc16 = T.alloc_buffer((VECTORS,), "int16x16")
                body(row, 0, hsum, 0, w, p, acc32, acc16, out, i)

    return proj



#: float32 lanes of the quantise / rescale loops around the matvec of `linear`, per SIMD level.
F32_LANES = {"avx2": 8, "avx512": 16}
#: Tokens `linear` runs through each decoded weight vector at once, per SIMD level (avx2: 8 int16 accumulators and
#: 2 broadcasts; avx512: 12 int32 accumulators, 6 broadcasts for 2 decoded vectors: 4-5 % faster than 4 tokens and
#: twice as fast as 8 on the Xeon of docs/results.md, K = 384, 64 tokens).
TOKENS = {"avx2": 2, "avx512": 6}


def _accumulate_macro(panels: QuadPanels, tokens: int, simd: str):
    """T.macro(row, hsum, w, p, acc): acc[t, rows of panel p] = W row[t] exactly for t < `tokens`, on `simd`."""
    if simd == "avx512":
        vnni = vnni_macro(panels, tokens)

        @T.macro
        def by_vnni(row, hsum, w, p, acc):
            vnni(row, 0, hsum, 0, w, p, acc, 0)
        return by_vnni
    pairs = matvec_macro(panels, tokens)

    @T.macro
    def by_pairs(row, hsum, w, p, acc):
        acc32 = T.alloc_buffer((tokens * VECTORS,), "int32x8")
        acc16 = T.alloc_buffer((tokens * VECTORS,), "int16x16")
        pairs(row, 0, hsum, 0, w, p, acc32, acc16, acc, 0)
    return by_pairs


def linear(panels: QuadPanels, n: int | None, act_max: int, simd: str = "avx2",
           tokens: Optional[int] = None) -> tirx.PrimFunc:
    """PrimFunc(x[n, K] float32, w, wscale[rows_p], bias[rows_p], out[n, rows_p] float32): a whole int8-activation
    Linear layer in one kernel. Per row (token) of x: scale = max|x_row| / act_max (1 for an all-zero row), codes
    = clip(round_half_even(x / scale), -act_max, act_max) as int8, acc = W codes exactly (int32), out = acc * scale *
    wscale + bias. The arithmetic of `linear.reference_int8`, without the four element-wise kernels (and their
    tensors and VM calls) that quantising and rescaling around `projection` took. Tokens run `tokens` at a time
    through the weights; the last group of a symbolic n overlaps the one before (it recomputes a token with the
    same values), only n < tokens runs one token at a time. `simd`: "avx2" or "avx512" (`SIMD_LEVELS`); `tokens`
    defaults to the level's `TOKENS`."""
    if simd not in TOKENS:
        raise ValueError(f"quad_kernels.linear runs on {' or '.join(TOKENS)}, not {simd!r}")
    tokens = tokens or TOKENS[simd]
    n = extent(n, "n")
    np_, blocks = _shape(panels)
    k, kp, rows = panels.cols, panels.cols_padded, panels.rows_padded
    group, single = _accumulate_macro(panels, tokens, simd), _accumulate_macro(panels, 1, simd)
    lanes = F32_LANES[simd]
    quantise = quantise_int8_macro(k, act_max, lanes)

    @T.macro
    def rescale(acc, t, scale, wscale, bias, out, i):
        for j0 in range(rows // lanes):
            out[i, T.ramp(j0 * lanes, 1, lanes)] = (
                T.Cast(f"float32x{lanes}", acc[t, T.ramp(j0 * lanes, 1, lanes)]) * T.broadcast(scale[t], lanes)
                * wscale[T.ramp(j0 * lanes, 1, lanes)] + bias[T.ramp(j0 * lanes, 1, lanes)])

    @T.prim_func
    def lin(x: T.Buffer((n, k), "float32"), w: T.Buffer((np_, blocks, VECTORS, 32), "uint8"),
            wscale: T.Buffer((rows,), "float32"), bias: T.Buffer((rows,), "float32"),
            out: T.Buffer((n, rows), "float32")):
        T.func_attr({"tir.noalias": True})
        row = T.alloc_buffer((tokens, kp), "int8")
        total = T.alloc_buffer((1, lanes), "int32")
        acc = T.alloc_buffer((tokens, rows), "int32")
        peak = T.alloc_buffer((1, lanes), "float32")
        scale = T.alloc_buffer((tokens,), "float32")
        hsum = T.alloc_buffer((tokens,), "int32")
        for t, j in T.grid(tokens, kp):
            row[t, j] = T.int8(0)
        if n >= tokens:
            for ig in range((n + tokens - 1) // tokens):
                for t in range(tokens):
                    quantise(x, T.min(ig * tokens, n - tokens) + t, row, t, hsum, scale, peak, total)
                for p in range(np_):
                    group(row, hsum, w, p, acc)
                for t in range(tokens):
                    rescale(acc, t, scale, wscale, bias, out, T.min(ig * tokens, n - tokens) + t)
        else:
            for i in range(n):
                quantise(x, i, row, 0, hsum, scale, peak, total)
                for p in range(np_):
                    single(row, hsum, w, p, acc)
                rescale(acc, 0, scale, wscale, bias, out, i)

    return lin


def exact_in_float64(model: IntegerModel) -> bool:
    """Whether every intermediate of `recurrence`'s fixed-point step is an integer below 2**53 in magnitude."""
    smax = int(max(abs(model.sigmoid.values).max(), abs(model.tanh.values).max()))
    cmax = max(-model.cell_format.min, model.cell_format.max)
    up = model.cell_format.frac - model.hidden_format.frac
    bounds = [model.affine_bits() <= 52, smax * cmax + (smax * smax << up) + smax < 2**52]
    for layer in model.layers:
        bounds.append(int(abs(layer.cell.mult).max(initial=0)) * cmax + int(abs(layer.cell.bias).max(initial=0)) < 2**52)
    return all(bounds)


def _f64(v: float, lanes: int = LANES) -> tirx.PrimExpr:
    return T.broadcast(T.float64(v), lanes)


def _floor_shift(v: tirx.PrimExpr, shift: int) -> tirx.PrimExpr:
    """v >> shift on integers held exactly in float64 lanes (scaling by 2**-shift is exact, floor rounds like >>)."""
    return T.floor(v * _f64(2.0 ** -shift))


def _clamp(v: tirx.PrimExpr, lo: int, hi: int) -> tirx.PrimExpr:
    return T.max(T.min(v, _f64(hi)), _f64(lo))


def recurrence(model: IntegerModel, layer: IntegerLayer, steps: Optional[int], batch: Optional[int],
               panels: QuadPanels) -> tirx.PrimFunc:
    """PrimFunc(accx[T, B, rows_p] int32, r, mult_x, mult_h, bias [rows_p] float64, cell_mult, cell_bias [H] float64,
    sigmoid, tanh tables int64, y[T, B, H] int32, h_n[B, H] int32): one layer's time loop, bit-exact with
    `IntegerModel._layer_step`.

    The hidden state is kept as int8 for the matvec. The fixed-point step after it runs branch-free in float64
    vectors: every value of the model's step is an integer below 2**53 (`exact_in_float64` checks the bounds),
    so products and sums are exact and `>>` is a floor after an exact power-of-two scaling. Only the table
    lookups are scalar; the gate stage emits table indices directly (every gate is only ever looked up).
    steps / batch None: symbolic (one kernel for any sequence length / batch size)."""
    steps, batch = extent(steps, "steps"), extent(batch, "batch")
    np_, blocks = _shape(panels)
    hid, kp, rows = layer.hidden, panels.cols_padded, panels.rows_padded
    hid4 = -(-hid // LANES) * LANES
    fx = FixedPointStep.of(model, layer)
    entries = fx.entries
    body = matvec_macro(panels)
    rnd = float(1 << (fx.frac - 1))

    def index(g: tirx.PrimExpr) -> tirx.PrimExpr:
        return T.Cast(f"int32x{LANES}", _floor_shift(g, fx.table_shift)) - T.broadcast(T.int32(fx.table_min), LANES)

    def f64(x: tirx.PrimExpr) -> tirx.PrimExpr:
        return T.Cast(f"float64x{LANES}", x)

    @T.prim_func
    def rec(accx: T.Buffer((steps, batch, rows), "int32"), r: T.Buffer((np_, blocks, VECTORS, 32), "uint8"),
            mult_x: T.Buffer((rows,), "float64"), mult_h: T.Buffer((rows,), "float64"), bias: T.Buffer((rows,), "float64"),
            cell_mult: T.Buffer((hid4,), "float64"), cell_bias: T.Buffer((hid4,), "float64"),
            sig: T.Buffer((entries,), "int64"), tanh: T.Buffer((entries,), "int64"),
            y: T.Buffer((steps, batch, hid), "int32"), h_n: T.Buffer((batch, hid), "int32")):
        T.func_attr({"tir.noalias": True})
        h8 = T.alloc_buffer((batch, kp), "int8")
        hsum = T.alloc_buffer((batch,), "int32")
        c = T.alloc_buffer((batch, hid4), "float64")
        acch = T.alloc_buffer((1, rows), "int32")
        gidx = T.alloc_buffer((rows,), "int32")  # table index of every gate row
        looked = T.alloc_buffer((5, hid4), "float64")  # sigma(i), sigma(f), tanh(g_c), sigma(o), tanh(cn)
        cidx = T.alloc_buffer((hid4,), "int32")
        hnew = T.alloc_buffer((hid4,), "int32")
        for b in range(batch):
            hsum[b] = 0
            for j in range(kp):
                h8[b, j] = T.int8(0)
            for u in range(hid4):
                c[b, u] = T.float64(0)
        for i, u in T.grid(5, hid4):
            looked[i, u] = T.float64(0)
        for t in range(steps):
            for b in range(batch):
                for p in range(np_):
                    acc32 = T.alloc_buffer((VECTORS,), "int32x8")
                    acc16 = T.alloc_buffer((VECTORS,), "int16x16")
                    body(h8, b, hsum, b, r, p, acc32, acc16, acch, 0)
                for j4 in range(rows // LANES):
                    gidx[T.ramp(j4 * LANES, 1, LANES)] = index(_clamp(_floor_shift(
                        mult_x[T.ramp(j4 * LANES, 1, LANES)] * f64(accx[t, b, T.ramp(j4 * LANES, 1, LANES)])
                        + mult_h[T.ramp(j4 * LANES, 1, LANES)] * f64(acch[0, T.ramp(j4 * LANES, 1, LANES)])
                        + bias[T.ramp(j4 * LANES, 1, LANES)], fx.gate_shift), fx.gate_min, fx.gate_max))
                for u in range(hid):
                    looked[0, u] = T.Cast("float64", sig[gidx[u]])
                    looked[1, u] = T.Cast("float64", sig[gidx[2 * hid + u]])
                    looked[2, u] = T.Cast("float64", tanh[gidx[3 * hid + u]])
                    looked[3, u] = T.Cast("float64", sig[gidx[hid + u]])
                for u4 in range(hid4 // LANES):
                    c[b, T.ramp(u4 * LANES, 1, LANES)] = _clamp(_floor_shift(
                        looked[1, T.ramp(u4 * LANES, 1, LANES)] * c[b, T.ramp(u4 * LANES, 1, LANES)]
                        + looked[0, T.ramp(u4 * LANES, 1, LANES)] * looked[2, T.ramp(u4 * LANES, 1, LANES)] * _f64(2.0 ** fx.up)
                        + _f64(rnd), fx.frac), fx.cell_min, fx.cell_max)
                    cidx[T.ramp(u4 * LANES, 1, LANES)] = index(_clamp(_floor_shift(
                        cell_mult[T.ramp(u4 * LANES, 1, LANES)] * c[b, T.ramp(u4 * LANES, 1, LANES)]
                        + cell_bias[T.ramp(u4 * LANES, 1, LANES)], fx.cell_shift), fx.gate_min, fx.gate_max))
                for u in range(hid):
                    looked[4, u] = T.Cast("float64", tanh[cidx[u]])
                for u4 in range(hid4 // LANES):
                    hnew[T.ramp(u4 * LANES, 1, LANES)] = T.Cast(f"int32x{LANES}", _floor_shift(
                        looked[3, T.ramp(u4 * LANES, 1, LANES)] * looked[4, T.ramp(u4 * LANES, 1, LANES)] + _f64(rnd), fx.frac))
                hsum[b] = 0
                for u in range(hid):
                    y[t, b, u] = hnew[u]
                    h8[b, u] = T.Cast("int8", hnew[u])
                    hsum[b] = hsum[b] + hnew[u]
        for b in range(batch):
            for u in range(hid):
                h_n[b, u] = y[steps - 1, b, u]

    return rec
