"""Row serialiser: a unit's four gate rows, summed side by side, into the shared row affine one after another.

With `gate_rows=4` (see `hwgen.hw.config.AccelConfig.gate_rows`) four accumulators finish a unit's
rows i, f, g, o in the same cycle; the row affine has one multiplier, which takes a row every
`ROW_SPACING` cycles. `valid_in` pulses with the accumulators' sums (which hold until the next
unit's sums, at least `UNIT_MIN_CYCLES` later); row q leaves `SERIAL_LATENCY + ROW_SPACING · q`
cycles later with its tag's gate set to q and its row to the unit's row + q (the controller
counts rows in steps of 4, so the low two bits are free).

Ports: `valid_in` in, 1; `acc_x`, `acc_h` in, rows × signed(acc_bits); `tag_in` in (the tag layout);
`valid_out` out, 1; `acc_x_out`, `acc_h_out` out, signed(acc_bits); `tag_out` out (the tag layout).
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.schedule import ROW_SPACING, SERIAL_LATENCY


class RowSerialiser(wiring.Component):
    latency = SERIAL_LATENCY

    def __init__(self, rows: int, acc_bits: int, layout: data.StructLayout) -> None:
        if rows != 4:
            raise ValueError(f"the row serialiser takes a unit's 4 gate rows, not {rows}")
        self.rows = rows
        super().__init__({
            "valid_in": In(1), "acc_x": In(signed(acc_bits)).array(rows), "acc_h": In(signed(acc_bits)).array(rows),
            "tag_in": In(layout), "valid_out": Out(1), "acc_x_out": Out(signed(acc_bits)),
            "acc_h_out": Out(signed(acc_bits)), "tag_out": Out(layout),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        span = ROW_SPACING * self.rows
        phase = Signal(range(span))  # cycles since the first row left; row phase // ROW_SPACING leaves at its multiples
        active = Signal()
        with m.If(self.valid_in):
            m.d.sync += [phase.eq(0), active.eq(1)]
        with m.Elif(active):
            m.d.sync += phase.eq(phase + 1)
            with m.If(phase == span - ROW_SPACING):
                m.d.sync += active.eq(0)
        q = phase[(ROW_SPACING - 1).bit_length():]
        m.d.comb += [
            self.valid_out.eq(active & (phase[:(ROW_SPACING - 1).bit_length()] == 0)),
            self.acc_x_out.eq(Array(self.acc_x)[q]), self.acc_h_out.eq(Array(self.acc_h)[q]),
            self.tag_out.eq(self.tag_in), self.tag_out.gate.eq(q), self.tag_out.row.eq(Cat(q, self.tag_in.row[2:])),
        ]
        return m
