"""The hidden-state output of a model without a dense head: after a sequence's last step (or every step), streams
the top layer's h out, 3 cycles per element (leaving IDLE after `start` takes one cycle). A dense head has its own
unit beside the passes (`hwgen.hw.head_unit`).

Ports: `start` in, 1 (the controller is in OUTPUT); `h_addr` out, `h_data` in (the
h memory's read port, one word of `lanes` elements, latency 1); `h_base` in (word
address of the final hidden state); the output stream
`out_valid`, `out_ready`, `out_data`, `out_last`; `seq_end` in, 1 (this burst ends a sequence:
`out_last` rises on its last beat only then, so every-step bursts of one sequence form one
packet); `done` out, 1 (pulse after the last beat).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.onehot import OneHotFSM
from hwgen.hw.pipeline import delay


class OutputUnit(wiring.Component):
    def __init__(self, hidden: int, lanes: int, act_bits: int, out_bits: int, addr_bits: int) -> None:
        self.hidden, self.lanes, self.act_bits, self.out_bits = hidden, lanes, act_bits, out_bits
        super().__init__({
            "start": In(1), "h_addr": Out(unsigned(addr_bits)), "h_data": In(unsigned(lanes * act_bits)),
            "h_base": In(unsigned(addr_bits)),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(out_bits)), "out_last": Out(1),
            "seq_end": In(1), "done": Out(1),
        })

    def _lane(self, m: Module, fresh: Value, take: Value) -> Value:
        """The next element of the h word, in lane order: lane 0 straight from the read data when `fresh` (a new
        word arrived), else the bottom of a shift register that holds the word's remaining lanes; `take` (the
        element is used this cycle) shifts it. One 2-to-1 multiplexer behind the block RAM, whatever the lanes:
        a `word_select` by lane index was a tree of log2(lanes) multiplexer levels behind the vector memory (the
        critical path of a 32-lane UP5K build, 45 MHz)."""
        a = self.act_bits
        rest = Signal(self.lanes * a, name="h_rest")
        word = Mux(fresh, self.h_data, rest)
        with m.If(take):
            m.d.sync += rest.eq(word >> a)
        return word[:a].as_signed()

    def elaborate(self, platform: object) -> Module:
        m = Module()
        H, lanes = self.hidden, self.lanes
        j = Signal(range(max(H, 2)))
        jc = Signal(range(max(H // lanes, 2)))
        jl = Signal(range(max(lanes, 2)))
        m.d.comb += self.h_addr.eq(self.h_base + jc)
        fresh = delay(m, jl == 0, 1, "jl_d0")  # the word read for lane 0 is on h_data now
        take = Signal()  # the element `lane` is used this cycle
        lane = self._lane(m, fresh, take)

        # j == H - 1 and jl == lanes - 1 as registered flags, kept with the counters: the FSM and the counters'
        # enables read one flop each instead of a comparator.
        j_last, jl_last = Signal(init=int(H == 1)), Signal(init=int(lanes == 1))

        def advance_j() -> None:
            m.d.sync += [j.eq(j + 1), jl.eq(jl + 1), j_last.eq(j == H - 2), jl_last.eq(jl == lanes - 2)]
            with m.If(jl_last):
                m.d.sync += [jl.eq(0), jc.eq(jc + 1), jl_last.eq(lanes == 1)]

        def reset_j() -> None:
            m.d.sync += [j.eq(0), jl.eq(0), jc.eq(0), j_last.eq(H == 1), jl_last.eq(lanes == 1)]

        fsm = OneHotFSM(m, ("IDLE", "READ", "SELECT", "OUT"), "hout")
        with fsm.state("IDLE"), m.If(self.start):
            fsm.next("READ")
        with fsm.state("READ"):
            fsm.next("SELECT")
        with fsm.state("SELECT"):
            m.d.comb += take.eq(1)
            m.d.sync += self.out_data.eq(lane)
            fsm.next("OUT")
        with fsm.state("OUT"):
            m.d.comb += [self.out_valid.eq(1), self.out_last.eq(j_last & self.seq_end)]
            with m.If(self.out_ready):
                advance_j()
                with m.If(j_last):
                    reset_j()
                    m.d.comb += self.done.eq(1)
                    fsm.next("IDLE")
                with m.Else():
                    fsm.next("READ")
        return m
