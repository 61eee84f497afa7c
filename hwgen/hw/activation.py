"""The shared activation unit: σ and tanh in one ROM without their saturated ends, tanh alone in a second.

A table's entries are constant below some index `lo` and above some `hi` (σ and tanh
saturate): port A's ROM holds only `values[lo..hi]` of σ, then of tanh, and the address
clamps the table index into that window — the same values as the full tables of the
`ActivationTable`s the integer model uses, in half the words (on an iCE40 UP5K at 9 index
bits: one 512 × 8 EBR instead of two). Table index = `(g >> index_shift) - index_min`,
i.e. the top `index_bits` bits of the gate code with the sign bit flipped.
Port A serves the gate pre-activations (tanh for the cell-candidate gate, σ otherwise):
latency 2 (the clamped address is registered, then the synchronous ROM read). Port B
(the state unit's tanh of the cell state) reads the whole tanh table: latency 1.

Ports: `a_value` in, signed(gate_bits); `a_tanh` in, 1; `a_out` out, signed(act_bits);
`b_value` in, signed(gate_bits); `b_out` out, signed(act_bits) (always tanh).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.passes.fixed import ActivationTable


def table_image(sigmoid: ActivationTable, tanh: ActivationTable) -> list[int]:
    """The whole tables as ROM words (act-bit two's complement), sigmoid first then tanh."""
    bits = sigmoid.out_format.bits
    return [int(v) & ((1 << bits) - 1) for v in list(sigmoid.values) + list(tanh.values)]


@dataclass(frozen=True)
class TableWindow:
    """Table indices `lo..hi` outside which the table is constant (values[lo] below, values[hi] above)."""

    lo: int
    hi: int

    @staticmethod
    def of(values: np.ndarray) -> "TableWindow":
        v = np.asarray(values)
        lo = int(np.argmax(v != v[0])) - 1 if np.any(v != v[0]) else 0
        hi = len(v) - int(np.argmax(v[::-1] != v[-1])) if np.any(v != v[-1]) else 0
        return TableWindow(max(lo, 0), max(hi, lo, 0))

    @property
    def size(self) -> int:
        return self.hi - self.lo + 1


def windowed_image(sigmoid: ActivationTable, tanh: ActivationTable) -> tuple[list[int], TableWindow, TableWindow]:
    """Port A's ROM: the σ window then the tanh window (act-bit two's complement), and the two windows."""
    bits = sigmoid.out_format.bits
    ws, wt = TableWindow.of(sigmoid.values), TableWindow.of(tanh.values)
    words = list(sigmoid.values[ws.lo:ws.hi + 1]) + list(tanh.values[wt.lo:wt.hi + 1])
    return [int(v) & ((1 << bits) - 1) for v in words], ws, wt


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

    def _index(self, value: object) -> object:
        """The unsigned table index of a gate code: its top bits, sign flipped."""
        idx = value[self.sigmoid.index_shift:]  # type: ignore[index]
        return Cat(idx[:-1], ~idx[-1])

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a = self.sigmoid.out_format.bits
        image, ws, wt = windowed_image(self.sigmoid, self.tanh)
        m.submodules.rom = rom = Memory(shape=unsigned(a), depth=len(image), init=image)
        # Port B reads only tanh: its own ROM (a block RAM has one read port, so a second port is a second copy).
        m.submodules.tanh_rom = tanh_rom = Memory(shape=unsigned(a), depth=1 << self.sigmoid.index_bits,
                                                  init=table_image(self.sigmoid, self.tanh)[1 << self.sigmoid.index_bits:])
        pa, pb = rom.read_port(), tanh_rom.read_port()

        u = self._index(self.a_value)
        addr = Signal.like(pa.addr)

        def clamped(w: TableWindow, base: int) -> object:
            inside = (u + (base - w.lo))[:len(addr)]  # modular: exact for lo <= u <= hi
            return Mux(u < w.lo, base, Mux(u > w.hi, base + w.size - 1, inside))

        m.d.sync += addr.eq(Mux(self.a_tanh, clamped(wt, ws.size), clamped(ws, 0)))
        m.d.comb += [pa.addr.eq(addr), self.a_out.eq(pa.data.as_signed()),
                     pb.addr.eq(self._index(self.b_value)), self.b_out.eq(pb.data.as_signed())]
        return m
