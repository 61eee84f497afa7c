"""Row accumulator: sums a row's chunk totals into its input part and its recurrent part.

A row arrives as chunks (one adder-tree sum per cycle): first the input-vector chunks,
then the hidden-state chunks. `first` marks the row's first chunk, `is_h` a hidden
chunk, `first_h` the first hidden chunk, `last` the row's last chunk (always a hidden
one); one cycle after `last`, `acc_x`/`acc_h` hold the row's sums and `valid_out` pulses,
with the row's `tag`. `sum_x`, `sum_h` are the same sums unregistered, in the cycle of `last` (for a
consumer that registers them itself: the row serialiser; unused, they cost nothing).

Ports: `valid_in`, `first`, `is_h`, `first_h`, `last` in, 1; `value` in, signed(in_width);
`tag_in` in; `acc_x`, `acc_h` out, signed(acc_bits); `valid_out` out, 1; `tag_out` out;
`sum_x`, `sum_h` out, signed(acc_bits).
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
            "sum_x": Out(signed(acc_bits)), "sum_h": Out(signed(acc_bits)),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        # No reset: a row's first chunk (and its first h chunk) starts each sum from 0.
        ax = Signal(signed(self.acc_bits), reset_less=True)
        ah = Signal(signed(self.acc_bits), reset_less=True)
        next_x = Signal(signed(self.acc_bits))
        next_h = Signal(signed(self.acc_bits))
        m.d.comb += [next_x.eq(Mux(self.first, 0, ax) + self.value), next_h.eq(Mux(self.first_h, 0, ah) + self.value)]
        m.d.comb += [self.sum_x.eq(ax), self.sum_h.eq(next_h)]
        m.d.sync += self.valid_out.eq(self.valid_in & self.last)
        with m.If(self.valid_in):
            with m.If(self.is_h):
                m.d.sync += ah.eq(next_h)
            with m.Else():
                m.d.sync += ax.eq(next_x)
            with m.If(self.last):
                m.d.sync += [self.acc_x.eq(ax), self.acc_h.eq(next_h), self.tag_out.eq(self.tag_in)]
        return m
