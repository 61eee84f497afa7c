"""Row serialiser: a word's gate rows, summed side by side, into the shared row affine one after another.

With `gate_rows` R = 4 or 2 (see `hwgen.hw.config.AccelConfig.gate_rows`) R accumulators finish R rows of
a unit in the same cycle (R = 4: i, f, g, o; R = 2: i, f, then g, o); the row affine has one multiplier,
which takes a row every `ROW_SPACING` cycles. In the cycle `load` is high (the word's last chunk enters the
accumulators) the R running sums (`acc_x`, `acc_h`: the accumulators' `sum_x`, `sum_h`) enter a shift
chain, which is what replaces the accumulators' own output registers; row q leaves `1 + ROW_SPACING · q`
cycles later (the accumulator's latency, then `SERIAL_LATENCY`), with `tag_in` (the accumulators'
registered tag) and its gate and row numbers + q (the controller counts both in steps of R, so their
low log2(R) bits are free). Loads are at least `ROW_SPACING · R` cycles apart (a unit takes at least
`UNIT_MIN_CYCLES`), so the chain is empty again before the next load. The chain has no reset:
`valid_out` alone says when it holds a row.

Ports: `load` in, 1; `acc_x`, `acc_h` in, rows × signed(acc_bits); `tag_in` in (the tag layout);
`valid_out` out, 1; `acc_x_out`, `acc_h_out` out, signed(acc_bits); `tag_out` out (the tag layout).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.schedule import ROW_SPACING, SERIAL_LATENCY


class RowSerialiser(wiring.Component):
    latency = SERIAL_LATENCY

    def __init__(self, rows: int, acc_bits: int, layout: data.StructLayout) -> None:
        if rows not in (2, 4) or ROW_SPACING != 2 or SERIAL_LATENCY != 0:
            raise ValueError(f"the row serialiser takes a word's 2 or 4 gate rows 2 cycles apart, not {rows}")
        self.rows, self.acc_bits = rows, acc_bits
        super().__init__({
            "load": In(1), "acc_x": In(signed(acc_bits)).array(rows), "acc_h": In(signed(acc_bits)).array(rows),
            "tag_in": In(layout), "valid_out": Out(1), "acc_x_out": Out(signed(acc_bits)),
            "acc_h_out": Out(signed(acc_bits)), "tag_out": Out(layout),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        span = ROW_SPACING * self.rows
        phase = Signal(range(span))  # cycles since row 0 appeared: rows appear at even phases, the chain shifts at odd
        active = Signal()
        with m.If(self.load):
            m.d.sync += [phase.eq(0), active.eq(1)]
        with m.Elif(active):
            m.d.sync += phase.eq(phase + 1)
            with m.If(phase == span - ROW_SPACING):
                m.d.sync += active.eq(0)
        shift = active & phase[0]
        for name, sums, out in (("x", self.acc_x, self.acc_x_out), ("h", self.acc_h, self.acc_h_out)):
            chain = [Signal(signed(self.acc_bits), name=f"chain_{name}{q}", reset_less=True) for q in range(self.rows)]
            for q, reg in enumerate(chain):
                with m.If(self.load):
                    m.d.sync += reg.eq(sums[q])
                if q + 1 < self.rows:
                    with m.Elif(shift):
                        m.d.sync += reg.eq(chain[q + 1])
            m.d.comb += out.eq(chain[0])
        q = phase[1:]  # log2(rows) bits
        k = len(q)
        m.d.comb += [
            self.valid_out.eq(active & ~phase[0]),
            self.tag_out.eq(self.tag_in), self.tag_out.gate.eq(Cat(q, self.tag_in.gate[k:])),
            self.tag_out.row.eq(Cat(q, self.tag_in.row[k:])),
        ]
        return m
