"""The C++ Verilator harness on the self-test design: bit-exact outputs, exact cycle counts,
back-pressure on both streams, and a useful report (and waveform) when the RTL is wrong."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwgen.errors import HwgenError
from hwgen.sim.cpp import Stalls, run_cpp
from hwgen.sim.verify import verify
from tests.sim.conftest import CONFIG, random_sequences, stepsum

sequence_lists = st.lists(
    st.integers(1, 7).flatmap(lambda t: st.lists(
        st.lists(st.integers(-128, 127), min_size=CONFIG.elements, max_size=CONFIG.elements),
        min_size=t, max_size=t)),
    min_size=1, max_size=6)


@settings(deadline=None, max_examples=8)
@given(sequence_lists)
def test_outputs_and_cycles_match_the_model(good_design, seqs):
    design, config = good_design
    sequences = [np.array(s, dtype=np.int64) for s in seqs]
    result = verify(design, sequences, isolate=True)
    assert result.passed, result.mismatch
    for seq, out in zip(sequences, result.run.outputs):
        np.testing.assert_array_equal(out, config.run(seq))
    assert result.cycles_match
    assert list(result.measured_cycles) == [config.expected_cycles(len(s)) for s in sequences]


@settings(deadline=None, max_examples=5)
@given(st.integers(0, 900), st.integers(0, 900), st.integers(0, 2**31))
def test_back_pressure_never_changes_outputs(good_design, stall_in, stall_out, seed):
    design, config = good_design
    sequences = random_sequences(np.random.default_rng(seed), 12, 5)
    run = run_cpp(design, sequences, Stalls(stall_in, stall_out, seed))
    assert run.status == "ok"
    for seq, out in zip(sequences, run.outputs):
        np.testing.assert_array_equal(out, config.run(seq))
    # stalls only add cycles; with none, back-to-back sequences overlap (input buffered while busy)
    assert run.cycles >= run_cpp(design, sequences).cycles


def test_back_to_back_is_faster_than_isolated(good_design):
    design, _ = good_design
    sequences = random_sequences(np.random.default_rng(3), 20, 6)
    assert verify(design, sequences).run.cycles <= verify(design, sequences, isolate=True).run.cycles


def test_wrong_output_is_located_with_a_waveform(tmp_path_factory, tmp_path):
    design, config = stepsum(tmp_path_factory, fault="output")
    rng = np.random.default_rng(7)
    sequences = random_sequences(rng, 10, 4)
    sums = [config.run(s) for s in sequences]
    culprit = next(i for i, s in enumerate(sums) if s[1] % 2)  # the fault: odd element 1 comes out + 1
    vcd = tmp_path / "wave.vcd"
    result = verify(design, sequences, vcd=vcd)
    assert not result.passed
    m = result.mismatch
    assert (m.sequence, m.index, m.neuron, m.step) == (culprit, 1, 1, len(sequences[culprit]) - 1)
    assert (m.expected, m.actual) == (int(sums[culprit][1]), int(sums[culprit][1]) + 1)
    assert m.vcd == vcd and vcd.exists()
    text = vcd.read_text()
    assert "out_data" in text and re.search(rf"^#{2 * m.cycle}$", text, re.M)  # the window holds the beat
    assert f"sequence {culprit}, step {m.step}, neuron 1" in m.describe()


def test_inputs_are_checked_before_simulating(good_design):
    design, _ = good_design
    with pytest.raises(HwgenError, match=r"shape \[2, 4\] is not \(steps >= 1, 3\)"):
        verify(design, [np.zeros((2, 4), np.int64)])
    with pytest.raises(HwgenError, match=r"must lie in \[-128, 127\]"):
        verify(design, [np.full((2, 3), 300, np.int64)])
    with pytest.raises(HwgenError, match="unknown simulation engine 'iverilog'"):
        verify(design, [np.zeros((2, 3), np.int64)], engine="iverilog")
