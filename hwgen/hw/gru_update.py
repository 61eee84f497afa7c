"""The GRU state update of one unit (linear_before_reset=1): a fixed 8-cycle pipeline on two multipliers.

Rows arrive per unit in hardware order z, r, n. The z and r rows go through the row affine and
σ like an LSTM's gates (`value`, `tag` at the activation unit's output); their σ codes are kept
here. The n row skips the activation unit: the affine hands over its two partial sums at its
output (`n_valid`, `px` = mult_x·acc_x + bias, `ph` = mult_h·acc_h + reset_bias, `n_tag`), and
from that cycle b0 the unit computes (A = act.frac, `hwgen.model.gru`):

    g  = sat_G(((px << A) + σr·ph) >> (shift[layer] + A))      multiplier 1: σr × ph (act × sum bits)
    n  = tanh(g)                                                through the activation unit's port B
    h' = (σz·(h - n) + (n << A) + 2**(A-1)) >> A                multiplier 2: σz × (h - n) (act × act+1 bits)

The last line is the model's (z·h + (2**A - z)·n + rnd) >> A rearranged to one product (exact in
integers). `h` is the unit's old hidden state from a copy kept here (as the LSTM update keeps c),
read at b0 (zero on a sequence's first step) and written with h at `h_we` (b8). Every multiplier
has registered inputs and a registered output (SB_MAC16 is 16 × 16 on the iCE40: σr × ph spans
several; yosys splits it, the registers keep each piece's path short), and each sum and saturation
has a register of its own. The pipeline is unconditional, so it takes a new unit every cycle;
units arrive 3·chunks >= 6 cycles apart, σz is copied at b1 (the next unit's z lands at b0 + chunks
+ 3 at the earliest) and σr is read at b1 (it landed by then: the r row leaves the affine chunks >= 2
cycles before the n row, and σ takes 2).

Ports: `valid_in` in, 1; `value` in, signed(act_bits) (σ); `tag` in (`hwgen.hw.controller.tag_layout`);
`n_valid` in, 1; `px`, `ph` in, signed(sum_bits); `n_tag` in; `tanh_value` out, signed(gate_bits);
`tanh_out` in, signed(act_bits); `h_we` out, 1; `h_value` out, signed(act_bits); `h_tag` out;
`h_we_next` out, 1 (h_we of the next cycle).
"""

from __future__ import annotations

from typing import Sequence

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.affine import saturate, shift_by_layer
from hwgen.hw.pipeline import BLOCK_RAM, NO_RW_CHECK, carry_select_add, delay, registered_read
from hwgen.hw.schedule import GRU_STATE_LATENCY
from hwgen.model.fixed import FixedFormat


