"""The output unit: after a sequence's last step (or every step), streams logits (dense head) or h out.

Dense head: for each output k, H multiply-accumulates of h_j × W[k, j] (int8 ROM) on the
affine unit's shared multiplier (registered `mul_a`/`mul_b` → `product` two cycles later), then
`out_data = acc + bias[k]`. Per output: H issue cycles, 5 pipeline cycles, 1 handshake
cycle (more while `out_ready` is low). Without a head the last hidden state is sent,
3 cycles per element. Leaving IDLE after `start` takes one cycle.

Ports: `start` in, 1 (the controller is in OUTPUT); `h_addr` out, `h_data` in (the
h memory's read port, one word of `lanes` elements, latency 1); `h_base` in (word
address of the final hidden state); `mul_a`, `mul_b` out; `product` in; the output stream
`out_valid`, `out_ready`, `out_data`, `out_last`; `seq_end` in, 1 (this burst ends a sequence:
`out_last` rises on its last beat only then, so every-step bursts of one sequence form one
packet); `done` out, 1 (pulse after the last beat).
"""

from __future__ import annotations

from typing import Sequence

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.onehot import OneHotFSM
from hwgen.hw.pipeline import delay
from hwgen.hw.schedule import HEAD_LATENCY


class OutputUnit(wiring.Component):
    def __init__(self, hidden: int, lanes: int, act_bits: int, out_bits: int, addr_bits: int, acc_bits: int, mult_bits: int,
                 weights: Sequence[Sequence[int]] = (), bias: Sequence[int] = ()) -> None:
        self.hidden, self.lanes, self.act_bits, self.out_bits = hidden, lanes, act_bits, out_bits
        self.weights, self.bias = [list(w) for w in weights], list(bias)
        super().__init__({
            "start": In(1), "h_addr": Out(unsigned(addr_bits)), "h_data": In(unsigned(lanes * act_bits)),
            "h_base": In(unsigned(addr_bits)),
            "mul_a": Out(signed(acc_bits)), "mul_b": Out(signed(mult_bits)), "product": In(signed(acc_bits + mult_bits)),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(out_bits)), "out_last": Out(1),
            "seq_end": In(1), "done": Out(1),
        })

    def _lane(self, m: Module, fresh: Value, take: Value) -> Value:
        """The next element of the h word, in lane order: lane 0 straight from the read data when `fresh` (a new
        word arrived), else the bottom of a shift register that holds the word's remaining lanes; `take` (the
        element is used this cycle) shifts it. One 2-to-1 multiplexer behind the block RAM, whatever the lanes:
        a `word_select` by lane index was a tree of log2(lanes) multiplexer levels between the vector memory and
        the multiplier's operand register, the critical path of a 32-lane UP5K build (45 MHz)."""
        a = self.act_bits
        rest = Signal(self.lanes * a, name="h_rest")
        word = Mux(fresh, self.h_data, rest)
        with m.If(take):
            m.d.sync += rest.eq(word >> a)
        return word[:a].as_signed()

    def elaborate(self, platform: object) -> Module:
        m = Module()
        H, lanes = self.hidden, self.lanes
        k_out = len(self.weights)
        j = Signal(range(max(H, 2)))
        jc = Signal(range(max(H // lanes, 2)))
        jl = Signal(range(max(lanes, 2)))
        k = Signal(range(max(k_out, H, 2)))
        count = Signal(3)
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

        if k_out:
            flat = [w & 0xFF for row in self.weights for w in row]
            m.submodules.wrom = wrom = Memory(shape=unsigned(8), depth=len(flat), init=flat)
            m.submodules.brom = brom = Memory(shape=signed(self.out_bits), depth=k_out, init=self.bias)
            wr, br = wrom.read_port(), brom.read_port()
            m.d.comb += [wr.addr.eq(k * H + j), br.addr.eq(k)]
            issuing = Signal()
            k_last = Signal(init=int(k_out == 1))  # k == k_out - 1, registered
            v1 = delay(m, issuing, 1, "iss")
            m.d.comb += take.eq(v1)
            lane_r, w_r = Signal(signed(self.act_bits)), Signal(signed(8))  # no memory output drives the multiplier
            m.d.sync += [lane_r.eq(lane), w_r.eq(wr.data.as_signed())]
            m.d.comb += [self.mul_a.eq(lane_r), self.mul_b.eq(w_r)]
            # operand register, the multiplier's two, and a copy of the product beside the accumulator (the
            # multiplier sits with the row affine; its output reaches the head's adder through a register).
            v4 = delay(m, v1, 4, "iss2")
            prod_r = Signal(signed(self.out_bits))  # the sum wraps to out_bits: only the product's low bits count
            m.d.sync += prod_r.eq(self.product)
            # Cleared when its sum is taken (below), not loaded with the first product: with no load/add select
            # in front of it, the adder's carry chain starts at the flops (the clear is the flops' sync reset).
            acc = Signal(signed(self.out_bits))
            with m.If(v4):
                m.d.sync += acc.eq(acc + prod_r)
            fsm = OneHotFSM(m, ("IDLE", "ISSUE", "PIPE", "OUT"), "head")
            with fsm.state("IDLE"):
                with m.If(self.start):
                    fsm.next("ISSUE")
            with fsm.state("ISSUE"):
                m.d.comb += issuing.eq(1)
                advance_j()
                with m.If(j_last):
                    reset_j()
                    m.d.sync += count.eq(HEAD_LATENCY - 1)
                    fsm.next("PIPE")
            with fsm.state("PIPE"):
                m.d.sync += count.eq(count - 1)
                with m.If(count == 0):
                    m.d.sync += [self.out_data.eq(acc + br.data), acc.eq(0)]  # the last product is in: next logit from 0
                    fsm.next("OUT")
            with fsm.state("OUT"):
                m.d.comb += [self.out_valid.eq(1), self.out_last.eq(k_last & self.seq_end)]
                with m.If(self.out_ready):
                    m.d.sync += [k.eq(k + 1), k_last.eq(k == k_out - 2)]
                    with m.If(k_last):
                        m.d.sync += [k.eq(0), k_last.eq(k_out == 1)]
                        m.d.comb += self.done.eq(1)
                        fsm.next("IDLE")
                    with m.Else():
                        fsm.next("ISSUE")
            return m
        fsm = OneHotFSM(m, ("IDLE", "READ", "SELECT", "OUT"), "hout")
        with fsm.state("IDLE"):
            with m.If(self.start):
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
