"""The LSTM state update of one unit: a fixed 12-cycle program on two pipelined multipliers.

Gates arrive one per row, in hardware order i, f, g, o (activated by the shared
activation unit). When o arrives the unit computes, in order:
    c  = sat_C((σf·c + (σi·tanh g << (C.frac - A.frac)) + round) >> A.frac)
    cn = sat_G((cell_mult·c + cell_bias) >> cell_shift)       (BN on the cell)
    h  = (σo·tanh(cn) + round) >> A.frac                       (tanh through port B)
and writes c back and h out (`h_we`) 12 cycles after o arrived. Every multiplier has
registered inputs and a registered output, and every sum, saturation and table read has a
register of its own, so no path goes through more than one of them. The c multiplier (cell
width) does σf·c, σi·tanh g and cell_mult·c in cycles 0, 1 and 5 after o; the h multiplier
(act × act bits, small) does σo·tanh(cn). Rows arrive at least 2 cycles apart, so units are
at least 8 cycles apart: the c multiplier's uses never overlap the next unit's, and what the
last cycles need is copied into a second stage at cycle 8. The cell state of unit j is read
when its i gate arrives (zero on the first step of a sequence).

Ports: `valid_in` in, 1; `value` in, signed(act_bits); `tag` in (`hwgen.hw.controller.tag_layout`: layer, unit, gate, first step, ...);
`tanh_value` out, signed(gate_bits); `tanh_out` in, signed(act_bits);
`h_we` out, 1; `h_value` out, signed(act_bits); `h_tag` out; `h_we_next` out, 1 (h_we of the next cycle).
"""

from __future__ import annotations

from typing import Sequence

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.affine import saturate, shift_by_layer
from hwgen.hw.pipeline import BLOCK_RAM, NO_RW_CHECK, carry_select_add, registered_read
from hwgen.model.fixed import FixedFormat


