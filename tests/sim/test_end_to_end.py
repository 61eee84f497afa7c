"""End to end: train a ternary digits LSTM, export ONNX, build the RTL, simulate the whole
test split with the C++ harness; every prediction must equal the integer reference's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.quant.data import digits_split
from hwgen.quant.pipeline import train_and_export_digits
from hwgen.sim.artifact_model import design_from_artifact
from hwgen.sim.design import as_sequences
from hwgen.sim.verify import verify


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("digits")
    onnx_path = train_and_export_digits(root, weights="ternary", hidden=16, epochs=8, seed=0)
    x, y = digits_split(0)
    np.save(root / "x.npy", x)
    np.save(root / "y.npy", y)
    out = root / "rtl"
    assert main(["build", str(onnx_path), "--target", "rtl", "-o", str(out), "--calibrate", str(root / "x.npy")]) == 0
    return {"root": root, "out": out, "x": root / "x.npy", "y": root / "y.npy"}


def test_whole_test_split_matches_the_integer_reference(digits, capsys):
    design, model = design_from_artifact(digits["out"])
    x_float, labels = np.load(digits["x"]), np.load(digits["y"])
    sequences = as_sequences(model.quantize_input(x_float), design.step_elements)
    result = verify(design, sequences, model=model)
    assert result.passed, result.mismatch and result.mismatch.describe()
    reference = np.argmax(model.artifact.model.run(np.stack(sequences)), axis=1)
    rtl = result.predictions()
    assert len(rtl) == len(labels) == len(x_float)
    np.testing.assert_array_equal(rtl, reference)  # 100% identical predictions
    accuracy = float(np.mean(rtl == labels))
    assert result.cycles_match  # first sequence: exactly expected_cycles(T)
    with capsys.disabled():
        print(f"\n[sim e2e] ternary digits LSTM H=16: RTL accuracy {accuracy:.4f} on {len(labels)} test sequences, "
              f"predictions identical to the integer reference; {result.run.cycles:,} cycles, "
              f"{result.run.cycles_per_cpu_second:,.0f} simulated cycles/CPU-s")
    assert accuracy > 0.5


def test_cli_reports_bit_exact_and_accuracy(digits, capsys):
    rc = main(["sim", str(digits["out"]), "--input", str(digits["x"]), "--labels", str(digits["y"]), "--limit", "40"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "bit-exact" in text and "accuracy (RTL / reference)" in text and "40 (steps 8–8)" in text


def test_cli_isolated_sequences_each_take_expected_cycles(digits, capsys):
    assert main(["sim", str(digits["out"]), "--isolate", "--limit", "3"]) == 0
    assert "yes, every sequence (isolated)" in " ".join(capsys.readouterr().out.split())


def test_cli_mismatch_exits_1_with_location_and_waveform(digits, tmp_path, capsys):
    """Same Verilog, model whose dense bias for class 3 is one higher: every logit 3 differs by one."""
    out = tmp_path / "tampered"
    shutil.copytree(digits["out"], out)
    arrays = dict(np.load(out / "model.npz"))
    arrays["head_b"] = arrays["head_b"].copy()
    arrays["head_b"][3] += 1
    np.savez(out / "model.npz", **arrays)
    rc = main(["sim", str(out), "--input", str(digits["x"]), "--limit", "5"])
    text = capsys.readouterr().out.replace("\n", " ")
    assert rc == 1
    assert "MISMATCH" in text and "sequence 0, step 7, neuron 3" in " ".join(text.split())
    assert (out / "mismatch.vcd").exists() and (out / "mismatch.vcd").stat().st_size > 1000


def test_cli_bad_input_exits_2(digits, tmp_path, capsys):
    np.save(tmp_path / "wrong.npy", np.zeros((2, 8, 5), np.float32))
    assert main(["sim", str(digits["out"]), "--input", str(tmp_path / "wrong.npy")]) == 2
    assert "5 features per step; the model takes 8" in capsys.readouterr().err
    assert main(["sim", str(tmp_path / "missing")]) == 2
    assert main(["sim", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_spram_weights_are_uploaded_before_the_first_sequence(tmp_path):
    """SPRAM cannot be preloaded by a bitstream: the simulation writes mem/weights.hex over wmem_* first."""
    from hwgen.hw.synthetic import write_onnx

    onnx_path = write_onnx(tmp_path / "m.onnx", hidden=8, input_size=8, steps=3, classes=4, seed=2)
    out = tmp_path / "rtl"
    assert main(["build", str(onnx_path), "--target", "rtl", "-o", str(out), "--weight-memory", "spram",
                 "--lanes", "4", "--test-vectors", "6"]) == 0
    design, model = design_from_artifact(out)
    assert design.upload == out / "mem" / "weights.hex" and len(design.upload_words()) > 0
    assert [p.name.startswith("SB_SPRAM256KA_") for p in design.extra_sources] == [True]  # yosys' model
    sequences = as_sequences(np.load(out / "vectors" / "inputs.npy"), design.step_elements)
    result = verify(design, sequences, model=model, isolate=True)
    assert result.passed, result.mismatch and result.mismatch.describe()
    np.testing.assert_array_equal(np.stack(result.run.outputs), np.load(out / "vectors" / "expected.npy"))
    assert result.cycles_match  # every sequence: exactly expected_cycles(T)
