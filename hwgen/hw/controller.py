"""The controller FSM: issues one chunk read per cycle, following `hwgen.hw.schedule`.

States: WAIT (for a full input bank), ISSUE (one chunk of one row per cycle; rows in
unit order i, f, g, o; layers one after another), GAP (the schedule's hazard wait before
a pass), DRAIN (let the last state update land), OUTPUT (hand over to the output unit
until `out_done`). DRAIN and OUTPUT follow the step that ends a sequence, or, with
`output_steps="every_step"`, every step. Input vectors are double-buffered (`xsel` picks the bank being
computed on); `x_release` frees it at the end of the layer-0 pass.

Ports: `full` in, 2 (input bank b is full), `last` in, 2 (bank b ends a sequence);
`out_done` in, 1; issue outputs `issue`, `waddr`, `row`, `tag` (layer, unit, unit chunk,
lane, gate, first step, bank), `chunk`, `is_h`, `first`, `first_h`, `last_chunk`, `xsel`;
`x_release` out, 1 (pulse); `output` out, 1 (in OUTPUT state); `seq_end` out, 1 (the step
being computed or output ends its sequence: the output unit raises `out_last` only then).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.onehot import OneHotFSM
from hwgen.hw.pipeline import clog2


def tag_layout(layers: int, hidden: int, lanes: int) -> data.StructLayout:
    """What travels with each row through the pipeline."""
    return data.StructLayout({
        "layer": unsigned(clog2(layers)), "unit": unsigned(clog2(hidden)), "uchunk": unsigned(clog2(hidden // lanes)),
        "ulane": unsigned(clog2(lanes)), "gate": unsigned(2), "first": unsigned(1), "bank": unsigned(1),
        "row": unsigned(clog2(layers * 4 * hidden)),
    })


class Controller(wiring.Component):
    def __init__(self, config: "object") -> None:
        from hwgen.hw.config import AccelConfig

        assert isinstance(config, AccelConfig)
        self.config = config
        self.sched = config.schedule()
        self.layout = tag_layout(config.layers, config.hidden, config.lanes)
        kmax = max(config.chunks(layer) for layer in range(config.layers))
        super().__init__({
            "full": In(2), "last": In(2), "out_done": In(1),
            "issue": Out(1), "waddr": Out(unsigned(clog2(config.weight_words))), "tag": Out(self.layout),
            "chunk": Out(unsigned(clog2(kmax))), "is_h": Out(1), "first": Out(1), "first_h": Out(1), "last_chunk": Out(1),
            "xsel": Out(1), "x_release": Out(1), "output": Out(1), "seq_end": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        cfg, sched = self.config, self.sched
        L, H, lanes = cfg.layers, cfg.hidden, cfg.lanes
        layer = Signal(range(max(L, 2)))
        unit = Signal(range(max(H, 2)))
        uchunk = Signal(range(max(H // lanes, 2)))
        ulane = Signal(range(max(lanes, 2)))
        gate = Signal(2)
        chunk = Signal.like(self.chunk)
        row = Signal.like(self.tag.row)
        bank = Signal()
        first_step = Signal(init=1)
        seq_last = Signal()
        count = Signal(range(max(max(sched.gaps) + 1, sched.write_offset + 1, 2)))

        # Row decodes are registers, updated with `chunk` from the *current* value (never decoded from
        # `chunk` combinationally): first (chunk == 0), is_h (chunk >= kx), first_h (chunk == kx),
        # end_row (chunk == kl, the row's last chunk), last_row (gate 3 of the last unit of the pass).
        kl1 = Signal.like(chunk)  # chunks of the current layer - 2 (the chunk before the last)
        kx1 = Signal.like(chunk)  # x chunks of the current layer - 1 (the chunk before the first h chunk)
        with m.Switch(layer):
            for i in range(L):
                with m.Case(i):
                    m.d.comb += [kl1.eq(cfg.chunks(i) - 2), kx1.eq(cfg.x_chunks(i) - 1)]
        first_r, is_h_r, first_h_r, end_row, last_row = (Signal(init=1, name="first_r"), Signal(name="is_h_r"),
                                                          Signal(name="first_h_r"), Signal(name="end_row"),
                                                          Signal(name="last_row"))
        last_unit = Signal(init=int(H == 1))  # unit == H - 1

        tag = self.tag
        m.d.comb += self.seq_end.eq(seq_last)
        m.d.comb += [
            tag.layer.eq(layer), tag.unit.eq(unit), tag.uchunk.eq(uchunk), tag.ulane.eq(ulane), tag.gate.eq(gate),
            tag.first.eq(first_step), tag.bank.eq(bank), tag.row.eq(row),
            self.chunk.eq(chunk), self.is_h.eq(is_h_r), self.first.eq(first_r), self.first_h.eq(first_h_r),
            self.last_chunk.eq(end_row),
        ]
        end_pass = Signal()  # end_row & last_row, registered too
        first_layer = Const(1) if L == 1 else (layer == 0)
        last_layer = Const(1) if L == 1 else (layer == L - 1)
        # The bank the next step reads: xsel, or at the end of a one-layer pass (where x_release toggles xsel) ~xsel.
        # Known per FSM branch, so no x_release -> xsel -> full/last mux chain sits in front of the FSM.
        sel_after = self.xsel ^ int(L == 1)

        def ready(sel: object) -> object:
            return Mux(sel, self.full[1], self.full[0])

        def begin_step(sel: object) -> None:
            m.d.sync += seq_last.eq(Mux(sel, self.last[1], self.last[0]))

        # The FSM as one-hot registers (no state decode in front of the counters' enables).
        fsm = OneHotFSM(m, ("WAIT", "ISSUE", "GAP", "DRAIN", "OUTPUT"), "st")
        goto = fsm.next
        # count == 0, registered: set with every load of count and as it passes 1, so GAP and DRAIN decide on a flop.
        count_end = Signal()

        def load_count(value: int) -> None:
            m.d.sync += [count.eq(value), count_end.eq(value == 0)]

        with fsm.state("WAIT"):
            with m.If(ready(self.xsel)):
                begin_step(self.xsel)
                goto("ISSUE")
        with fsm.state("ISSUE"):
            m.d.comb += self.issue.eq(1)
            m.d.sync += [chunk.eq(chunk + 1), self.waddr.eq(self.waddr + 1), first_r.eq(0),
                         is_h_r.eq(is_h_r | (chunk == kx1)), first_h_r.eq(chunk == kx1), end_row.eq(chunk == kl1),
                         end_pass.eq((chunk == kl1) & last_row)]
        # end_row (and end_pass) are high only in ISSUE (set there, cleared with the row): the row step is decided
        # on the flag alone, without the state flop in its enables.
        with m.If(end_row):
            m.d.sync += [chunk.eq(0), gate.eq(gate + 1), row.eq(row + 1),
                         first_r.eq(1), is_h_r.eq(0), first_h_r.eq(0), end_row.eq(0), end_pass.eq(0),
                         last_row.eq((gate == 2) & last_unit)]
            with m.If(gate == 3):
                m.d.sync += [unit.eq(unit + 1), ulane.eq(ulane + 1), last_unit.eq(unit == H - 2)]
                with m.If(ulane == lanes - 1):
                    m.d.sync += [ulane.eq(0), uchunk.eq(uchunk + 1)]
        with fsm.state("ISSUE"):
            with m.If(end_pass):
                m.d.sync += [unit.eq(0), ulane.eq(0), uchunk.eq(0), last_unit.eq(int(H == 1))]
                with m.If(first_layer):
                    m.d.comb += self.x_release.eq(1)
                with m.If(~last_layer):
                    m.d.sync += layer.eq(layer + 1)
                    with m.Switch(layer):
                        for i in range(L - 1):
                            with m.Case(i):
                                if sched.gaps[i + 1]:
                                    load_count(sched.gaps[i + 1] - 1)
                                    goto("GAP")
                with m.Else():
                    m.d.sync += [layer.eq(0), row.eq(0), self.waddr.eq(0), bank.eq(~bank), first_step.eq(0)]
                    if sched.every_step:  # output after every step: drain, then the output unit (seq_last: fresh state)
                        load_count(sched.write_offset - 1)
                        m.d.sync += first_step.eq(seq_last)
                        goto("DRAIN")
                    else:  # outputs after the last step only: drain at a sequence's end, else the next step at once
                        with m.If(seq_last):
                            load_count(sched.write_offset - 1)
                            m.d.sync += first_step.eq(1)
                            goto("DRAIN")
                        with m.Else():
                            if sched.gaps[0]:
                                load_count(sched.gaps[0] - 1)
                                goto("GAP")
                            else:
                                with m.If(ready(sel_after)):
                                    begin_step(sel_after)
                                with m.Else():
                                    goto("WAIT")
        with fsm.state("GAP"):
            m.d.sync += [count.eq(count - 1), count_end.eq(count == 1)]
            with m.If(count_end):
                with m.If(~first_layer):
                    goto("ISSUE")
                with m.Elif(ready(self.xsel)):
                    begin_step(self.xsel)
                    goto("ISSUE")
                with m.Else():
                    goto("WAIT")
        with fsm.state("DRAIN"):
            m.d.sync += [count.eq(count - 1), count_end.eq(count == 1)]
            with m.If(count_end):
                goto("OUTPUT")
        with fsm.state("OUTPUT"):
            m.d.comb += self.output.eq(1)
            with m.If(self.out_done):
                goto("WAIT")
        with m.If(self.x_release):
            m.d.sync += self.xsel.eq(~self.xsel)
        return m
