"""The GRU state update of one unit (linear_before_reset=1): a fixed 8-cycle program on two multipliers.

Rows arrive per unit in hardware order z, r, n. The z and r rows go through the row affine and
σ like an LSTM's gates (`value`, `tag` at the activation unit's output); their σ codes are kept
here. The n row skips the activation unit: the affine hands over its two partial sums at its
output (`n_valid`, `px` = mult_x·acc_x + bias, `ph` = mult_h·acc_h + reset_bias, `n_tag`), and
from that cycle b0 the unit computes (A = act.frac, `hwgen.model.gru`):

    g  = sat_G(((px << A) + σr·ph) >> (shift[layer] + A))      multiplier 1: σr × ph in two 16 × 16 parts
    n  = tanh(g)                                                through the activation unit's port B
    h' = (σz·h + (2**A - σz)·n + 2**(A-1)) >> A                multiplier 2: σz × h at b2, (2**A - σz) × n at b6

`h` is the unit's old hidden state from a copy kept here (as the LSTM update keeps c),
read at b0 (zero on a sequence's first step) and written with h at `h_we` (b8). Every multiplier
has registered inputs and a registered output, and σr × ph (act × sum bits, wider than the
iCE40's 16 × 16 SB_MAC16) is two products, of ph's low 15 bits and of its rest, whose sum takes
a cycle of its own; each sum and saturation has a register of its own. Units arrive 3·chunks >= 6
cycles apart, so px, σz, the old h and the tag are loaded once and held until the next unit's, not
carried down delay lines (the tag, read at b8, is copied at b5). σz is copied at b0 (the next
unit's z lands at b0 + chunks + 3 at the earliest); σr is taken at b0 from the activation unit's
output when it arrives in that cycle (rows 2 cycles long: the r row leaves the affine 2 cycles
before the n row, and σ takes 2), else from its register.

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
from hwgen.hw.pipeline import BLOCK_RAM, NO_RW_CHECK, carry_select_add, registered_read
from hwgen.hw.schedule import GRU_STATE_LATENCY
from hwgen.model.fixed import FixedFormat


#: Low bits of ph in multiplier 1's first part (unsigned, so 16 signed bits with the zero above them).
LOW = 15


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

        # σz and σr of the unit whose n row comes next; σr may arrive in b0 itself (rows 2 cycles long).
        sz, sr = Signal(signed(a), name="sz"), Signal(signed(a), name="sr")
        r_now = self.valid_in & (self.tag.gate == 1)
        with m.If(self.valid_in & (self.tag.gate == 0)):
            m.d.sync += sz.eq(self.value)
        with m.If(r_now):
            m.d.sync += sr.eq(self.value)

        # The kept copy of h: read at b0 (data at b1), written with h_we. A unit's copy is read only after the
        # previous step wrote it (the schedule's gaps): NO_RW_CHECK.
        depth = self.layers * self.hidden
        m.submodules.hmem = hmem = Memory(shape=signed(a), depth=depth, init=[], attrs={**NO_RW_CHECK, **BLOCK_RAM})
        h_wr = hmem.write_port()
        h_raddr, h_rdata = registered_read(m, hmem, "hmem")
        m.d.comb += h_raddr.eq(self.n_tag.layer * self.hidden + self.n_tag.unit)

        # Units are >= 6 cycles apart, so what a unit needs later is loaded once (b0, b1) and held until the next
        # unit's load, not carried along a delay line; only the tag, read at b8, takes a second stage (at b5).
        px, z, tag, first = Signal(signed(sb), name="px_h"), Signal(signed(a), name="z_h"), Signal(self.layout), Signal()
        with m.If(step[0]):
            m.d.sync += [px.eq(self.px), z.eq(sz), tag.eq(self.n_tag), first.eq(self.n_tag.first)]
        h = Signal(signed(a), name="h_old")
        with m.If(step[1]):
            m.d.sync += h.eq(Mux(first, 0, h_rdata))
        # b0 -> b1: multiplier 1's input registers: σr and ph in two parts, each a 16 × 16 SB_MAC16 on the iCE40
        # (ph's low LOW bits, zero-extended, and its signed rest); b1 -> b2: the two products, registered. A whole
        # act × sum_bits product would leave yosys's sum of its DSP pieces after the DSP's output register, in
        # series with the next adder (the critical path at 54.5 MHz on the UP5K).
        ph = Signal(signed(max(sb, LOW + 2)), name="ph_wide")  # sign-extended: a narrow ph still splits exactly
        m.d.comb += ph.eq(self.ph)
        m1a = Signal(signed(a), name="m1a")
        m1lo, m1hi = Signal(signed(LOW + 1), name="m1lo"), Signal(signed(len(ph) - LOW), name="m1hi")
        m.d.sync += [m1a.eq(Mux(r_now, self.value, sr)), m1lo.eq(Cat(ph[:LOW], Const(0, 1)).as_signed()),
                     m1hi.eq(ph[LOW:].as_signed())]
        plo, phi = Signal(signed(a + LOW + 1), name="plo"), Signal(signed(a + len(m1hi)), name="phi")
        m.d.sync += [plo.eq(m1a * m1lo), phi.eq(m1a * m1hi)]
        # b2 -> b3: (px << A) + σr·ph_lo; b3 -> b4: + σr·ph_hi << LOW; b4 -> b5: shifted by the layer's shift + A,
        # saturated: the candidate's gate code, to port B (tanh on tanh_out at b6).
        gw = sb + fa + 1
        part, phi3 = Signal(signed(gw), name="gpart"), Signal.like(phi, name="phi3")
        m.d.sync += [part.eq(carry_select_add(m, px << fa, plo, gw, "gpart")), phi3.eq(phi)]
        gsum = Signal(signed(gw), name="gsum")
        m.d.sync += gsum.eq(carry_select_add(m, part, phi3 << LOW, gw, "gsum"))
        g = Signal(signed(self.gate_fmt.bits), name="g")
        shifted = shift_by_layer(m, gsum, tag.layer, [s + fa for s in self.shifts], "gshift")
        m.d.sync += g.eq(saturate(m, shifted, self.gate_fmt.bits, "g_sat"))
        m.d.comb += self.tanh_value.eq(g)

        # Multiplier 2 (registered inputs and output), twice a unit: inputs at b2 (σz, h) give z·h + rnd, held from
        # b5; inputs at b6 (2**A - σz, tanh) give the rest at b8. The tanh goes straight from port B into the input
        # register, as in the LSTM update: no adder behind the table read.
        zc = Signal(signed(a + 1), name="zc")  # 2**A - σz, in 1 .. 2**A
        with m.If(step[1]):
            m.d.sync += zc.eq((1 << fa) - z)
        m2a, m2b = Signal(signed(a + 1), name="m2a"), Signal(signed(a), name="m2b")
        p2 = Signal(signed(2 * a + 1), name="p2")
        m.d.sync += [m2a.eq(Mux(step[2], z, zc)), m2b.eq(Mux(step[2], h, self.tanh_out)), p2.eq(m2a * m2b)]
        zh = Signal(signed(2 * a + 1), name="zh")
        with m.If(step[4]):
            m.d.sync += zh.eq(p2 + (1 << (fa - 1)))
        tag2 = Signal(self.layout, name="tag2")
        with m.If(step[5]):
            m.d.sync += tag2.eq(tag)
        # b8: h' = (σz·h + (2**A - σz)·n + rnd) >> A.
        total = Signal(signed(2 * a + 2), name="hsum")
        m.d.comb += total.eq(p2 + zh)
        h_new = Signal(signed(a), name="h_new")
        m.d.comb += h_new.eq(total >> fa)
        m.d.comb += [
            self.h_we.eq(step[n]), self.h_we_next.eq(step[n - 1]), self.h_value.eq(h_new), self.h_tag.eq(tag2),
            h_wr.en.eq(step[n]), h_wr.addr.eq(tag2.layer * self.hidden + tag2.unit), h_wr.data.eq(h_new),
        ]
        return m
