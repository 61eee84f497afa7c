"""Verilator: an accelerator whose input lanes do not divide (input 7, 4 lanes: one pad slot per step).

Binary weights have no 0 code, so their pad columns hold +1: the outputs are bit-exact only if every pad
slot of the x memory reads 0 — from the Verilog's initial contents, across back-to-back and isolated
sequences, under back-pressure and after resets in the middle of a sequence (cocotb)."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.hw.synthetic import write_onnx
from hwgen.sim.artifact_model import design_from_artifact
from hwgen.sim.design import as_sequences
from hwgen.sim.verify import Stalls, verify


@pytest.fixture(scope="module")
def padded(tmp_path_factory):
    root = tmp_path_factory.mktemp("padded")
    onnx_path = write_onnx(root / "m.onnx", hidden=8, input_size=7, steps=3, classes=3, kind="binary", seed=5)
    out = root / "rtl"
    assert main(["build", str(onnx_path), "--target", "rtl", "-o", str(out), "--lanes", "4", "--test-vectors", "5"]) == 0
    design, model = design_from_artifact(out)
    assert model.artifact.config.padded_input() == 8 and design.step_elements == 7
    return out, design, model


def test_isolated_sequences_are_bit_exact_and_take_expected_cycles(padded):
    out, design, model = padded
    sequences = as_sequences(np.load(out / "vectors" / "inputs.npy"), design.step_elements)
    result = verify(design, sequences, model=model, isolate=True)
    assert result.passed, result.mismatch and result.mismatch.describe()
    np.testing.assert_array_equal(np.stack(result.run.outputs), np.load(out / "vectors" / "expected.npy"))
    assert result.cycles_match


def test_back_pressure_and_mixed_lengths(padded):
    out, design, model = padded
    rng = np.random.default_rng(1)
    sequences = [rng.integers(-128, 128, (int(rng.integers(1, 5)), 7)) for _ in range(8)]
    result = verify(design, sequences, model=model, stalls=Stalls(300, 300, 2))
    assert result.passed, result.mismatch and result.mismatch.describe()


def test_resets_mid_sequence_keep_pad_slots_zero(padded):
    out, design, model = padded
    rng = np.random.default_rng(2)
    sequences = [rng.integers(-128, 128, (int(rng.integers(1, 4)), 7)) for _ in range(4)]
    result = verify(design, sequences, engine="cocotb", model=model, stalls=Stalls(200, 200, 3), reset_mid_sequence=True)
    assert result.passed, result.mismatch and result.mismatch.describe()
    assert result.resets_checked[0].startswith("reset after ")
