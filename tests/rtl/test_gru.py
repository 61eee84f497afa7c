"""A GRU through `hwgen build --target rtl` and `hwgen sim`: Verilator bit-exact against `IntegerGRUModel`, cycles ==
expected_cycles; the library API gives the same; unsupported GRUs are refused by name."""

import json

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.hw.synthetic import write_onnx
from hwgen.model.gru import IntegerGRUModel
from hwgen.rtl.artifact import load
from hwgen.sim.artifact_model import design_from_artifact
from hwgen.sim.verify import verify


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("gru")
    model = write_onnx(root / "gru.onnx", hidden=4, input_size=3, steps=5, layers=2, classes=3, seed=2, cell="gru")
    out = root / "out"
    assert main(["build", str(model), "--target", "rtl", "-o", str(out), "--lanes", "2", "--test-vectors", "3"]) == 0
    return out


def test_build_writes_a_gru_artifact(built):
    art = load(built)
    assert isinstance(art.model, IntegerGRUModel) and art.config.cell == "gru"
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["cell"] == "gru" and "cell" not in manifest["formats"]
    assert {m["name"] for m in manifest["memories"]} == {"weights", "row_params", "act_tables", "head_weights", "head_bias"}
    assert manifest["cycles"]["per_sequence"] == art.config.expected_cycles(5)
    np.testing.assert_array_equal(art.expected(), art.model.run(art.inputs()))


def test_verilator_is_bit_exact_and_takes_expected_cycles(built, capsys):
    design, model = design_from_artifact(built)
    rng = np.random.default_rng(0)
    sequences = [model.quantize_input(rng.uniform(-2, 2, (t, 3))) for t in (5, 1, 3, 5)]
    result = verify(design, sequences, model=model)
    assert result.passed, result.mismatch and result.mismatch.describe()
    assert result.cycles_match
    assert main(["sim", str(built)]) == 0
    assert "bit-exact" in capsys.readouterr().out


def test_unsupported_grus_are_refused_by_name(tmp_path, capsys):
    lbr0 = write_onnx(tmp_path / "lbr0.onnx", hidden=4, input_size=3, steps=2, classes=2, cell="gru", linear_before_reset=0)
    assert main(["build", str(lbr0), "--target", "rtl", "-o", str(tmp_path / "a")]) == 2
    assert "linear_before_reset=0" in capsys.readouterr().err
    gru = write_onnx(tmp_path / "gru.onnx", hidden=4, input_size=8, steps=2, classes=2, cell="gru")
    assert main(["build", str(gru), "--target", "rtl", "-o", str(tmp_path / "b"), "--gate-rows", "4", "--lanes", "1"]) == 2
    assert "gate_rows=4 is for LSTMs" in capsys.readouterr().err