class GRUStateUpdate(wiring.Component):
    latency = GRU_STATE_LATENCY  # from the n row's partial sums (n_valid) to h_we

    def __init__(self, layout: data.StructLayout, layers: int, hidden: int, shifts: Sequence[int], act: FixedFormat,
                 gate: FixedFormat, sum_bits: int) -> None:
        self.layout, self.layers, self.hidden, self.shifts = layout, layers, hidden, list(shifts)
        self.act, self.gate_fmt, self.sum_bits = act, gate, sum_bits
        super().__init__({
            "valid_in": In(1), "value": In(signed(act.bits)), "tag": In(layout),
            "n_valid": In(1), "px": In(signed(sum_bits)), "ph": In(signed(sum_bits)), "n_tag": In(layout),
            "tanh_value": Out(signed(gate.bits)), "tanh_out": In(signed(act.bits)),
            "h_we": Out(1), "h_value": Out(signed(act.bits)), "h_tag": Out(layout), "h_we_next": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a, fa, sb = self.act.bits, self.act.frac, self.sum_bits
        n = self.latency
        step = [Signal(name=f"b{i}") for i in range(n + 1)]
        m.d.comb += step[0].eq(self.n_valid)
        m.d.sync += [step[i].eq(step[i - 1]) for i in range(1, n + 1)]

        # σz and σr of the unit whose n row comes next.
        sz, sr = Signal(signed(a), name="sz"), Signal(signed(a), name="sr")
        with m.If(self.valid_in & (self.tag.gate == 0)):
            m.d.sync += sz.eq(self.value)
        with m.If(self.valid_in & (self.tag.gate == 1)):
            m.d.sync += sr.eq(self.value)

        # The kept copy of h: read at b0 (data at b1), written with h_we. A unit's copy is read only after the
        # previous step wrote it (the schedule's gaps): NO_RW_CHECK.
        depth = self.layers * self.hidden
        m.submodules.hmem = hmem = Memory(shape=signed(a), depth=depth, init=[], attrs={**NO_RW_CHECK, **BLOCK_RAM})
        h_wr = hmem.write_port()
        h_raddr, h_rdata = registered_read(m, hmem, "hmem")
        m.d.comb += h_raddr.eq(self.n_tag.layer * self.hidden + self.n_tag.unit)

        # b0 -> b1: the partial sums and the tag enter the pipeline.
        px1, ph1 = Signal(signed(sb), name="px1"), Signal(signed(sb), name="ph1")
        tag1, first1 = Signal(self.layout, name="tag1"), Signal(name="first1")
        m.d.sync += [px1.eq(self.px), ph1.eq(self.ph), tag1.eq(self.n_tag), first1.eq(self.n_tag.first)]
        # b1 -> b2: multiplier 1's input registers (σr, ph); σz and the old h leave for the second stage.
        m1a, m1b = Signal(signed(a), name="m1a"), Signal(signed(sb), name="m1b")
        z2, h2 = Signal(signed(a), name="z2"), Signal(signed(a), name="h2")
        m.d.sync += [m1a.eq(sr), m1b.eq(ph1), z2.eq(sz), h2.eq(Mux(first1, 0, h_rdata))]
        px3 = delay(m, px1, 2, "px")  # b3
        tag5 = delay(m, tag1.as_value(), 4, "gtag")  # b5
        # b2 -> b3: the product σr·ph.
        p1 = Signal(signed(a + sb), name="p1")
        m.d.sync += p1.eq(m1a * m1b)
        # b3 -> b4: (px << A) + σr·ph.
        gw = sb + fa + 1
        gsum = Signal(signed(gw), name="gsum")
        m.d.sync += gsum.eq(carry_select_add(m, px3 << fa, p1, gw, "gsum"))
        # b4 -> b5: shift by the layer's shift + A, saturate: the candidate's gate code, to port B (tanh at b6).
        g = Signal(signed(self.gate_fmt.bits), name="g")
        shifted = shift_by_layer(m, gsum, delay(m, tag1.layer, 3, "glayer"), [s + fa for s in self.shifts], "gshift")
        m.d.sync += g.eq(saturate(m, shifted, self.gate_fmt.bits, "g_sat"))
        m.d.comb += self.tanh_value.eq(g)

        # b6 -> b7: multiplier 2's input registers (σz, h - n), n alongside; b7 -> b8: the product.
        z6, h6 = delay(m, z2, 4, "z"), delay(m, h2, 4, "h")
        m2a, m2b, n7 = Signal(signed(a), name="m2a"), Signal(signed(a + 1), name="m2b"), Signal(signed(a), name="n7")
        m.d.sync += [m2a.eq(z6), m2b.eq(h6 - self.tanh_out), n7.eq(self.tanh_out)]
        p2, n8 = Signal(signed(2 * a + 1), name="p2"), Signal(signed(a), name="n8")
        m.d.sync += [p2.eq(m2a * m2b), n8.eq(n7)]
        tag8 = self.layout(delay(m, tag5, 3, "htag"))
        # b8: h' = (σz·(h - n) + (n << A) + rnd) >> A; (n << A) + rnd is wiring (rnd < 2**A).
        total = Signal(signed(2 * a + 2), name="hsum")
        m.d.comb += total.eq(p2 + Cat(Const(1 << (fa - 1), fa), n8).as_signed())
        h_new = Signal(signed(a), name="h_new")
        m.d.comb += h_new.eq(total >> fa)
        m.d.comb += [
            self.h_we.eq(step[n]), self.h_we_next.eq(step[n - 1]), self.h_value.eq(h_new), self.h_tag.eq(tag8),
            h_wr.en.eq(step[n]), h_wr.addr.eq(tag8.layer * self.hidden + tag8.unit), h_wr.data.eq(h_new),
        ]
        return m
