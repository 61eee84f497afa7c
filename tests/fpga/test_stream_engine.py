"""A streaming RunEngine in amaranth.sim: whole steps in, every step's outputs out before a non-final RUN ends."""

from amaranth.hdl import Module, Signal
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

import pytest

from hwgen.fpga.run_engine import RunEngine
from hwgen.hw.pipeline import registered_read


def stream_run(words, step_words, step_outputs, *, final, latency, stall):
    """Run `words` (whole steps) through a stand-in that, `latency` cycles after each step's last word, emits
    `step_outputs` words (the step's sum, sum + 1, ...), taking a word only every `stall + 1` cycles.
    Returns (output buffer contents, n_outputs, done seen)."""
    depth = len(words) + 2
    out_depth = len(words) // step_words * step_outputs + 1
    m = Module()
    m.submodules.eng = eng = RunEngine(out_width=16, input_depth=depth, output_depth=out_depth,
                                       step_words=step_words, step_outputs=step_outputs)
    m.submodules.in_mem = in_mem = Memory(shape=16, depth=depth, init=words)
    m.submodules.out_mem = out_mem = Memory(shape=16, depth=out_depth, init=[])
    raddr, rdata = registered_read(m, in_mem, "in_mem")
    wr, rd = out_mem.write_port(), out_mem.read_port(domain="comb")
    m.d.comb += [raddr.eq(eng.in_addr), wr.en.eq(eng.out_we), wr.addr.eq(eng.out_addr), wr.data.eq(eng.out_data)]
    phase, beat, total, wait, left, value = (Signal(16, name=n) for n in ("phase", "beat", "total", "wait", "left",
                                                                          "value"))
    m.d.comb += [eng.acc_in_ready.eq((phase == 0) & (left == 0) & (wait == 0)),
                 eng.acc_out_valid.eq((left != 0) & (wait == 0)), eng.acc_out_data.eq(value), eng.acc_out_last.eq(0)]
    m.d.sync += phase.eq(0 if stall == 0 else (phase + 1) % (stall + 1))
    with m.If(wait != 0):
        m.d.sync += wait.eq(wait - 1)
    with m.If(eng.acc_in_valid & eng.acc_in_ready):
        with m.If(beat == step_words - 1):
            m.d.sync += [beat.eq(0), total.eq(0), value.eq(total + rdata), left.eq(step_outputs), wait.eq(latency)]
        with m.Else():
            m.d.sync += [beat.eq(beat + 1), total.eq(total + rdata)]
    with m.If(eng.acc_out_valid & eng.acc_out_ready):
        m.d.sync += [left.eq(left - 1), value.eq(value + 1)]
    result = {}

    async def bench(ctx):
        ctx.set(eng.words, len(words))
        ctx.set(eng.single, len(words) == 1)
        ctx.set(eng.final, final)
        ctx.set(eng.start, 1)
        await ctx.tick()
        ctx.set(eng.start, 0)
        done = False
        for _ in range((stall + 2) * len(words) * 4 + (latency + step_outputs + 4) * len(words) + 40):
            done = ctx.get(eng.done)
            ctx.set(eng.done_ready, done)
            await ctx.tick()
            if done:
                break
        await ctx.tick()
        result["done"], result["n"] = done, ctx.get(eng.n_outputs)
        result["out"] = []
        for a in range(out_depth):
            ctx.set(rd.addr, a)
            result["out"].append(ctx.get(rd.data))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return result["out"][:result["n"]], result["n"], result["done"]


def expected(words, step_words, step_outputs):
    sums = [sum(words[i:i + step_words]) for i in range(0, len(words), step_words)]
    return [s + k for s in sums for k in range(step_outputs)]


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 6), st.integers(0, 2), st.data())
def test_a_non_final_run_ends_with_every_steps_outputs(step_words, step_outputs, steps, latency, stall, data):
    words = data.draw(st.lists(st.integers(0, 50), min_size=steps * step_words, max_size=steps * step_words))
    out, n, done = stream_run(words, step_words, step_outputs, final=False, latency=latency, stall=stall)
    assert done and n == steps * step_outputs
    assert out == expected(words, step_words, step_outputs)


def test_a_streaming_engine_needs_both_step_sizes():
    with pytest.raises(ValueError, match="step_words and step_outputs"):
        RunEngine(out_width=8, input_depth=4, output_depth=4, step_words=3)
