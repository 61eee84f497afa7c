"""InputBanks in amaranth.sim against a model of the double-buffered x banks: every beat's word and lane, the full
and last flags, in_ready, with random valid, hold and release patterns."""

import random

import pytest
from amaranth.sim import Simulator
from hypothesis import Phase, given, settings, strategies as st

from hwgen.hw.input_banks import InputBanks


@settings(deadline=None, max_examples=12, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(lanes=st.integers(1, 4), input_size=st.integers(1, 9), seed=st.integers(0, 1000))
def test_beats_fill_the_banks_in_turn(lanes, input_size, seed):
    dut = InputBanks(lanes, input_size)
    xc = -(-input_size // lanes)
    slots = [(c, lane) for c in range(xc) for lane in range(lanes)][:input_size]  # a bank's beats, in order
    rnd = random.Random(seed)
    checked = {"beats": 0, "releases": 0}

    async def bench(ctx):
        full, last, fill, pos, xsel = [0, 0], [0, 0], 0, 0, 0
        for _ in range(30 * input_size + 40):
            valid, hold, in_last = rnd.random() < 0.7, rnd.random() < 0.2, rnd.random() < 0.3
            release = full[xsel] and rnd.random() < 0.3  # the controller frees the bank it computed on
            ctx.set(dut.in_valid, valid)
            ctx.set(dut.hold, hold)
            ctx.set(dut.in_last, in_last)
            ctx.set(dut.release, release)
            ctx.set(dut.release_bank, xsel)
            ready = not full[fill] and not hold
            assert ctx.get(dut.in_ready) == ready
            assert [ctx.get(dut.full) >> b & 1 for b in range(2)] == full
            assert [ctx.get(dut.last) >> b & 1 for b in range(2) if full[b]] == [last[b] for b in range(2) if full[b]]
            if valid and ready:
                chunk, lane = slots[pos]
                assert (ctx.get(dut.addr), ctx.get(dut.lane_en)) == (fill * xc + chunk, 1 << lane)
                checked["beats"] += 1
                pos += 1
                if pos == input_size:
                    full[fill], last[fill], fill, pos = 1, int(in_last), fill ^ 1, 0
            else:
                assert ctx.get(dut.lane_en) == 0
            if release:
                full[xsel], xsel = 0, xsel ^ 1
                checked["releases"] += 1
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert checked["beats"] > input_size and checked["releases"] > 0


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match=r"^lanes must be an integer >= 1, not 0$"):
        InputBanks(0, 4)
    with pytest.raises(ValueError, match=r"^input size must be an integer >= 1, not 2.5$"):
        InputBanks(2, 2.5)