class StateUpdate(wiring.Component):
    latency = 12  # from the o gate's arrival to h_we

    def __init__(self, layout: data.StructLayout, layers: int, hidden: int, cells: Sequence[tuple[int, int]],
                 shifts: Sequence[int], act: FixedFormat, gate: FixedFormat, cell: FixedFormat, mult_bits: int,
                 bias_bits: int) -> None:
        self.layers, self.hidden, self.cells, self.shifts = layers, hidden, list(cells), list(shifts)
        self.act, self.gate_fmt, self.cell_fmt, self.mult_bits, self.bias_bits = act, gate, cell, mult_bits, bias_bits
        self.layout = layout
        super().__init__({
            "valid_in": In(1), "value": In(signed(act.bits)), "tag": In(self.layout),
            "tanh_value": Out(signed(gate.bits)), "tanh_out": In(signed(act.bits)),
            "h_we": Out(1), "h_value": Out(signed(act.bits)), "h_tag": Out(self.layout), "h_we_next": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a, fh = self.act.bits, self.act.frac
        cb, mb, bb = self.cell_fmt.bits, self.mult_bits, self.bias_bits
        tag = self.tag
        c_wr, si, sf, tg, c_old, mc, bc = self._gates(m)

        # From o's arrival (cycle a0) a fixed program; `step[i]` is high in cycle ai. Multiplier 1 (registered
        # inputs and output: operands chosen in ai give the product in a(i+2)) is used at a0, a1 and a5; the next
        # unit's o arrives >= 8 cycles later. sf, si, tg and c_old are still valid when read (the next unit's
        # i/f/g overwrite them later); so, tag and c move to a second stage at a8 for the h product.
        width = max(cb, self.mult_bits, a)
        ma, mb_ = Signal(signed(width)), Signal(signed(width))
        ma_r, mb_r = Signal(signed(width)), Signal(signed(width))
        product = Signal(signed(2 * width))
        m.d.sync += [ma_r.eq(ma), mb_r.eq(mb_), product.eq(ma_r * mb_r)]
        n = self.latency
        step = [Signal(name=f"a{i}") for i in range(n + 1)]
        m.d.comb += step[0].eq(self.valid_in & (tag.gate == 3))
        m.d.sync += [step[i].eq(step[i - 1]) for i in range(1, n + 1)]
        so_h, mc_h, bc_h = Signal(signed(a)), Signal(signed(mb)), Signal(signed(bb))
        tag_h = Signal(self.layout)
        with m.If(step[0]):
            m.d.sync += [so_h.eq(self.value), mc_h.eq(mc), bc_h.eq(bc), tag_h.eq(tag)]
        p1 = Signal(signed(cb + a + 1))  # σf·c + the rounding constant
        c_new = Signal(signed(cb))
        cn = Signal(signed(self.gate_fmt.bits))
        # σi·tanh g fits 2a bits (act × act): the sum is as wide as the values, not the multiplier's output, and
        # the rounding constant rides in p1, so a two-operand carry-select adder is all that sits before mix_r.
        mix_sum = carry_select_add(m, p1, product[:2 * a].as_signed() << (self.cell_fmt.frac - fh),
                                   max(cb + a + 1, 2 * a + self.cell_fmt.frac - fh) + 1, "mix")
        mix_r = Signal(mix_sum.shape())
        mix = Signal(signed(cb + a + 2))
        m.d.comb += mix.eq(mix_r >> fh)
        cn_sum = carry_select_add(m, product, bc_h, max(2 * width, bb) + 1, "cn")
        cs_r = Signal(cn_sum.shape())
        shifted = shift_by_layer(m, cs_r, tag_h.layer, self.shifts, "shifted")
        with m.If(step[0]):
            m.d.comb += [ma.eq(sf), mb_.eq(c_old)]
        with m.Elif(step[1]):
            m.d.comb += [ma.eq(si), mb_.eq(tg)]
        with m.Else():  # used in a5 only (its product is read in a7); no zero arm: a 3-way select per bit
            m.d.comb += [ma.eq(mc_h), mb_.eq(c_new)]
        with m.If(step[2]):
            m.d.sync += p1.eq(product + (1 << (fh - 1)))  # σf·c + round
        with m.If(step[3]):
            m.d.sync += mix_r.eq(mix_sum)  # product = σi·tanh g
        with m.If(step[4]):
            m.d.sync += c_new.eq(saturate(m, mix, cb, "c_sat"))
        with m.If(step[7]):
            m.d.sync += cs_r.eq(cn_sum)  # product = cell_mult·c
        with m.If(step[8]):
            m.d.sync += cn.eq(saturate(m, shifted, self.gate_fmt.bits, "cn_sat"))
        m.d.comb += self.tanh_value.eq(cn)  # tanh(cn): read in a9, on tanh_out in a10
        self._h_stage(m, step, so_h, c_new, tag_h, c_wr)
        return m

    def _gates(self, m: Module) -> tuple:
        """The cell state and cell parameters of the unit (read at its i gate) and its i, f, g gates:
        (c write port, si, sf, tg, c_old, mc, bc)."""
        a = self.act.bits
        cb, mb, bb = self.cell_fmt.bits, self.mult_bits, self.bias_bits
        depth = self.layers * self.hidden
        # A unit's c is read (at its i gate) only after the previous step wrote it (the schedule's gaps): NO_RW_CHECK.
        # Block RAM: on the ECP5 yosys would otherwise build it from distributed RAM (16 DPR16X4 and a read
        # multiplexer at H=64: ~60 LCs); the iCE40 has no distributed RAM, so there it is a block either way.
        m.submodules.cmem = cmem = Memory(shape=signed(cb), depth=depth, init=[], attrs={**NO_RW_CHECK, **BLOCK_RAM})
        c_wr = cmem.write_port()
        c_raddr, c_rdata = registered_read(m, cmem, "cmem")
        words = [(mc & ((1 << mb) - 1)) | ((bc & ((1 << bb) - 1)) << mb) for mc, bc in self.cells]
        # Block RAM even when small: as logic, a 64-word ROM of 40-bit words is a deep multiplexer (the UP5K's
        # critical path at H=64).
        m.submodules.cparams = prom = Memory(shape=unsigned(mb + bb), depth=depth, init=words, attrs=BLOCK_RAM)
        p_rd = prom.read_port()

        tag = self.tag
        gate_is = [self.valid_in & (tag.gate == q) for q in range(3)]
        addr = Signal(range(max(depth, 2)))
        m.d.comb += addr.eq(tag.layer * self.hidden + tag.unit)
        m.d.comb += [c_raddr.eq(addr), p_rd.addr.eq(addr)]
        si, sf, tg = (Signal(signed(a), name=n) for n in ("si", "sf", "tg"))
        c_old = Signal(signed(cb))
        mc, bc = Signal(signed(mb)), Signal(signed(bb))
        got_i, first_i = Signal(), Signal()
        m.d.sync += [got_i.eq(gate_is[0]), first_i.eq(tag.first)]
        with m.If(gate_is[0]):
            m.d.sync += si.eq(self.value)
        with m.If(got_i):
            m.d.sync += [c_old.eq(c_rdata), mc.eq(p_rd.data[:mb].as_signed()),
                         bc.eq(p_rd.data[mb:].as_signed())]
            with m.If(first_i):
                m.d.sync += c_old.eq(0)
        with m.If(gate_is[1]):
            m.d.sync += sf.eq(self.value)
        with m.If(gate_is[2]):
            m.d.sync += tg.eq(self.value)
        return c_wr, si, sf, tg, c_old, mc, bc

    def _h_stage(self, m: Module, step: list, so_h: Signal, c_new: Signal, tag_h: Signal, c_wr) -> None:
        """Second stage: multiplier 2 (act × act) for h = σo·tanh(cn); c written back with h."""
        a, fh, n = self.act.bits, self.act.frac, self.latency
        so2, c2 = Signal(signed(a)), Signal(signed(self.cell_fmt.bits))
        tag2 = Signal(self.layout)
        with m.If(step[8]):
            m.d.sync += [so2.eq(so_h), c2.eq(c_new), tag2.eq(tag_h)]
        x2, y2 = Signal(signed(a)), Signal(signed(a))
        product2 = Signal(signed(2 * a))
        m.d.sync += [x2.eq(so2), y2.eq(self.tanh_out), product2.eq(x2 * y2)]  # inputs at a10, product in a12
        m.d.comb += [
            self.h_we.eq(step[n]), self.h_we_next.eq(step[n - 1]), self.h_value.eq((product2 + (1 << (fh - 1))) >> fh), self.h_tag.eq(tag2),
            c_wr.en.eq(step[n]), c_wr.addr.eq(tag2.layer * self.hidden + tag2.unit), c_wr.data.eq(c2),
        ]
