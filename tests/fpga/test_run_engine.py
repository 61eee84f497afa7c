"""RunEngine in amaranth.sim: the input buffer through a stand-in accelerator into the output buffer, cycles counted."""

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator
from hypothesis import Phase, given, settings, strategies as st

from hwgen.fpga.run_engine import RunEngine
from hwgen.hw.pipeline import registered_read

NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


def run(words, *, final=True, outputs=3, output_depth=8, stall=0):
    """Load `words` into an input buffer, run them through an accelerator stand-in that takes a word only every
    `stall + 1` cycles and, after `in_last`, emits `outputs` words (the running sum, then sum + 1, ...).
    Returns (words the stand-in took with their in_last, output buffer contents, n_outputs, cycles, busy cycles)."""
    m = Module()
    m.submodules.eng = eng = RunEngine(out_width=16, input_depth=len(words) + 2, output_depth=output_depth)
    m.submodules.in_mem = in_mem = Memory(shape=16, depth=len(words) + 2, init=words)
    m.submodules.out_mem = out_mem = Memory(shape=16, depth=output_depth, init=[])
    raddr, rdata = registered_read(m, in_mem, "in_mem")
    wr = out_mem.write_port()
    rd = out_mem.read_port(domain="comb")
    m.d.comb += [raddr.eq(eng.in_addr), wr.en.eq(eng.out_we), wr.addr.eq(eng.out_addr), wr.data.eq(eng.out_data)]
    # The stand-in accelerator: in_ready every stall + 1 cycles; outputs after in_last.
    phase, total, left = Signal(range(stall + 1)), Signal(16), Signal(8)
    m.d.comb += [eng.acc_in_ready.eq(phase == 0), eng.acc_out_valid.eq(left != 0), eng.acc_out_data.eq(total),
                 eng.acc_out_last.eq(left == 1)]
    m.d.sync += phase.eq(0 if stall == 0 else (phase + 1) % (stall + 1))
    with m.If(eng.acc_in_valid & eng.acc_in_ready):
        m.d.sync += total.eq(total + rdata)
        with m.If(eng.acc_in_last):
            m.d.sync += left.eq(outputs)
    with m.If(eng.acc_out_valid & eng.acc_out_ready):
        m.d.sync += [left.eq(left - 1), total.eq(total + 1)]
    taken, busy = [], 0
    result = {}

    async def bench(ctx):
        nonlocal busy
        ctx.set(eng.words, len(words))
        ctx.set(eng.single, len(words) == 1)
        ctx.set(eng.final, final)
        ctx.set(eng.start, 1)
        await ctx.tick()
        ctx.set(eng.start, 0)
        for _ in range(20 * (len(words) + outputs) + 20):
            busy += ctx.get(eng.busy)
            if ctx.get(eng.acc_in_valid) and ctx.get(eng.acc_in_ready):
                taken.append((ctx.get(rdata), ctx.get(eng.acc_in_last)))
            done = ctx.get(eng.done)
            ctx.set(eng.done_ready, done)
            await ctx.tick()
            if done:
                break
        assert done and not ctx.get(eng.done)  # held until taken, then dropped
        await ctx.tick()  # the last output word lands
        result["n"], result["cycles"] = ctx.get(eng.n_outputs), ctx.get(eng.cycles)
        result["buffer"] = []
        for i in range(result["n"]):
            ctx.set(rd.addr, i)
            result["buffer"].append(ctx.get(rd.data))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return taken, result["buffer"], result["n"], result["cycles"], busy


@settings(deadline=None, max_examples=6, phases=NO_SHRINK)
@given(words=st.lists(st.integers(0, 100), min_size=1, max_size=6), outputs=st.integers(1, 10),
       stall=st.integers(0, 2))
def test_a_final_run_streams_every_word_and_captures_the_outputs(words, outputs, stall):
    taken, buffer, n, cycles, busy = run(words, outputs=outputs, output_depth=8, stall=stall)
    assert taken == [(w, int(i == len(words) - 1)) for i, w in enumerate(words)]
    s = sum(words)
    assert n == min(outputs, 8)  # the buffer keeps what fits; n_outputs counts what it kept
    assert buffer == [s + i for i in range(n)]
    assert cycles == busy  # counted while busy, from the first cycle the words are offered


def test_a_chunk_ends_once_its_words_are_taken():
    taken, buffer, n, cycles, busy = run([4, 5, 6], final=False, outputs=2)
    assert taken == [(4, 0), (5, 0), (6, 0)]  # no in_last: the sequence continues in the next run
    assert n == 0 and buffer == [] and cycles == busy == 3


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match=r"^input depth must be an integer in 1..65535, not 70000$"):
        RunEngine(out_width=8, input_depth=70000, output_depth=4)
    with pytest.raises(ValueError, match=r"^output word width must be an integer >= 1, not 0$"):
        RunEngine(out_width=0, input_depth=4, output_depth=4)
