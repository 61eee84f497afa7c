"""The LSTM state update of one unit, fully pipelined, on four small multipliers.

Gates arrive one per row, in hardware order i, f, g, o (activated by the shared
activation unit). When o arrives the unit runs, one stage per cycle:
    c  = sat_C((σf·c + (σi·tanh g << (C.frac - A.frac)) + round) >> A.frac)
    cn = sat_G((cell_mult·c + cell_bias) >> cell_shift)       (BN on the cell)
    h  = (σo·tanh(cn) + round) >> A.frac                       (tanh through port B)
and writes c back and h out (`h_we`) 6 cycles after o arrived. The cell state of unit j
is read when its i gate arrives (zero on the first step of a sequence).

Ports: `valid_in` in, 1; `value` in, signed(act_bits); `tag` in (`hwgen.hw.controller.tag_layout`: layer, unit, gate, first step, ...);
`tanh_value` out, signed(gate_bits); `tanh_out` in, signed(act_bits);
`h_we` out, 1; `h_value` out, signed(act_bits); `h_tag` out.
"""

from __future__ import annotations

from typing import Sequence

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.affine import saturate
from hwgen.passes.fixed import FixedFormat


class StateUpdate(wiring.Component):
    latency = 6  # from the o gate's arrival to h_we

    def __init__(self, layout: data.StructLayout, layers: int, hidden: int, cells: Sequence[tuple[int, int]],
                 shifts: Sequence[int], act: FixedFormat, gate: FixedFormat, cell: FixedFormat, mult_bits: int,
                 bias_bits: int) -> None:
        self.layers, self.hidden, self.cells, self.shifts = layers, hidden, list(cells), list(shifts)
        self.act, self.gate_fmt, self.cell_fmt, self.mult_bits, self.bias_bits = act, gate, cell, mult_bits, bias_bits
        self.layout = layout
        super().__init__({
            "valid_in": In(1), "value": In(signed(act.bits)), "tag": In(self.layout),
            "tanh_value": Out(signed(gate.bits)), "tanh_out": In(signed(act.bits)),
            "h_we": Out(1), "h_value": Out(signed(act.bits)), "h_tag": Out(self.layout),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a, fh = self.act.bits, self.act.frac
        cb, mb, bb = self.cell_fmt.bits, self.mult_bits, self.bias_bits
        depth = self.layers * self.hidden
        m.submodules.cmem = cmem = Memory(shape=signed(cb), depth=depth, init=[])
        c_rd, c_wr = cmem.read_port(), cmem.write_port()
        words = [(mc & ((1 << mb) - 1)) | ((bc & ((1 << bb) - 1)) << mb) for mc, bc in self.cells]
        m.submodules.cparams = prom = Memory(shape=unsigned(mb + bb), depth=depth, init=words)
        p_rd = prom.read_port()

        tag = self.tag
        gate_is = [self.valid_in & (tag.gate == q) for q in range(4)]
        addr = Signal(range(max(depth, 2)))
        m.d.comb += addr.eq(tag.layer * self.hidden + tag.unit)
        m.d.comb += [c_rd.addr.eq(addr), p_rd.addr.eq(addr)]
        si, sf, tg = (Signal(signed(a), name=n) for n in ("si", "sf", "tg"))
        c_old = Signal(signed(cb))
        mc, bc = Signal(signed(mb)), Signal(signed(bb))
        got_i, first_i = Signal(), Signal()
        m.d.sync += [got_i.eq(gate_is[0]), first_i.eq(tag.first)]
        with m.If(gate_is[0]):
            m.d.sync += si.eq(self.value)
        with m.If(got_i):
            m.d.sync += [c_old.eq(c_rd.data), mc.eq(p_rd.data[:mb].as_signed()),
                         bc.eq(p_rd.data[mb:].as_signed())]
            with m.If(first_i):
                m.d.sync += c_old.eq(0)
        with m.If(gate_is[1]):
            m.d.sync += sf.eq(self.value)
        with m.If(gate_is[2]):
            m.d.sync += tg.eq(self.value)

        def stage(n: int, **fields: object) -> dict[str, Signal]:
            regs = {}
            for name, value in fields.items():
                shape = value.shape() if hasattr(value, "shape") else None  # type: ignore[union-attr]
                reg = Signal(shape, name=f"s{n}_{name}") if not isinstance(value, data.View) else Signal(self.layout, name=f"s{n}_{name}")
                m.d.sync += reg.eq(value)
                regs[name] = reg
            return regs

        s1 = stage(1, v=gate_is[3], p1=sf * c_old, p2=si * tg, so=self.value, mc=mc, bc=bc, tag=tag)
        mix = Signal(signed(cb + a + 2))
        m.d.comb += mix.eq((s1["p1"] + (s1["p2"] << (self.cell_fmt.frac - fh)) + (1 << (fh - 1))) >> fh)
        s2 = stage(2, v=s1["v"], c=saturate(m, mix, cb, "c_sat"), so=s1["so"], mc=s1["mc"], bc=s1["bc"], tag=s1["tag"])
        s3 = stage(3, v=s2["v"], p3=s2["mc"] * s2["c"], c=s2["c"], so=s2["so"], bc=s2["bc"], tag=s2["tag"])
        shifted = Signal(signed(max(cb + mb, bb) + 1))
        with m.Switch(s3["tag"].layer):
            for i, s in enumerate(self.shifts):
                with m.Case(i):
                    m.d.comb += shifted.eq((s3["p3"] + s3["bc"]) >> s)
            with m.Default():
                m.d.comb += shifted.eq(s3["p3"] + s3["bc"])
        s4 = stage(4, v=s3["v"], cn=saturate(m, shifted, self.gate_fmt.bits, "cn_sat"), c=s3["c"], so=s3["so"], tag=s3["tag"])
        m.d.comb += self.tanh_value.eq(s4["cn"])
        s5 = stage(5, v=s4["v"], c=s4["c"], so=s4["so"], tag=s4["tag"])
        s6 = stage(6, v=s5["v"], p4=s5["so"] * self.tanh_out, c=s5["c"], tag=s5["tag"])
        m.d.comb += [
            self.h_we.eq(s6["v"]), self.h_value.eq((s6["p4"] + (1 << (fh - 1))) >> fh), self.h_tag.eq(s6["tag"]),
            c_wr.en.eq(s6["v"]), c_wr.addr.eq(s6["tag"].layer * self.hidden + s6["tag"].unit), c_wr.data.eq(s6["c"]),
        ]
        return m
