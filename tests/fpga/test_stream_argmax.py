"""Boards built with --stream argmax: the StepArgmax stage in amaranth.sim (ties go to the first largest logit, as
numpy.argmax), and the tiny char-LM's whole board top in the Verilator host simulation."""

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from hwgen.errors import HwgenError
from hwgen.fpga.board_run import board_session, run_on_board
from hwgen.fpga.generate import Sampling, generate, reference_stepper, run_generation
from hwgen.fpga.protocol import StreamMode
from hwgen.fpga.step_argmax import StepArgmax
from tests.fpga.charlm import board_folder, train_tiny_charlm


def argmax_stage(steps: list[list[int]], width: int = 6) -> list[tuple[int, int]]:
    """Each step's K logits through StepArgmax, one beat a cycle: the (index, last) beats it offers."""
    dut = StepArgmax(width=width, outputs=len(steps[0]))
    got = []

    async def bench(ctx):
        ctx.set(dut.out_ready, 1)
        for s, logits in enumerate(steps):
            for k, v in enumerate(logits):
                ctx.set(dut.in_data, v)
                ctx.set(dut.in_valid, 1)
                ctx.set(dut.in_last, s == len(steps) - 1 and k == len(logits) - 1)
                if ctx.get(dut.out_valid):
                    got.append((ctx.get(dut.out_data), ctx.get(dut.out_last)))
                await ctx.tick()
        ctx.set(dut.in_valid, 0)
        for _ in range(2):  # the last step's index leaves a cycle after its last beat
            if ctx.get(dut.out_valid):
                got.append((ctx.get(dut.out_data), ctx.get(dut.out_last)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return got


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5).flatmap(lambda k: st.lists(st.lists(st.integers(-4, 3), min_size=k, max_size=k),
                                                    min_size=1, max_size=4)))
def test_the_stage_gives_each_steps_first_largest_logit(steps):
    got = argmax_stage(steps)
    assert [k for k, _ in got] == [int(np.argmax(s)) for s in steps]  # small range: ties are common
    assert [last for _, last in got] == [0] * (len(steps) - 1) + [1]


def test_an_index_that_does_not_fit_the_word_is_refused():
    with pytest.raises(ValueError, match="does not fit a 4-bit"):
        StepArgmax(width=4, outputs=9)


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return train_tiny_charlm(tmp_path_factory.mktemp("charlm"))


@pytest.fixture(scope="module")
def folder(lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    board_folder(lm, out, stream="argmax")
    return out


def test_sequences_return_one_argmax_word_per_step(folder, lm):
    ids = np.random.default_rng(0).integers(0, len(lm.vocab.symbols), (2, 5))
    x = lm.model.quantize_input(np.eye(len(lm.vocab.symbols))[ids])
    result = run_on_board(folder, None, x)  # no port: the host simulation
    assert result.stream == StreamMode.ARGMAX and result.outputs.shape == (2, 5)
    np.testing.assert_array_equal(result.outputs, lm.model.run(x).argmax(axis=-1))
    assert result.bit_exact and len(result.step_lines()) == 5


def test_greedy_text_equals_the_reference_and_sampling_is_refused(folder, lm):
    with board_session(folder) as dev:
        info = dev.info()
    assert info.mode == StreamMode.ARGMAX and info.step_outputs == 1
    got = generate(folder, "a ", 8)
    want = run_generation(lm.model, StreamMode.ARGMAX, lm.vocab, "a ", 8, Sampling(),
                          reference_stepper(lm.model, StreamMode.ARGMAX))
    assert got.text == want.text and got.bit_exact
    np.testing.assert_array_equal(got.outputs, want.outputs)
    with pytest.raises(HwgenError, match="--stream argmax.*--temperature 0"):
        generate(folder, "a ", 8, sampling=Sampling(0.5))
