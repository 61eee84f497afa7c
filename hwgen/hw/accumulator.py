"""Row accumulator: sums a row's chunk totals into its input part and its recurrent part.

A row arrives as chunks (one adder-tree sum per cycle): first the input-vector chunks,
then the hidden-state chunks. `first` marks the row's first chunk, `is_h` a hidden
chunk, `first_h` the first hidden chunk, `last` the row's last chunk (always a hidden
one); one cycle after `last`, `acc_x`/`acc_h` hold the row's sums and `valid_out` pulses,
with the row's `tag`.

Ports: `valid_in`, `first`, `is_h`, `first_h`, `last` in, 1 (`is_h` is implied by `first_h`, unused);
`value` in, signed(in_width); `tag_in` in; `acc_x`, `acc_h` out, signed(acc_bits); `valid_out` out, 1; `tag_out` out.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class Accumulator(wiring.Component):
    latency = 1

    def __init__(self, in_width: int, acc_bits: int, tag_bits: int) -> None:
        self.acc_bits = acc_bits
        super().__init__({
            "valid_in": In(1), "first": In(1), "is_h": In(1), "first_h": In(1), "last": In(1),
            "value": In(signed(in_width)), "tag_in": In(unsigned(tag_bits)),
            "acc_x": Out(signed(acc_bits)), "acc_h": Out(signed(acc_bits)),
            "valid_out": Out(1), "tag_out": Out(unsigned(tag_bits)),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        # One running sum and one adder for both parts: the input part ends where the hidden part begins, so the
        # input total is copied out at `first_h`. acc_x then holds it from first_h + 1 on; the next row's first_h
        # is at least two cycles after this row's `last` (it has input chunks first), so acc_x is still this row's
        # in the cycle valid_out is high.
        s = Signal(signed(self.acc_bits))
        total = Signal(signed(self.acc_bits))
        m.d.comb += total.eq(Mux(self.first | self.first_h, 0, s) + self.value)
        m.d.sync += self.valid_out.eq(self.valid_in & self.last)
        with m.If(self.valid_in):
            m.d.sync += s.eq(total)
            with m.If(self.first_h):
                m.d.sync += self.acc_x.eq(s)
            with m.If(self.last):
                m.d.sync += [self.acc_h.eq(total), self.tag_out.eq(self.tag_in)]
        return m
