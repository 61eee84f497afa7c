"""Weight panels: the memory layout the LSTM kernels read.

A weight matrix [rows, K] is cut into panels of `PANEL` consecutive rows and stored as
[rows/PANEL, K_words, PANEL]: for a fixed input index the PANEL row values sit next to
each other, so the kernel loads them as vectors and accumulates PANEL outputs at once
without any horizontal reduction. Ternary codes take 2 bits each (16 per int32 word:
00 = 0, 01 = +1, 11 = -1, so a shift left then an arithmetic shift right sign-extends a
code); binary codes 1 bit (0 = +1, 1 = -1, decoded as (sign-extended bit) | 1). Float
weights (and int8 codes) use the same panel order with one element per weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

#: Rows per panel: 4 AVX2 (or 8 NEON) float vectors, i.e. 4 independent accumulator chains.
PANEL = 32

WeightKind = Literal["float", "ternary", "binary", "int8"]
BITS = {"ternary": 2, "binary": 1}


@dataclass(frozen=True, eq=False)
class Panels:
    """One weight matrix in panel layout plus the per-row scale (1.0 for float weights)."""

    kind: WeightKind
    rows: int  # logical rows (4H)
    cols: int  # logical input size K
    data: np.ndarray  # [rows_padded/PANEL, words, PANEL], int32 (packed) or float32
    scale: np.ndarray  # [rows_padded] float32

    @property
    def rows_padded(self) -> int:
        return int(self.data.shape[0]) * PANEL

    @property
    def codes_per_word(self) -> int:
        return 32 // BITS[self.kind] if self.kind in BITS else 1

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


def padded_rows(rows: int) -> int:
    return -(-rows // PANEL) * PANEL


def _panel_order(matrix: np.ndarray) -> np.ndarray:
    """[rows_padded, words] -> [rows_padded/PANEL, words, PANEL]."""
    rows, words = matrix.shape
    return np.ascontiguousarray(matrix.reshape(rows // PANEL, PANEL, words).transpose(0, 2, 1))


def pack_float(weights: np.ndarray) -> Panels:
    rows, cols = weights.shape
    padded = np.zeros((padded_rows(rows), cols), np.float32)
    padded[:rows] = weights
    return Panels("float", rows, cols, _panel_order(padded), np.ones(padded_rows(rows), np.float32))


def pack_int8(codes: np.ndarray) -> Panels:
    """int8 codes (the multiplier baseline of the integer model) in panel order, one byte each."""
    rows, cols = codes.shape
    padded = np.zeros((padded_rows(rows), cols), np.int8)
    padded[:rows] = codes
    return Panels("int8", rows, cols, _panel_order(padded), np.ones(padded_rows(rows), np.float32))


def pack_codes(codes: np.ndarray, scale: np.ndarray, kind: WeightKind) -> Panels:
    """Pack integer codes [rows, K] ({-1,0,+1} or {-1,+1}) with per-row float scales."""
    rows, cols = codes.shape
    allowed = {-1, 1} if kind == "binary" else {-1, 0, 1}
    if not set(np.unique(codes).tolist()) <= allowed:
        raise ValueError(f"{kind} codes must lie in {sorted(allowed)}")
    bits = BITS[kind]
    per = 32 // bits
    words = -(-cols // per)
    padded = np.zeros((padded_rows(rows), words * per), np.int64)
    if kind == "binary":
        padded[:rows, :cols] = (codes < 0).astype(np.int64)  # pad columns see h = 0, so their +1 adds nothing
    else:
        padded[:rows, :cols] = codes.astype(np.int64) & 3
    fields = padded.reshape(padded.shape[0], words, per) << (bits * np.arange(per, dtype=np.int64))
    packed = fields.sum(axis=-1).astype(np.uint32).view(np.int32)
    full_scale = np.zeros(padded_rows(rows), np.float32)
    full_scale[:rows] = scale
    return Panels(kind, rows, cols, _panel_order(packed), full_scale)


def unpack_codes(panels: Panels) -> np.ndarray:
    """Inverse of `pack_codes` (codes only), for tests and debugging."""
    bits = BITS[panels.kind]
    per = 32 // bits
    words = panels.data.transpose(0, 2, 1).reshape(panels.rows_padded, -1).view(np.uint32).astype(np.int64)
    fields = (words[:, :, None] >> (bits * np.arange(per))) & ((1 << bits) - 1)
    fields = fields.reshape(panels.rows_padded, -1)[: panels.rows, : panels.cols]
    if panels.kind == "binary":
        return np.where(fields == 1, -1, 1).astype(np.int8)
    return np.where(fields == 3, -1, fields).astype(np.int8)


#: Rows per panel of the int8-activation layout (4 AVX2 vectors of 8 rows x 4 bytes).
QUAD_PANEL = 32
#: Activations per 32-bit group: one broadcast int32 feeds 4 int8 activations to every row.
QUAD = 4


@dataclass(frozen=True, eq=False)
class QuadPanels:
    """Ternary/binary codes in the int8-activation ("quad") layout, for u8 x s8 pair multiply-adds.

    Each code is stored as the unsigned offset u = w + 1 (ternary, 2 bits) or u = (w + 1) / 2
    (binary, 1 bit), so `sum_k w h_k = mul * sum_k u h_k - sum_k h_k` with mul 1 or 2 and one
    shared correction per step. data[panel, block, v, 4 * r + j] (uint8) holds, for row
    panel * 32 + 8 * v + r, the codes of k = block * 4 * per + 4 * s + j for s < per = 8 / bits at
    bits [bits * s, bits * s + bits): one 32-byte load serves 8 rows x 4 k x `per` sub-steps, and
    sub-step s is (load >> bits * s) & mask, a u8 vector ready for the multiply-add against
    4 broadcast int8 activations."""

    kind: WeightKind
    rows: int
    cols: int
    data: np.ndarray  # [rows_padded/32, blocks, 4, 32] uint8

    @property
    def bits(self) -> int:
        return BITS[self.kind]

    @property
    def per(self) -> int:
        """Sub-steps (codes) per byte."""
        return 8 // self.bits

    @property
    def block(self) -> int:
        """k values per block."""
        return QUAD * self.per

    @property
    def cols_padded(self) -> int:
        return int(self.data.shape[1]) * self.block

    @property
    def rows_padded(self) -> int:
        return int(self.data.shape[0]) * QUAD_PANEL

    @property
    def mul(self) -> int:
        """w = (mul * u - 1): the factor on sum u h."""
        return 1 if self.kind == "ternary" else 2

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


def pack_quads(codes: np.ndarray, kind: WeightKind) -> QuadPanels:
    """Pack ternary/binary codes [rows, K] into the int8-activation layout (rows padded to 32, K to a block)."""
    rows, cols = codes.shape
    allowed = {-1, 1} if kind == "binary" else {-1, 0, 1}
    if kind not in BITS or not set(np.unique(codes).tolist()) <= allowed:
        raise ValueError(f"{kind} codes must lie in {sorted(allowed)}")
    bits = BITS[kind]
    per = 8 // bits
    block = QUAD * per
    blocks = -(-cols // block)
    prow = -(-rows // QUAD_PANEL) * QUAD_PANEL
    u = np.zeros((prow, blocks * block), np.uint8)  # padding: h is 0 there, any code adds nothing
    u[:rows, :cols] = (codes + 1) // (1 if kind == "ternary" else 2)
    u = u.reshape(prow // QUAD_PANEL, 4, 8, blocks, per, QUAD)  # panel, v, r, block, s, j
    shifted = u.astype(np.uint16) << (bits * np.arange(per, dtype=np.uint16))[:, None]
    packed = shifted.sum(axis=4).astype(np.uint8)  # panel, v, r, block, j
    data = np.ascontiguousarray(packed.transpose(0, 3, 1, 2, 4).reshape(prow // QUAD_PANEL, blocks, 4, 8 * QUAD))
    return QuadPanels(kind, rows, cols, data)


def unpack_quads(panels: QuadPanels) -> np.ndarray:
    """Inverse of `pack_quads`, for tests."""
    bits, per = panels.bits, panels.per
    p, blocks = panels.data.shape[:2]
    d = panels.data.reshape(p, blocks, 4, 8, QUAD).transpose(0, 2, 3, 1, 4)  # panel, v, r, block, j
    u = (d[:, :, :, :, None, :] >> (bits * np.arange(per, dtype=np.uint8))[:, None]) & ((1 << bits) - 1)
    u = u.reshape(p * QUAD_PANEL, blocks * per * QUAD)[: panels.rows, : panels.cols].astype(np.int8)
    return (u - 1) if panels.kind == "ternary" else (2 * u - 1)


#: k values per AMX tile row group: an int8 tile row is 64 bytes, 16 columns x 4 consecutive k.
TILE_K = 64


@dataclass(frozen=True, eq=False)
class Int8Tiles:
    """int8 weight codes in the AMX weight-tile layout, for `amx_kernels`: data[panel, q, h, 4 * c + j] holds the code
    of row panel * 32 + 16 * h + c at k = 4 * q + j, so 16 consecutive q of one (panel, h) are one 16 x 64-byte tile
    (row stride 128 bytes); rows padded to 32, K to 64 with zero codes."""

    rows: int
    cols: int
    data: np.ndarray  # [rows_padded/32, K_padded/4, 2, 64] int8

    kind = "int8"

    @property
    def rows_padded(self) -> int:
        return int(self.data.shape[0]) * QUAD_PANEL

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


def pack_int8_tiles(codes: np.ndarray) -> Int8Tiles:
    """Pack int8 codes [rows, K] into the AMX weight-tile layout (rows padded to 32, K to 64)."""
    rows, cols = codes.shape
    prow, pcol = -(-rows // QUAD_PANEL) * QUAD_PANEL, -(-cols // TILE_K) * TILE_K
    w = np.zeros((prow, pcol), np.int8)
    w[:rows, :cols] = codes
    data = w.reshape(prow // QUAD_PANEL, 2, 16, pcol // QUAD, QUAD).transpose(0, 3, 1, 2, 4)  # panel, q, h, c, j
    return Int8Tiles(rows, cols, np.ascontiguousarray(data.reshape(prow // QUAD_PANEL, pcol // QUAD, 2, 16 * QUAD)))
