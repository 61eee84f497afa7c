"""The surprisal-gated top: a small and a big char-LM accelerator and the gating unit between them.

    in (character id) ─► gating unit ─┬─► one-hot beats ─► small Accelerator ─► logit memory (V words) + running max
                                      └─► one-hot beats ─► big Accelerator (only when the gate says so)
    out ◄── decision, used logits (big's, or small's from the memory), small logits (from the memory)

Per step t (the rule of `hwgen.model.surprisal_gate`): the character x_t comes in; the small model's
logits of step t-1 are in the logit memory and their maximum in a register (taken as they streamed out),
so one read of the memory at x_t gives the margin m_t = max(s_{t-1}) − s_{t-1}[x_t] and the decision
(t = 0 or m_t > threshold) in the next cycle. Then both accelerators get x_t's one-hot beats in the same
cycles, the big one only when it runs. The logits are stored, not compared as they stream, because a
host generating text sends x_{t+1} only after it has seen step t's logits.

Why the two run side by side within a step and one step at a time (not the big model's step t beside
the small model's later steps): a generating host needs step t's logits — the big model's when it ran —
before it can choose x_{t+1}, so no step can start early there; scoring a text could overlap steps,
but only with a buffer of small-model logits per step ahead and a data-dependent schedule. One step
at a time, each accelerator starts every step idle and takes exactly its own `expected_cycles(1)`, so
the gated top's cycles are an exact sum over the decisions (`GatedConfig.expected_cycles`).

The skipped big model's state holds: it never sees the character. Its sequence framing: it sees
`in_last` only when it runs a sequence's last step; when that step is skipped, the gating unit resets the
big accelerator (its registers, a synchronous reset through `ResetInserter`) in the cycle it decides, while
the big accelerator is idle (its last step's outputs are out): that is the state its controller is in
after `in_last` or power-up (first step next, both x banks free), and the h/c memories it leaves behind
are masked on a first step, as after any sequence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amaranth.hdl import Module, Mux, ResetInserter, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.pipeline import clog2

if TYPE_CHECKING:  # gated_config.py builds the top (GatedConfig.create), so the class is only named here
    from hwgen.hw.gated_config import GatedConfig


class GatedTop(wiring.Component):
    def __init__(self, config: GatedConfig) -> None:
        self.config = config
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(signed(config.id_bits)), "in_last": In(1),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(config.out_bits)), "out_last": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        cfg = self.config
        V, sbits = cfg.vocab, cfg.small.out_bits
        small, big = cfg.small.create(), cfg.big.create()
        big_reset = Signal()
        m.submodules.small = small
        m.submodules.big = ResetInserter(big_reset)(big)

        # The small model's logits of the step, word j = logit j, and their running maximum.
        m.submodules.logits = logits = Memory(shape=signed(sbits), depth=V, init=[])
        wr, rd = logits.write_port(), logits.read_port()
        s_count = Signal(range(V + 1))  # small-model logits stored this step
        s_done = s_count == V
        top = Signal(signed(sbits))
        m.d.comb += [small.out_ready.eq(1), wr.addr.eq(s_count), wr.data.eq(small.out_data), wr.en.eq(small.out_valid)]
        with m.If(small.out_valid):
            m.d.sync += s_count.eq(s_count + 1)
            with m.If((s_count == 0) | (small.out_data > top)):
                m.d.sync += top.eq(small.out_data)

        # The step: its character, whether it ends the sequence, whether it is a sequence's first, the decision.
        char, last, first, go = Signal(unsigned(clog2(V))), Signal(), Signal(init=1), Signal()
        margin = Signal(signed(sbits + 1))
        m.d.comb += margin.eq(top - rd.data)
        go_now = first | (margin > cfg.threshold)

        # Feeders: the step's V one-hot beats into each accelerator (in_last on a sequence's last).
        feeds = []
        for name, acc in (("s", small), ("b", big)):
            busy, j = Signal(name=f"{name}_feeding"), Signal(range(V), name=f"{name}_beat")
            m.d.comb += [acc.in_valid.eq(busy), acc.in_data.eq(Mux(j == char, cfg.one_code, cfg.zero_code)),
                         acc.in_last.eq(last & (j == V - 1))]
            with m.If(busy & acc.in_ready):
                m.d.sync += j.eq(j + 1)
                with m.If(j == V - 1):
                    m.d.sync += [busy.eq(0), j.eq(0)]
            feeds.append(busy)
        s_feeding, b_feeding = feeds

        # Output beats: the decision, the used logits, the small logits. `k` counts a V-beat block's beats; the
        # memory is read one cycle ahead (address k, or k + 1 when a beat leaves), so its data is beat k's.
        k = Signal(range(V))
        fire = self.out_valid & self.out_ready
        k_next = Mux(k == V - 1, 0, k + 1)
        m.d.comb += rd.addr.eq(0)
        with m.FSM():
            with m.State("CHAR"):
                m.d.comb += [self.in_ready.eq(1), rd.addr.eq(self.in_data[:len(char)])]
                with m.If(self.in_valid):
                    m.d.sync += [char.eq(self.in_data[:len(char)]), last.eq(self.in_last)]
                    m.next = "DECIDE"
            with m.State("DECIDE"):  # the memory gives s_{t-1}[x_t]
                m.d.comb += big_reset.eq(last & ~go_now)  # the big model skips a sequence's end: start it afresh
                m.d.sync += [go.eq(go_now), first.eq(last), s_count.eq(0), s_feeding.eq(1), b_feeding.eq(go_now)]
                m.next = "DECISION"
            with m.State("DECISION"):
                m.d.comb += [self.out_valid.eq(1), self.out_data.eq(go)]
                with m.If(self.out_ready):
                    with m.If(go):
                        m.next = "BIG"
                    with m.Else():
                        m.next = "USED_SMALL"
            with m.State("BIG"):  # the big model's logits straight through
                m.d.comb += [self.out_valid.eq(big.out_valid), self.out_data.eq(big.out_data),
                             big.out_ready.eq(self.out_ready)]
                with m.If(fire):
                    m.d.sync += k.eq(k_next)
                    with m.If(k == V - 1):
                        m.next = "SMALL"
            for state, following in (("USED_SMALL", "SMALL"), ("SMALL", "CHAR")):
                with m.State(state):  # the small model's logits from the memory, once all are in
                    m.d.comb += [self.out_valid.eq(s_done), self.out_data.eq(rd.data), rd.addr.eq(Mux(fire, k_next, k))]
                    if state == "SMALL":
                        m.d.comb += self.out_last.eq(last & (k == V - 1))
                    with m.If(fire):
                        m.d.sync += k.eq(k_next)
                        with m.If(k == V - 1):
                            m.next = following
        return m
