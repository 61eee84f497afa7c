"""`hwgen build --target tvm` and `hwgen run out/` end to end, the aarch64 cross build, user errors."""

from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.frontend import load_graph
from hwgen.reference import run as interpret
from hwgen.tvm_backend import qemu, quad_kernels
from hwgen.tvm_backend.llvm import llvm_target

EM_AARCH64 = 183


@pytest.fixture(scope="module")
def host_build(tvm_models, tmp_path_factory):
    path, feeds = tvm_models["ternary_lstm"]
    out = tmp_path_factory.mktemp("tvm_build") / "out"
    assert main(["build", str(path), "--target", "tvm", "-o", str(out)]) == 0
    return path, feeds, out


def test_build_writes_library_and_manifest(host_build):
    path, feeds, out = host_build
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["target"] == "tvm" and manifest["cpu"] == "host"
    assert (out / manifest["library"]).stat().st_size > 0
    assert manifest["inputs"] == [{"name": "x", "shape": list(feeds["x"].shape), "dtype": "float32"}]
    assert manifest["outputs"][0]["name"] == "y"
    assert manifest["kernel_variant"] == "ternary-f32act"
    assert manifest["lstm_kernels"][0]["recurrent_weights"] == "ternary"


def test_run_directory_matches_reference(host_build, tmp_path, capsys):
    path, feeds, out = host_build
    np.save(tmp_path / "x.npy", feeds["x"])
    assert main(["run", str(out), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
    expected = interpret(load_graph(path), feeds)["y"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5, atol=1e-6)
    assert "y: float32" in capsys.readouterr().out


def test_run_rejects_a_wrong_input_shape(host_build, tmp_path, capsys):
    _, feeds, out = host_build
    np.save(tmp_path / "x.npy", feeds["x"][:2])
    assert main(["run", str(out), "--input", str(tmp_path / "x.npy")]) == 2
    assert "compiled for" in capsys.readouterr().err


def test_int8_build_runs_bit_exact(tmp_path, capsys):
    from hwgen.model.integer_model import IntegerModel
    from tests.tvm_backend import models

    path, feeds = models.qcdq_lstm(tmp_path / "q.onnx", "ternary", 6, 1, 8, 12, head=3)
    out = tmp_path / "out"
    assert main(["build", str(path), "--target", "tvm", "--tvm-activations", "int8", "-o", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kernel_variant"] == "ternary-int8act" and manifest["inputs"][0]["dtype"] == "int32"
    assert manifest["int8_kernels"] == ("avx2" if quad_kernels.available(llvm_target("host")) else "portable")
    model = IntegerModel.load(out / "model.npz")
    x = np.random.default_rng(0).integers(model.input_format.min, model.input_format.max + 1, (1, 6, 8))
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(out), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model.run(x))


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None, reason="needs gcc-aarch64-linux-gnu (make install)")
def test_aarch64_cross_build_is_an_arm64_elf(tvm_models, tmp_path, capsys):
    path, feeds = tvm_models["binary_bilstm"]
    out = tmp_path / "arm"
    assert main(["build", str(path), "--target", "tvm", "--cpu", "aarch64", "-o", str(out)]) == 0
    header = (out / "model.so").read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 2 and header[5] == 1  # 64-bit, little-endian
    assert struct.unpack_from("<H", header, 18)[0] == EM_AARCH64
    assert json.loads((out / "manifest.json").read_text())["llvm_target"]["mtriple"] == "aarch64-linux-gnu"
    np.save(tmp_path / "x.npy", feeds["x"])
    capsys.readouterr()
    code = main(["run", str(out), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")])
    if qemu.missing():  # no qemu-user / aarch64 TVM runtime here: a clear user error says what is missing
        assert code == 2 and "built for aarch64" in capsys.readouterr().err
        return
    assert code == 0  # the AArch64 library itself, run by the aarch64 TVM runtime under qemu-user
    expected = interpret(load_graph(path), feeds)["y"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5, atol=1e-6)


def test_run_on_a_directory_without_manifest_is_a_user_error(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros(3, np.float32))
    assert main(["run", str(tmp_path), "--input", str(tmp_path / "x.npy")]) == 2
    assert "not a TVM build directory" in capsys.readouterr().err


def test_run_one_symbolic_batch_build_at_two_batch_sizes(tmp_path, capsys):
    """An `hwgen export`-style model (symbolic batch) builds without --shape; `hwgen run OUT/` takes any batch."""
    from tests.rtl.exported import export_perturbed

    path = export_perturbed(tmp_path / "digits.onnx", "digits", 6, 12, 2, 10)
    out = tmp_path / "out"
    assert main(["build", str(path), "--target", "tvm", "-o", str(out)]) == 0
    assert "symbolic batch" in capsys.readouterr().out
    for batch in (1, 3):
        x = np.random.default_rng(batch).random((batch, 8, 6), dtype=np.float32)
        np.save(tmp_path / "x.npy", x)
        assert main(["run", str(out), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
        expected = interpret(load_graph(path, {"x": x.shape}), {"x": x})["logits"]
        assert np.abs(np.load(tmp_path / "y.npy") - expected).max() <= 1e-4


def test_tvm_shape_specialises_a_symbolic_batch(tmp_path, capsys):
    from tests.rtl.exported import export_perturbed

    path = export_perturbed(tmp_path / "digits.onnx", "digits", 6, 12, 2, 10)
    out = tmp_path / "out"
    assert main(["build", str(path), "--target", "tvm", "--shape", "x=2,8,6", "-o", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["inputs"][0]["shape"] == [2, 8, 6]
    assert main(["build", str(path), "--target", "tvm", "--shape", "x=2,7,6", "-o", str(out)]) == 2
    assert "does not fit input 'x'" in capsys.readouterr().err
