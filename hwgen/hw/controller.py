"""The controller FSM: issues one chunk read per cycle, following `hwgen.hw.schedule`.

States: WAIT (for a full input bank), ISSUE (one chunk of one row per cycle; rows in
unit order i, f, g, o, or a GRU's z, r, n; layers one after another), GAP (the schedule's hazard wait before
a pass), DRAIN (let the last state update land), OUTPUT (hand over to the hidden-state output
unit until `out_done`), HOLD (a dense head still reads an earlier step's h bank). Without a dense
head, DRAIN and OUTPUT follow the step that ends a sequence, or, with `output_steps="every_step"`,
every step. With one, the head runs beside the next step (`hwgen.hw.head_unit`): a step whose
outputs are due pulses `head_start` (with `head_bank`, `head_last`) and the next step goes on, after
HOLD while `head_busy`. Input vectors are double-buffered (`xsel` picks the bank being
computed on); `x_release` frees it at the end of the layer-0 pass.

Ports: `full` in, 2 (input bank b is full), `last` in, 2 (bank b ends a sequence);
`out_done` in, 1; issue outputs `issue`, `waddr`, `row`, `tag` (layer, unit, unit chunk,
lane, gate, first step, bank), `chunk`, `is_h`, `first`, `first_h`, `last_chunk`, `xsel`;
`x_release` out, 1 (pulse); `output` out, 1 (in OUTPUT state); `seq_end` out, 1 (the step
being computed or output ends its sequence: the output unit raises `out_last` only then); with a dense
head `head_busy` in, `head_start` out (pulse), `head_bank`, `head_last` out.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.onehot import OneHotFSM
from hwgen.hw.pipeline import clog2

if TYPE_CHECKING:  # config.py builds the controller, so the class is only named here
    from hwgen.hw.config import AccelConfig


def _pow2(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def tag_layout(layers: int, hidden: int, lanes: int) -> data.StructLayout:
    """What travels with each row through the pipeline."""
    return data.StructLayout({
        "layer": unsigned(clog2(layers)), "unit": unsigned(clog2(hidden)), "uchunk": unsigned(clog2(hidden // lanes)),
        "ulane": unsigned(clog2(lanes)), "gate": unsigned(2), "first": unsigned(1), "bank": unsigned(1),
        "row": unsigned(clog2(layers * 4 * hidden)),
    })


class Controller(wiring.Component):
    def __init__(self, config: AccelConfig) -> None:
        self.config = config
        self.sched = config.schedule()
        self.layout = tag_layout(config.layers, config.hidden, config.lanes)
        kmax = max(config.chunks(layer) for layer in range(config.layers))
        ports = {
            "full": In(2), "last": In(2), "out_done": In(1),
            "issue": Out(1), "waddr": Out(unsigned(clog2(config.weight_words))), "tag": Out(self.layout),
            "chunk": Out(unsigned(clog2(kmax))), "is_h": Out(1), "first": Out(1), "first_h": Out(1), "last_chunk": Out(1),
            "xsel": Out(1), "x_release": Out(1), "output": Out(1), "seq_end": Out(1),
        }
        if self.sched.head is not None:
            ports.update({"head_busy": In(1), "head_start": Out(1), "head_bank": Out(1), "head_last": Out(1)})
        super().__init__(ports)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        cfg = self.config
        L = cfg.layers
        s = self._registers()
        # Row decodes are registers, updated with `chunk` from the *current* value (never decoded from
        # `chunk` combinationally): first (chunk == 0), is_h (chunk >= kx), first_h (chunk == kx),
        # end_row (chunk == kl, the row's last chunk), last_row (gate 3 of the last unit of the pass).
        kl1 = Signal.like(s.chunk)  # chunks of the current layer - 2 (the chunk before the last)
        kx1 = Signal.like(s.chunk)  # x chunks of the current layer - 1 (the chunk before the first h chunk)
        with m.Switch(s.layer):
            for i in range(L):
                with m.Case(i):
                    m.d.comb += [kl1.eq(cfg.chunks(i) - 2), kx1.eq(cfg.x_chunks(i) - 1)]

        tag = self.tag
        m.d.comb += self.seq_end.eq(s.seq_last)
        m.d.comb += [
            tag.layer.eq(s.layer), tag.unit.eq(s.unit), tag.uchunk.eq(s.uchunk), tag.ulane.eq(s.ulane),
            tag.gate.eq(s.gate), tag.first.eq(s.first_step), tag.bank.eq(s.bank), tag.row.eq(s.row),
            self.chunk.eq(s.chunk), self.is_h.eq(s.is_h_r), self.first.eq(s.first_r), self.first_h.eq(s.first_h_r),
            self.last_chunk.eq(s.end_row),
        ]
        s.first_layer = Const(1) if L == 1 else (s.layer == 0)
        s.last_layer = Const(1) if L == 1 else (s.layer == L - 1)

        if self.sched.head is not None:
            m.d.sync += self.head_start.eq(0)  # a one-cycle pulse: the end of a step (or HOLD) sets it after this
        # The FSM as one-hot registers (no state decode in front of the counters' enables).
        fsm = OneHotFSM(m, ("WAIT", "ISSUE", "GAP", "DRAIN", "OUTPUT", "HOLD"), "st")
        with fsm.state("WAIT"):
            with m.If(self._ready(self.xsel)):
                self._begin_step(m, s, self.xsel)
                fsm.next("ISSUE")
        with fsm.state("ISSUE"):
            chunk = s.chunk
            m.d.comb += self.issue.eq(1)
            m.d.sync += [chunk.eq(chunk + 1), self.waddr.eq(self.waddr + 1), s.first_r.eq(0),
                         s.is_h_r.eq(s.is_h_r | (chunk == kx1)), s.first_h_r.eq(chunk == kx1),
                         s.end_row.eq(chunk == kl1), s.end_pass.eq((chunk == kl1) & s.last_row)]
        self._row_step(m, s)
        self._end_of_pass(m, s, fsm)
        with fsm.state("GAP"):
            m.d.sync += [s.count.eq(s.count - 1), s.count_end.eq(s.count == 1)]
            with m.If(s.count_end):
                with m.If(~s.first_layer):
                    fsm.next("ISSUE")
                with m.Elif(self._ready(self.xsel)):
                    self._begin_step(m, s, self.xsel)
                    fsm.next("ISSUE")
                with m.Else():
                    fsm.next("WAIT")
        with fsm.state("DRAIN"):
            m.d.sync += [s.count.eq(s.count - 1), s.count_end.eq(s.count == 1)]
            with m.If(s.count_end):
                fsm.next("OUTPUT")
        with fsm.state("OUTPUT"):
            m.d.comb += self.output.eq(1)
            with m.If(self.out_done):
                fsm.next("WAIT")
        if self.sched.head is not None:
            self._head_hold(m, s, fsm)
        with m.If(self.x_release):
            m.d.sync += self.xsel.eq(~self.xsel)
        return m

    def _registers(self) -> SimpleNamespace:
        """The controller's counters and registered decodes."""
        cfg, sched = self.config, self.sched
        L, H, lanes = cfg.layers, cfg.hidden, cfg.lanes
        s = SimpleNamespace()
        s.layer = Signal(range(max(L, 2)), name="layer")
        s.unit = Signal(range(max(H, 2)), name="unit")
        s.gate = Signal(2, name="gate")
        # Fields that are bit slices of others when the sizes are powers of two: uchunk, ulane = unit's high and low
        # bits (lanes a power of two: unit = uchunk · lanes + ulane), row = (layer, unit, gate) side by side (H too,
        # and four gates). They are wires then, not counters, so each tag register down the pipeline holds those
        # bits once (yosys merges flops of equal inputs): 8 + 10 fewer tag bits at H=256.
        s.derived_lanes = _pow2(lanes)
        s.derived_row = s.derived_lanes and _pow2(H) and self.config.gates == 4
        k = lanes.bit_length() - 1  # log2(lanes) exactly (clog2 gives 1 bit for 1)
        if s.derived_lanes:
            s.uchunk, s.ulane = s.unit[k:], s.unit[:k]
        else:
            s.uchunk = Signal(range(max(H // lanes, 2)), name="uchunk")
            s.ulane = Signal(range(max(lanes, 2)), name="ulane")
        s.chunk = Signal.like(self.chunk, name="chunk")
        s.row = Cat(s.gate, s.unit[:H.bit_length() - 1], s.layer) if s.derived_row else Signal.like(self.tag.row, name="row")
        s.bank = Signal(name="bank")
        s.first_step = Signal(init=1, name="first_step")
        s.seq_last = Signal(name="seq_last")
        s.count = Signal(range(max(max(sched.gaps) + 1, sched.write_offset + 1, 2)), name="count")
        s.first_r, s.is_h_r, s.first_h_r, s.end_row, s.last_row = (
            Signal(init=1, name="first_r"), Signal(name="is_h_r"), Signal(name="first_h_r"), Signal(name="end_row"),
            Signal(init=int(cfg.gate_rows == cfg.gates and H == 1), name="last_row"))
        s.last_unit = Signal(init=int(H == 1), name="last_unit")  # unit == H - 1
        s.end_pass = Signal(name="end_pass")  # end_row & last_row, registered too
        # count == 0, registered: set with every load of count and as it passes 1, so GAP and DRAIN decide on a flop.
        s.count_end = Signal(name="count_end")
        s.head_due = Signal(name="head_due")  # the step just ended starts the head (set at its end, read in HOLD)
        return s

    def _ready(self, sel: object) -> object:
        return Mux(sel, self.full[1], self.full[0])

    def _begin_step(self, m: Module, s: SimpleNamespace, sel: object) -> None:
        m.d.sync += s.seq_last.eq(Mux(sel, self.last[1], self.last[0]))

    def _load_count(self, m: Module, s: SimpleNamespace, value: int) -> None:
        m.d.sync += [s.count.eq(value), s.count_end.eq(value == 0)]

    def _row_step(self, m: Module, s: SimpleNamespace) -> None:
        """The row counters' step at a row's last chunk."""
        H, lanes, rows = self.config.hidden, self.config.lanes, self.config.gate_rows
        # end_row (and end_pass) are high only in ISSUE (set there, cleared with the row): the row step is decided
        # on the flag alone, without the state flop in its enables. With gate_rows=4 a "row" is a unit's four rows
        # (gate stays 0; the accelerator's row serialiser numbers the gates), so every row step is a unit step; with
        # gate_rows=2 it is rows i, f (gate 0) or g, o (gate 2), and the serialiser adds 1 to the second's gate.
        with m.If(s.end_row):
            if not s.derived_row:
                m.d.sync += s.row.eq(s.row + rows)
            m.d.sync += [s.chunk.eq(0),
                         s.first_r.eq(1), s.is_h_r.eq(0), s.first_h_r.eq(0), s.end_row.eq(0), s.end_pass.eq(0)]
            gates = self.config.gates  # rows a unit: 4 (LSTM i, f, g, o) or 3 (GRU z, r, n)
            if rows < gates:  # the gate counter steps by `rows` (two bits: four gates wrap by themselves)
                m.d.sync += [s.gate.eq(Mux(s.gate == gates - 1, 0, s.gate + 1)) if gates < 4 else s.gate.eq(s.gate + rows),
                             s.last_row.eq((s.gate == gates - 2 * rows) & s.last_unit)]
            else:  # the next unit is the pass's last: unit == H - 2 now (H == 1: every unit is)
                m.d.sync += s.last_row.eq(Const(1) if H == 1 else s.unit == H - 2)
            with m.If(s.gate == gates - rows if rows < gates else Const(1)):
                m.d.sync += [s.unit.eq(s.unit + 1), s.last_unit.eq(s.unit == H - 2)]
                if not s.derived_lanes:
                    m.d.sync += s.ulane.eq(s.ulane + 1)
                    with m.If(s.ulane == lanes - 1):
                        m.d.sync += [s.ulane.eq(0), s.uchunk.eq(s.uchunk + 1)]

    def _end_of_pass(self, m: Module, s: SimpleNamespace, fsm: OneHotFSM) -> None:
        """At the end of a layer's pass: the next layer (after its gap), or the step's end (drain and output, the
        next step, or wait for its input)."""
        cfg, sched = self.config, self.sched
        L, H = cfg.layers, cfg.hidden
        goto = fsm.next
        # The bank the next step reads: xsel, or at the end of a one-layer pass (where x_release toggles xsel) ~xsel.
        # Known per FSM branch, so no x_release -> xsel -> full/last mux chain sits in front of the FSM.
        sel_after = self.xsel ^ int(L == 1)
        with fsm.state("ISSUE"):
            with m.If(s.end_pass):
                m.d.sync += [s.unit.eq(0), s.last_unit.eq(int(H == 1))]
                if not s.derived_lanes:
                    m.d.sync += [s.ulane.eq(0), s.uchunk.eq(0)]
                with m.If(s.first_layer):
                    m.d.comb += self.x_release.eq(1)
                with m.If(~s.last_layer):
                    m.d.sync += s.layer.eq(s.layer + 1)
                    with m.Switch(s.layer):
                        for i in range(L - 1):
                            with m.Case(i):
                                if sched.gaps[i + 1]:
                                    self._load_count(m, s, sched.gaps[i + 1] - 1)
                                    goto("GAP")
                with m.Else():
                    m.d.sync += [s.layer.eq(0), self.waddr.eq(0), s.bank.eq(~s.bank), s.first_step.eq(0)]
                    if not s.derived_row:
                        m.d.sync += s.row.eq(0)
                    if sched.head is not None:  # the head runs beside the next step: no drain, no output state
                        self._end_of_step_with_head(m, s, fsm, sel_after)
                    elif sched.every_step:  # output after every step: drain, then the output unit (seq_last: fresh state)
                        self._load_count(m, s, sched.write_offset - 1)
                        m.d.sync += s.first_step.eq(s.seq_last)
                        goto("DRAIN")
                    else:  # outputs after the last step only: drain at a sequence's end, else the next step at once
                        with m.If(s.seq_last):
                            self._load_count(m, s, sched.write_offset - 1)
                            m.d.sync += s.first_step.eq(1)
                            goto("DRAIN")
                        with m.Else():
                            if sched.gaps[0]:
                                self._load_count(m, s, sched.gaps[0] - 1)
                                goto("GAP")
                            else:
                                with m.If(self._ready(sel_after)):
                                    self._begin_step(m, s, sel_after)
                                with m.Else():
                                    goto("WAIT")

    def _next_step(self, m: Module, s: SimpleNamespace, fsm: OneHotFSM, sel: object, gap: bool = True) -> None:
        """After a step's last issue (or the HOLD that followed it): the hazard gap, the next step at once, or WAIT."""
        gap = self.sched.gaps[0] if gap else 0
        if gap:
            self._load_count(m, s, gap - 1)
            fsm.next("GAP")
        else:
            with m.If(self._ready(sel)):
                self._begin_step(m, s, sel)
                fsm.next("ISSUE")
            with m.Else():
                fsm.next("WAIT")

    def _end_of_step_with_head(self, m: Module, s: SimpleNamespace, fsm: OneHotFSM, sel: object) -> None:
        """A step's last issue with a dense head, recording the bank the step wrote and whether it ends its sequence.
        Every-step outputs: start the head (it reads its own copy of h while the next step runs); while it still
        reads an earlier step's bank, HOLD (the next step would overwrite that bank; the start waits too). Last-step
        outputs: at a sequence's end start the head and HOLD while it reads the vector memory."""
        m.d.sync += [s.first_step.eq(s.seq_last), self.head_bank.eq(~s.bank), self.head_last.eq(s.seq_last)]
        if self.sched.every_step:
            m.d.sync += s.head_due.eq(1)
            with m.If(self.head_busy):
                fsm.next("HOLD")
            with m.Else():
                m.d.sync += self.head_start.eq(1)
                self._next_step(m, s, fsm, sel)
        else:  # once a sequence, from the vector memory: start it and HOLD while it reads
            m.d.sync += s.head_due.eq(0)
            with m.If(s.seq_last):
                m.d.sync += self.head_start.eq(1)
                fsm.next("HOLD")
            with m.Else():
                self._next_step(m, s, fsm, sel)

    def _head_hold(self, m: Module, s: SimpleNamespace, fsm: OneHotFSM) -> None:
        """Every-step outputs: the hazard gap follows the HOLD (the step that just ended may still be writing).
        Last-step outputs: the HOLD follows a sequence's end and lasts 1 + delay + issue >= write_offset + 1 cycles
        (the head reads the last h word only after it is written), so every write has landed and the next
        sequence starts as from reset: an isolated sequence takes the first one's cycles."""
        head = self.sched.head
        assert self.sched.every_step or 1 + head.delay + head.issue >= self.sched.write_offset + 1
        with fsm.state("HOLD"), m.If(~self.head_busy):
            m.d.sync += self.head_start.eq(s.head_due)
            self._next_step(m, s, fsm, self.xsel, gap=self.sched.every_step)
