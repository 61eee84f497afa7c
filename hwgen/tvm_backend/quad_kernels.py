"""AVX2 kernels of the int8-activation LSTM: packed ternary/binary weights x int8 activations.

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
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx
from tvm.script import tirx as T

from hwgen.passes.integer_model import IntegerLayer, IntegerModel
from hwgen.tvm_backend.integer_kernels import FixedPointStep
from hwgen.tvm_backend.packing import QUAD, QUAD_PANEL, QuadPanels

#: int8 activations: |h| <= 128.
ACT_MAX = 128
#: Rows per AVX2 int32 accumulator (32-byte vector = 8 rows x 4 activations).
ROWS_PER_VECTOR = 8
VECTORS = QUAD_PANEL // ROWS_PER_VECTOR


def available(target: dict[str, Any]) -> bool:
    """Whether the LLVM target `target` (a TVM target dict) has the AVX2 instructions these kernels use."""
    return bool(tvm.target.codegen.target_has_features("avx2", tvm.target.Target(target)))


def chunk_blocks(panels: QuadPanels) -> int:
    """Blocks accumulated in int16 before widening: every lane adds 2 products of |u h| <= umax * 128 per sub-step."""
    umax = (1 << panels.bits) - 1 if panels.kind == "binary" else 2
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


def matvec_macro(panels: QuadPanels):
    """T.macro(x, xbase, hsum, w, p, acc32, acc16, out, obase): out[obase + panel rows] = sum_k w[row, k] * x[xbase + k]
    for row panel p (x: int8, a row of a 2-D buffer at [xbase, 0]; hsum: the sum of that x row)."""
    blocks = _shape(panels)[1]
    per, bits, mul = panels.per, panels.bits, panels.mul
    chunk = chunk_blocks(panels)
    rounds = -(-blocks // chunk)

    @T.macro
    def body(x, xrow, hsum, w, p, acc32, acc16, out, orow):
        for v in T.unroll(VECTORS):
            acc32[v] = T.broadcast(T.int32(0), 8)
        for q0 in range(rounds):
            for v in T.unroll(VECTORS):
                acc16[v] = T.broadcast(T.int16(0), 16)
            for q1 in range(T.min(chunk, blocks - q0 * chunk)):
                for s in T.unroll(per):
                    for v in T.unroll(VECTORS):
                        acc16[v] = acc16[v] + T.call_llvm_pure_intrin(
                            "int16x16", "llvm.x86.avx2.pmadd.ub.sw", _codes(w, p, q0 * chunk + q1, v, s, bits),
                            _activations(x, [xrow, (q0 * chunk + q1) * per * QUAD + s * QUAD]))
            for v in T.unroll(VECTORS):
                acc32[v] = acc32[v] + T.call_llvm_pure_intrin("int32x8", "llvm.x86.avx2.pmadd.wd", acc16[v],
                                                              T.broadcast(T.int16(1), 16))
        for v in T.unroll(VECTORS):
            out[orow, T.ramp(p * QUAD_PANEL + v * ROWS_PER_VECTOR, 1, ROWS_PER_VECTOR)] = (
                acc32[v] * T.broadcast(T.int32(mul), 8) - T.broadcast(hsum, 8))

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
            body(x, 0, hsum[0], w, p, acc32, acc16, out, 0)

    return mv.with_attr("global_symbol", f"quad_matvec_{panels.kind}")


def projection(panels: QuadPanels, n: int) -> tirx.PrimFunc:
    """PrimFunc(x[n, K] int32 (8-bit codes), w, out[n, rows_p] int32): acc_x = W x of every step at once. Each row of
    x is narrowed to int8 into a zero-padded scratch row first (the layout's K is a whole number of blocks)."""
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
                body(row, 0, hsum[0], w, p, acc32, acc16, out, i)

    return proj


def recurrence(model: IntegerModel, layer: IntegerLayer, steps: int, batch: int, panels: QuadPanels) -> tirx.PrimFunc:
    """PrimFunc(accx[T, B, rows_p] int32, r, mult_x, mult_h, bias [rows_p] int64, cell_mult, cell_bias [H] int64,
    sigmoid, tanh tables int64, y[T, B, H] int32, h_n[B, H] int32): one layer's time loop, as
    `integer_kernels.int_recurrence` but with the hidden state kept as int8 for the AVX2 matvec."""
    np_, blocks = _shape(panels)
    hid, kp, rows = layer.hidden, panels.cols_padded, panels.rows_padded
    fx = FixedPointStep.of(model, layer)
    entries = fx.entries
    body = matvec_macro(panels)

    @T.prim_func
    def rec(accx: T.Buffer((steps, batch, rows), "int32"), r: T.Buffer((np_, blocks, VECTORS, 32), "uint8"),
            mult_x: T.Buffer((rows,), "int64"), mult_h: T.Buffer((rows,), "int64"), bias: T.Buffer((rows,), "int64"),
            cell_mult: T.Buffer((hid,), "int64"), cell_bias: T.Buffer((hid,), "int64"),
            sig: T.Buffer((entries,), "int64"), tanh: T.Buffer((entries,), "int64"),
            y: T.Buffer((steps, batch, hid), "int32"), h_n: T.Buffer((batch, hid), "int32")):
        T.func_attr({"tir.noalias": True})
        h8 = T.alloc_buffer((batch, kp), "int8")
        hsum = T.alloc_buffer((batch,), "int32")
        c = T.alloc_buffer((batch, hid), "int64")
        acch = T.alloc_buffer((batch, rows), "int32")
        g = T.alloc_buffer((batch, rows), "int64")
        for b in range(batch):
            hsum[b] = 0
            for j in range(kp):
                h8[b, j] = T.int8(0)
            for u in range(hid):
                c[b, u] = T.int64(0)
        for t in range(steps):
            for b in range(batch):
                for p in range(np_):
                    acc32 = T.alloc_buffer((VECTORS,), "int32x8")
                    acc16 = T.alloc_buffer((VECTORS,), "int16x16")
                    body(h8, b, hsum[b], r, p, acc32, acc16, acch, b)
                for j in range(rows):
                    g[b, j] = fx.gate(mult_x[j], accx[t, b, j], mult_h[j], acch[b, j], bias[j])
                hsum[b] = 0
                for u in range(hid):
                    c[b, u] = fx.cell(sig, tanh, c[b, u], g[b, u], g[b, 2 * hid + u], g[b, 3 * hid + u])
                    y[t, b, u] = fx.hidden(sig, tanh, c[b, u], g[b, hid + u], cell_mult[u], cell_bias[u])
                    h8[b, u] = T.Cast("int8", y[t, b, u])
                    hsum[b] = hsum[b] + y[t, b, u]
        for b in range(batch):
            for u in range(hid):
                h_n[b, u] = y[steps - 1, b, u]

    return rec
