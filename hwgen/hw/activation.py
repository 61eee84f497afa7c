"""The shared activation unit: σ and tanh tables in one ROM, and tanh alone in a second.

The ROM image is `concat(sigmoid.values, tanh.values)`, the very arrays of the
`ActivationTable`s the integer model uses. Address = (table select, top `index_bits`
bits of the gate code with the sign bit flipped), i.e. `(g >> index_shift) - index_min`.
Port A serves the gate pre-activations (tanh for the cell-candidate gate, σ otherwise),
port B (a ROM of the tanh half only) the state unit's tanh of the cell state. Latency 1
(synchronous ROM read).

Ports (A and B alike): `a_value` in, signed(gate_bits); `a_tanh` in, 1; `a_out` out,
signed(act_bits); `b_value`, `b_out` (always tanh).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.passes.fixed import ActivationTable


def table_image(sigmoid: ActivationTable, tanh: ActivationTable) -> list[int]:
    """ROM words (act-bit two's complement), sigmoid first then tanh."""
    bits = sigmoid.out_format.bits
    return [int(v) & ((1 << bits) - 1) for v in list(sigmoid.values) + list(tanh.values)]


class ActivationUnit(wiring.Component):
    latency = 1

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

    def _addr(self, value: object, is_tanh: object) -> object:
        t = self.sigmoid
        idx = value[t.index_shift:]  # type: ignore[index]
        return Cat(idx[:-1], ~idx[-1], is_tanh)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a = self.sigmoid.out_format.bits
        m.submodules.rom = rom = Memory(shape=unsigned(a), depth=2 << self.sigmoid.index_bits,
                                        init=table_image(self.sigmoid, self.tanh))
        # Port B reads only tanh: its own ROM holds only the tanh half (a block RAM has one read port, so a
        # second port is a second copy anyway; half the copy is half the blocks).
        tanh_half = table_image(self.sigmoid, self.tanh)[1 << self.sigmoid.index_bits:]
        m.submodules.tanh_rom = tanh_rom = Memory(shape=unsigned(a), depth=1 << self.sigmoid.index_bits, init=tanh_half)
        pa, pb = rom.read_port(), tanh_rom.read_port()
        b_addr = self._addr(self.b_value, Const(1, 1))
        m.d.comb += [pa.addr.eq(self._addr(self.a_value, self.a_tanh)), self.a_out.eq(pa.data.as_signed()),
                     pb.addr.eq(b_addr[:-1]), self.b_out.eq(pb.data.as_signed())]
        return m
