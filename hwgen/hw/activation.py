"""The shared activation unit: σ and tanh from their k >= 0 halves, both in one ROM, tanh alone in a second.

The integer model's tables (`ActivationTable`) are indexed by the top `index_bits` bits of
the gate code, k = g >> index_shift, and sample the function at bin centres, which are
symmetric about 0: values[~k] = K - H[k] for k >= 0 (~k = -1-k), where H is the table's
k >= 0 half before clipping to the output format and K = 1.0 for σ (σ(-x) = 1 - σ(x)),
0 for tanh. So the ROMs hold only H (unsigned, 0 .. 2**(act_bits-1), the unclipped 1.0
included), one word per sample (a σ sample spans 2**sample_shift entries), up to the
first saturated word. A read folds the index (k XOR its sign: |k| or -1-k), drops the
sample bits, clamps into the stored half, and gives K - H for k < 0 and min(H, max) for
k >= 0: exactly the model's values. Each half is padded with its saturated word to a
power of two, 2**d words, so the clamp is an OR of the index's top bits and the halves sit
side by side (σ at 0, tanh at 2**d): the address is wiring and one LUT level, with no adder
or comparator. At the default formats (σ every 1/32, tanh every 1/64 of the ±8 gate range:
178 and 165 words) port A's ROM is 2 × 256 words: one 512 × 8 EBR on an iCE40, as the
512-entry tables took with only their constant ends dropped, at twice the tanh resolution.
Port A serves the gate pre-activations (tanh for the cell-candidate gate, σ otherwise):
latency 2 (the folded, clamped address is registered, then the synchronous ROM read and
the sign fix-up). Port B (the state unit's tanh of the cell state) reads a tanh-only copy
the same way: latency 1.

Ports: `a_value` in, signed(gate_bits); `a_tanh` in, 1; `a_out` out, signed(act_bits);
`b_value` in, signed(gate_bits); `b_out` out, signed(act_bits) (always tanh).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.errors import HwgenError
from hwgen.hw.pipeline import BLOCK_RAM
from hwgen.model.fixed import ActivationTable


def table_image(sigmoid: ActivationTable, tanh: ActivationTable) -> list[int]:
    """The whole tables as words (act-bit two's complement), sigmoid first then tanh (the model's view)."""
    bits = sigmoid.out_format.bits
    return [int(v) & ((1 << bits) - 1) for v in list(sigmoid.values) + list(tanh.values)]


@dataclass(frozen=True, eq=False)
class TableHalf:
    """A table's stored k >= 0 half: `words[j]` = H at sample j (j = |k| >> sample_shift), up to `hi`
    (the first saturated sample; every later sample equals it), and the mirror constant `mirror` (K)."""

    words: tuple[int, ...]
    sample_shift: int
    mirror: int

    @property
    def hi(self) -> int:
        return len(self.words) - 1

    @property
    def depth_bits(self) -> int:
        """log2 of the padded size: the smallest power of two that holds words[0..hi]."""
        return max(1, self.hi.bit_length())

    def padded(self, depth_bits: int) -> list[int]:
        """The words, then the saturated word up to 2**depth_bits (>= the half's own depth)."""
        return list(self.words) + [self.words[-1]] * ((1 << depth_bits) - len(self.words))

    @staticmethod
    def of(table: ActivationTable) -> "TableHalf":
        """The half of `table`, checked to reproduce every entry of it (else HwgenError)."""
        v = np.asarray(table.values, np.int64)
        out = table.out_format
        mirror = {"sigmoid": 1 << out.frac, "tanh": 0}[table.name]
        q = table.sample_shift
        half = len(v) // 2  # entry of k = 0
        h = mirror - v[:half][::-1]  # H[k] from values[~k]: the k < 0 half, which is never clipped
        samples = h[::1 << q]
        hi = len(samples) - int(np.argmax(samples[::-1] != samples[-1])) if np.any(samples != samples[-1]) else 0
        result = TableHalf(tuple(int(x) for x in samples[:hi + 1]), q, mirror)
        rebuilt = result.read(np.arange(len(v)) - half, out.max)
        if not np.array_equal(rebuilt, v) or samples.min() < 0 or samples.max() > 1 << out.frac:
            raise HwgenError(f"{table.name} table is not point-symmetric about 0 (values[~k] = {mirror} - values[k]) "
                             f"with one value per {1 << q} entries: the activation unit stores only its k >= 0 half; "
                             f"build it with ActivationTable.build")
        return result

    def read(self, k: np.ndarray, out_max: int) -> np.ndarray:
        """The table entries of signed indices k, as the hardware computes them from the stored half."""
        k = np.asarray(k, np.int64)
        j = np.minimum(np.where(k < 0, ~k, k) >> self.sample_shift, self.hi)
        h = np.asarray(self.words, np.int64)[j]
        return np.where(k < 0, self.mirror - h, np.minimum(h, out_max))


def port_a_depth_bits(hs: TableHalf, ht: TableHalf) -> int:
    """log2 of each half's slot in port A's ROM: the larger half's power of two (tanh's half starts there)."""
    return max(hs.depth_bits, ht.depth_bits)


def rom_image(sigmoid: ActivationTable, tanh: ActivationTable) -> tuple[list[int], TableHalf, TableHalf]:
    """Port A's ROM words: the σ half then the tanh half (unsigned act-bit words), each padded to
    `port_a_depth_bits`, and the two halves."""
    hs, ht = TableHalf.of(sigmoid), TableHalf.of(tanh)
    d = port_a_depth_bits(hs, ht)
    return hs.padded(d) + ht.padded(d), hs, ht


class ActivationUnit(wiring.Component):
    latency = 2  # port A; port B: 1

    def __init__(self, sigmoid: ActivationTable, tanh: ActivationTable) -> None:
        if sigmoid.index_shift != tanh.index_shift or sigmoid.index_bits != tanh.index_bits:
            raise ValueError("sigmoid and tanh tables must share their index format")
        self.sigmoid, self.tanh = sigmoid, tanh
        g = sigmoid.in_format.bits
        a = sigmoid.out_format.bits
        super().__init__({
            "a_value": In(signed(g)), "a_tanh": In(1), "a_out": Out(signed(a)),
            "b_value": In(signed(g)), "b_out": Out(signed(a)),
        })

    def _fold(self, value: object) -> tuple[object, object]:
        """(|k| or -1-k, sign of k) of the table index k = the gate code's top index_bits bits."""
        k = value[self.sigmoid.index_shift:]  # type: ignore[index]
        sign = k[-1]
        return k[:-1] ^ sign.replicate(len(k) - 1), sign

    @staticmethod
    def _clamped(fold: object, half: TableHalf, depth_bits: int) -> object:
        """The sample index j = fold >> sample_shift, as a depth_bits address; past the padded half: its last word."""
        j = fold[half.sample_shift:]  # type: ignore[index]
        if len(j) <= depth_bits:
            return j
        return j[:depth_bits] | j[depth_bits:].any().replicate(depth_bits)

    def _unfold(self, data: object, sign: object, mirror: object) -> object:
        """K - H for k < 0, min(H, max) for k >= 0."""
        out = self.sigmoid.out_format
        return Mux(sign, mirror - data, Mux(data > out.max, out.max, data))  # type: ignore[operator]

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a = self.sigmoid.out_format.bits
        image, hs, ht = rom_image(self.sigmoid, self.tanh)
        d = port_a_depth_bits(hs, ht)
        m.submodules.rom = rom = Memory(shape=unsigned(a), depth=len(image), init=image)
        # Port B reads only tanh: its own ROM (a block RAM has one read port, so a second port is a second copy),
        # a block RAM also on the ECP5, where yosys would otherwise build its 256 words from ~150 LUTs.
        m.submodules.tanh_rom = tanh_rom = Memory(shape=unsigned(a), depth=1 << ht.depth_bits,
                                                  init=ht.padded(ht.depth_bits), attrs=BLOCK_RAM)
        pa, pb = rom.read_port(), tanh_rom.read_port()

        # Port A: address = (a_tanh, clamped sample index), registered with the sign; then the read.
        fold, sign = self._fold(self.a_value)
        addr = Signal.like(pa.addr)
        sign1, tanh1, a_sign, a_tanh = Signal(), Signal(), Signal(), Signal()  # along the address, then the read
        m.d.sync += [addr.eq(Cat(Mux(self.a_tanh, self._clamped(fold, ht, d), self._clamped(fold, hs, d)), self.a_tanh)),
                     sign1.eq(sign), tanh1.eq(self.a_tanh), a_sign.eq(sign1), a_tanh.eq(tanh1)]
        mirror = Mux(a_tanh, Const(ht.mirror, signed(a + 1)), Const(hs.mirror, signed(a + 1)))
        m.d.comb += [pa.addr.eq(addr), self.a_out.eq(self._unfold(pa.data, a_sign, mirror))]

        # Port B: the same fold and clamp into the tanh-only ROM.
        fold_b, sign_b = self._fold(self.b_value)
        b_sign = Signal()
        m.d.comb += pb.addr.eq(self._clamped(fold_b, ht, ht.depth_bits))
        m.d.sync += b_sign.eq(sign_b)
        m.d.comb += self.b_out.eq(self._unfold(pb.data, b_sign, Const(ht.mirror, signed(a + 1))))
        return m
