"""The cocotb testbench (driver, monitor, model, scoreboard) through cocotb_tools.runner."""

from __future__ import annotations

import numpy as np

from hwgen.sim.cpp import Stalls
from hwgen.sim.verify import verify
from tests.sim.conftest import random_sequences, stepsum


def test_back_pressure_resets_and_mixed_lengths_pass(good_design):
    design, config = good_design
    sequences = random_sequences(np.random.default_rng(11), 8, 6)
    assert len({len(s) for s in sequences}) > 2  # back to back, different lengths
    result = verify(design, sequences, engine="cocotb", stalls=Stalls(250, 350, 4), reset_mid_sequence=True)
    assert result.passed, (result.bench_errors, result.mismatch)
    assert result.resets_checked[0].startswith("reset after ") and result.resets_checked[1] == "reset while computing"
    for seq, out in zip(sequences, result.run.outputs):
        np.testing.assert_array_equal(out, config.run(seq))


def test_without_back_pressure_the_first_sequence_takes_expected_cycles(good_design):
    design, config = good_design
    sequences = random_sequences(np.random.default_rng(12), 3, 5)
    result = verify(design, sequences, engine="cocotb")
    assert result.passed and result.cycles_match
    assert result.measured_cycles[0] == config.expected_cycles(len(sequences[0]))


def test_state_surviving_a_reset_is_caught(tmp_path_factory):
    """A design whose reset leaves the sums alone passes plain streaming but not the reset scenario."""
    design, _ = stepsum(tmp_path_factory, fault="reset")
    sequences = random_sequences(np.random.default_rng(13), 4, 4)
    result = verify(design, sequences, engine="cocotb", reset_mid_sequence=True)
    assert not result.passed
    assert result.bench_errors and result.bench_errors[0].startswith("sequence 0: output ")
    assert result.mismatch is not None and result.mismatch.sequence == 0
    assert result.mismatch.vcd == design.workdir / "mismatch.vcd" and result.mismatch.vcd.exists()
