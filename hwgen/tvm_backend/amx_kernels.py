"""Int8-activation Linear layers on Intel AMX tiles (`tdpbssd`): the "amx" SIMD level of `quad_kernels`.

Why: on AVX-512 VNNI one `vpdpbusd` adds 64 products; an AMX `tdpbssd` multiplies a 16 x 64 tile of int8
activations by a 64 x 16 tile of int8 weights into 16 x 16 int32 sums, 16,384 products per instruction, and a
transformer Linear at sequence 64-128 is a GEMM of exactly that shape. onnxruntime's int8 GEMMs use AMX on
such hosts; with VNNI alone hwgen's Linears ran at ~0.6x of their speed (MiniLM, sequence 128).

The packed ternary/binary weights stay as they are (`packing.QuadPanels`, 2 or 1 bits a weight): a 64-byte
vector of a panel at sub-step s, (load >> bits * s) & mask, is 16 output columns x 4 consecutive k, which is
one row of an AMX weight tile. Each call decodes one 32-column panel (all of K) at a time into signed int8
rows (w = u - 1 ternary, 2u - 1 binary) and runs every token through it, so each weight is decoded once per
call. Activations are quantised per token as in `quad_kernels.linear` (the same macro, the same float
operations) into a scratch of whole 16-token tiles (zero rows and columns beyond x), the sums are exact int32
(|w h| <= 128, K < 2**24), and the rescale is the same float expression: the outputs are bit-identical to the
VNNI kernel's.

Tiles: C0-C3 the 32 x 32 int32 sums of two token tiles x two column halves, A4/A5 the token tiles, B6/B7 the
weight tiles (8 tile registers, all configured 16 rows x 64 bytes). Linux lets a process use AMX state only
after arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); every call asks (idempotent, ~1 us) and fails with a
clear error if the OS refuses, so a model.so runs in any process that loads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import tirx
from tvm.script import tirx as T

from hwgen.tvm_backend.llvm import ARCH_REQ_XCOMP_PERM, SYS_ARCH_PRCTL, XFEATURE_XTILEDATA
from hwgen.tvm_backend.lstm_kernels import extent
from hwgen.tvm_backend.packing import QUAD, QUAD_PANEL, TILE_K, Int8Tiles, QuadPanels
from hwgen.tvm_backend.token_quant import quantise_macro

#: Tile geometry: 16 rows x 64 bytes (A: 16 tokens x 64 k; B: 16 k-quads x 16 columns x 4 k; C: 16 x 16 int32).
TILE_ROWS = 16
TILE_BYTES = 64
#: float32 lanes of the quantise / rescale loops (AVX-512).
LANES = 16


def _tile(op: str, *args) -> tirx.PrimExpr:
    return T.call_llvm_intrin("void", f"llvm.x86.{op}", *args)


def _load(tile: int, ptr, stride: int | tirx.PrimExpr) -> tirx.PrimExpr:
    return _tile("tileloadd64", T.int8(tile), ptr, T.Cast("int64", stride))


@dataclass(frozen=True)
class _Shape:
    """What the kernel's loops and buffers need of the weights: packed panels (`decoded`: unpacked into tiles) or
    int8 tiles, and K in k-quads (4 k a tile row's 4 bytes) as they hold it and rounded up to whole tiles."""

    decoded: bool
    panels: int  # 32-column panels
    k: int
    rows: int  # output columns, padded to panels
    blocks: int  # packed blocks a panel (0 for int8 tiles)
    per: int  # k-quads a packed block (codes a byte)
    bits: int
    quads: int  # k-quads the weights hold
    kq: int  # k-quads rounded up to whole tiles
    wshape: tuple[int, ...]
    wdtype: str

    @staticmethod
    def of(panels: QuadPanels | Int8Tiles) -> "_Shape":
        np_, k, rows = int(panels.data.shape[0]), panels.cols, panels.rows_padded
        if isinstance(panels, QuadPanels):
            blocks, per = int(panels.data.shape[1]), panels.per
            quads = blocks * per
            kq = -(-quads // (TILE_K // QUAD)) * (TILE_K // QUAD)
            return _Shape(True, np_, k, rows, blocks, per, panels.bits, quads, kq, (np_, blocks, 4, 32), "uint8")
        kq = int(panels.data.shape[1])
        return _Shape(False, np_, k, rows, 0, 1, 8, kq, kq, (np_, kq, 2, TILE_BYTES), "int8")

    @property
    def kt(self) -> int:
        """k of the activation scratch (zero beyond K)."""
        return self.kq * QUAD

    @property
    def steps(self) -> int:
        """Tile steps along K."""
        return self.kq // TILE_ROWS


def _decode_macro(shape: _Shape, kind: str):
    """T.macro(w, wt, p): panel p's packed codes into the signed int8 weight-tile rows wt[k-quad, half, 64]. A
    64-byte vector of the panel at sub-step s, (load >> bits * s) & mask, is one tile row: 16 columns x 4 k."""
    mask = (1 << shape.bits) - 1

    def codes(w, p, q, h, s):
        word = T.reinterpret("int16x32", w.vload([p, q, 2 * h, 0], "uint8x64"))
        if not isinstance(s, int) or s:  # an unrolled loop variable: a constant shift once unrolled
            word = T.shift_right(word, T.broadcast(T.Cast("int16", shape.bits * s), 32))
        u = T.reinterpret("int8x64", T.bitwise_and(word, T.broadcast(T.int16(mask | (mask << 8)), 32)))
        if kind == "ternary":
            return u - T.broadcast(T.int8(1), 64)
        return u + u - T.broadcast(T.int8(1), 64)

    @T.macro
    def decode(w, wt, p):
        for q in range(shape.blocks):
            for s in T.unroll(shape.per):
                for h in T.unroll(2):
                    wt[q * shape.per + s, h, T.ramp(0, 1, TILE_BYTES)] = codes(w, p, q, h, s)

    return decode


def _configure_tiles_macro():
    """T.macro(cfg): every tile register 16 rows x 64 bytes (palette 1), loaded with ldtilecfg; cfg: a 64-byte
    scratch."""

    @T.macro
    def configure(cfg):
        for i in range(64):
            cfg[i] = T.uint8(0)
        cfg[0] = T.uint8(1)  # palette 1
        for t in range(8):
            cfg[16 + 2 * t] = T.uint8(TILE_BYTES)  # bytes per row (little-endian u16)
            cfg[48 + t] = T.uint8(TILE_ROWS)
        T.evaluate(_tile("ldtilecfg", T.address_of(cfg[0])))

    return configure


def _block_macro(shape: _Shape, mt):
    """T.macro(w, wt, xq, p, mb, acc): acc[32, 32] int32 = token tiles 2mb, 2mb + 1 of xq times panel p's weights
    (from the decoded wt, or straight from the int8 tiles w); an odd last token tile runs alone (C2/C3 stay zero)."""
    half = QUAD_PANEL // 2  # columns per weight tile
    stride = T.int64(4 * QUAD_PANEL)  # acc's row, in bytes

    @T.macro
    def load_weights(w, wt, p, st):
        """B6/B7: the two column halves of panel p at tile step st."""
        if shape.decoded:
            T.evaluate(_load(6, T.address_of(wt[st * TILE_ROWS, 0, 0]), 2 * TILE_BYTES))
            T.evaluate(_load(7, T.address_of(wt[st * TILE_ROWS, 1, 0]), 2 * TILE_BYTES))
        else:
            T.evaluate(_load(6, T.address_of(w[p, st * TILE_ROWS, 0, 0]), 2 * TILE_BYTES))
            T.evaluate(_load(7, T.address_of(w[p, st * TILE_ROWS, 1, 0]), 2 * TILE_BYTES))

    @T.macro
    def block(w, wt, xq, p, mb, acc):
        pair = T.min(mt - 2 * mb, 2)  # token tiles in this block: 2, or 1 at an odd end
        for c in T.unroll(4):
            T.evaluate(_tile("tilezero", T.int8(c)))
        for st in range(shape.steps):
            load_weights(w, wt, p, st)
            T.evaluate(_load(4, T.address_of(xq[mb * 2 * TILE_ROWS, st * TILE_K]), shape.kt))
            T.evaluate(_tile("tdpbssd", T.int8(0), T.int8(4), T.int8(6)))
            T.evaluate(_tile("tdpbssd", T.int8(1), T.int8(4), T.int8(7)))
            if pair == 2:
                T.evaluate(_load(5, T.address_of(xq[mb * 2 * TILE_ROWS + TILE_ROWS, st * TILE_K]), shape.kt))
                T.evaluate(_tile("tdpbssd", T.int8(2), T.int8(5), T.int8(6)))
                T.evaluate(_tile("tdpbssd", T.int8(3), T.int8(5), T.int8(7)))
        T.evaluate(_tile("tilestored64", T.int8(0), T.address_of(acc[0, 0]), stride))
        T.evaluate(_tile("tilestored64", T.int8(1), T.address_of(acc[0, half]), stride))
        T.evaluate(_tile("tilestored64", T.int8(2), T.address_of(acc[TILE_ROWS, 0]), stride))
        T.evaluate(_tile("tilestored64", T.int8(3), T.address_of(acc[TILE_ROWS, half]), stride))

    return block


@T.macro
def _rescale(acc, r, i, p, scale, wscale, bias, out):
    """out[i, panel p] = acc[r] * scale[i] * wscale + bias: the float expression of `quad_kernels.linear`."""
    for c in T.unroll(QUAD_PANEL // LANES):
        out[i, T.ramp(p * QUAD_PANEL + c * LANES, 1, LANES)] = (
            T.Cast(f"float32x{LANES}", acc[r, T.ramp(c * LANES, 1, LANES)]) * T.broadcast(scale[i], LANES)
            * wscale[T.ramp(p * QUAD_PANEL + c * LANES, 1, LANES)]
            + bias[T.ramp(p * QUAD_PANEL + c * LANES, 1, LANES)])


def linear(panels: QuadPanels | Int8Tiles, n: int | None, act_max: int) -> tirx.PrimFunc:
    """`quad_kernels.linear`'s PrimFunc(x[n, K] float32, w, wscale[rows_p], bias[rows_p], out[n, rows_p] float32)
    on AMX tiles: the same quantisation, exact int32 sums and rescale, so the same outputs bit for bit. `panels`:
    packed ternary/binary codes (decoded into tiles a 32-column panel at a time) or int8 codes already in the tile
    layout (`packing.Int8Tiles`, loaded straight into the tile registers)."""
    n = extent(n, "n")
    g = _Shape.of(panels)
    k, kq, kt, quads, rows, decoded = g.k, g.kq, g.kt, g.quads, g.rows, g.decoded
    mt = (n + TILE_ROWS - 1) // TILE_ROWS  # token tiles
    quantise = quantise_macro(k, act_max, LANES, "int8")
    decode = _decode_macro(g, panels.kind) if decoded else None
    configure, block = _configure_tiles_macro(), _block_macro(g, mt)

    @T.prim_func
    def lin(x: T.Buffer((n, k), "float32"), w: T.Buffer(g.wshape, g.wdtype),
            wscale: T.Buffer((rows,), "float32"), bias: T.Buffer((rows,), "float32"),
            out: T.Buffer((n, rows), "float32")):
        T.func_attr({"tir.noalias": True})
        granted = T.call_extern("int64", "syscall", T.int64(SYS_ARCH_PRCTL), T.int64(ARCH_REQ_XCOMP_PERM),
                                T.int64(XFEATURE_XTILEDATA))
        assert granted == T.int64(0), "hwgen AMX kernel: the OS refused AMX tile state (arch_prctl XTILEDATA)"
        xq = T.alloc_buffer((mt * TILE_ROWS, kt), "int8")
        scale = T.alloc_buffer((mt * TILE_ROWS,), "float32")
        peak = T.alloc_buffer((1, LANES), "float32")
        wt = T.alloc_buffer((kq if decoded else 1, 2, TILE_BYTES), "int8")
        acc = T.alloc_buffer((2 * TILE_ROWS, QUAD_PANEL), "int32")
        cfg = T.alloc_buffer((64,), "uint8")
        for i, j in T.grid(mt * TILE_ROWS - n, kt):  # padding tokens
            xq[n + i, j] = T.int8(0)
        for i, j in T.grid(n, kt - k):  # padding k
            xq[i, k + j] = T.int8(0)
        if decoded:
            for q, h, j in T.grid(kq - quads, 2, TILE_BYTES):  # k-quads beyond the panels' blocks
                wt[quads + q, h, j] = T.int8(0)
        for i in range(n):
            quantise(x, i, xq, i, scale, i, peak)
        configure(cfg)
        for p in range(g.panels):
            if decoded:
                decode(w, wt, p)
            for mb in range((mt + 1) // 2):
                block(w, wt, xq, p, mb, acc)
                for r in range(T.min(2 * TILE_ROWS, n - mb * 2 * TILE_ROWS)):
                    _rescale(acc, r, mb * 2 * TILE_ROWS + r, p, scale, wscale, bias, out)
        T.evaluate(_tile("tilerelease"))

    return lin
