"""The library API: build(graph, out, TvmOptions) -> TvmArtifact, runner.load, symbolic batch / sequence dims.

Models with symbolic dims are built once without shapes and run at several sizes; each run is
compared with the reference interpreter on the graph imported at that size (float) or with
IntegerModel.run (int8 activations, bit for bit)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from hwgen.frontend import load_graph
from hwgen.model.integer_model import IntegerModel
from hwgen.reference import run as interpret
from hwgen.tvm_backend import TvmArtifact, TvmOptions, build, qemu
from hwgen.tvm_backend.errors import TVMBackendError
from hwgen.tvm_backend.runner import load
from tests.rtl.exported import export_perturbed
from tests.tvm_backend import models

#: exported digits / charlm models: hwgen.quant's `hwgen export` layout (ternary BN LSTM, 2 layers)
DIGITS = dict(task="digits", input_size=6, hidden=12, layers=2, outputs=10)
CHARLM = dict(task="charlm", input_size=11, hidden=12, layers=2, outputs=11)


def _float_matches(path, model, x: np.ndarray, output: str) -> None:
    got = model({"x": x})[output]
    expected = interpret(load_graph(path, {"x": x.shape}), {"x": x})[output]
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4


# ---- options ------------------------------------------------------------------------------------


def test_importing_the_package_does_not_import_tvm():
    code = ("import sys, hwgen.tvm_backend as t; assert callable(t.build) and t.TvmOptions and t.TvmArtifact; "
            "assert 'tvm' not in sys.modules, 'tvm imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cpu="arm"), "cpu 'arm' is not one of host, aarch64"),
    (dict(weights="int4"), "weights 'int4' is not one of auto, float"),
    (dict(activations="int4"), "activations 'int4' is not one of f32, int8"),
    (dict(shapes={"x": (1, 0, 3)}), r"shapes\['x'\] = \(1, 0, 3\): every size must be an integer >= 1"),
    (dict(shapes={"x": 3}), r"shapes\['x'\] = 3: expected a tuple of sizes"),
    (dict(shapes={"": (1,)}), "input names must be non-empty strings"),
])
def test_options_are_validated_with_clear_messages(kwargs, message):
    with pytest.raises(TVMBackendError, match=message):
        TvmOptions(**kwargs)


def test_options_are_frozen_values():
    given = {"x": [2, 8, 6]}
    options = TvmOptions(shapes=given)
    given["x"].append(1)  # the options hold their own validated copy
    assert options.shapes == {"x": (2, 8, 6)} and options == TvmOptions(shapes={"x": (2, 8, 6)})
    assert hash(options) == hash(TvmOptions()) and dataclasses.asdict(options)["shapes"] == {"x": (2, 8, 6)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.cpu = "aarch64"  # type: ignore[misc]


# ---- build -> artifact -> runner ---------------------------------------------------------------------


def test_build_artifact_runner_matches_reference(tvm_models, tmp_path):
    path, feeds = tvm_models["ternary_lstm"]
    artifact = build(load_graph(path), tmp_path / "out")
    assert isinstance(artifact, TvmArtifact) and artifact.library == tmp_path / "out" / "model.so"
    assert artifact.manifest == json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert artifact.manifest["symbolic_dims"] == [] and artifact.manifest["specialised_inputs"] == {}
    line = artifact.summary()
    assert line.startswith(f"wrote {artifact.library} (") and "kernels ternary-f32act" in line and "manifest.json" in line
    model = load(tmp_path / "out")
    assert model.input_names == ["x"]
    np.testing.assert_allclose(model(feeds)["y"], interpret(load_graph(path), feeds)["y"], rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    directory = tmp_path_factory.mktemp("exported")
    return {"digits": export_perturbed(directory / "digits.onnx", **DIGITS),
            "charlm": export_perturbed(directory / "charlm.onnx", **CHARLM)}


@pytest.fixture(scope="module")
def digits_f32(exported, tmp_path_factory):
    return build(load_graph(exported["digits"]), tmp_path_factory.mktemp("digits") / "out")


def test_exported_model_with_symbolic_batch_runs_any_batch(exported, digits_f32):
    manifest = digits_f32.manifest
    assert manifest["inputs"] == [{"name": "x", "shape": ["batch", 8, 6], "dtype": "float32"}]
    assert manifest["outputs"] == [{"name": "logits", "shape": ["batch", 10], "dtype": "float32"}]
    assert manifest["symbolic_dims"] == ["batch"]
    assert all(k["batch"] == "batch" and k["steps"] == 8 for k in manifest["lstm_kernels"])
    assert "symbolic batch" in digits_f32.summary()
    model = load(digits_f32.out)
    rng = np.random.default_rng(0)
    for batch in (1, 3):
        _float_matches(exported["digits"], model, rng.random((batch, 8, 6), dtype=np.float32), "logits")
    with pytest.raises(TVMBackendError, match=r"has shape \[2, 7, 6\]; the library was compiled for \['batch', 8, 6\]"):
        model({"x": np.zeros((2, 7, 6), np.float32)})


def test_exported_charlm_with_symbolic_batch_and_sequence(exported, tmp_path):
    artifact = build(load_graph(exported["charlm"]), tmp_path / "out")
    assert artifact.manifest["symbolic_dims"] == ["batch", "steps"]
    assert artifact.manifest["outputs"][0]["shape"] == ["batch", "steps", 11]
    model = load(artifact.out)
    rng = np.random.default_rng(1)
    for batch, steps in ((1, 5), (3, 9), (2, 1)):
        ids = rng.integers(0, 11, (batch, steps))
        _float_matches(exported["charlm"], model, np.eye(11, dtype=np.float32)[ids], "logits")


def test_int8_activations_with_symbolic_batch_are_bit_exact(exported, tmp_path):
    artifact = build(load_graph(exported["digits"]), tmp_path / "out", TvmOptions(activations="int8"))
    assert artifact.manifest["inputs"][0]["shape"] == ["batch", 8, 6] and artifact.manifest["symbolic_dims"] == ["batch"]
    integer = IntegerModel.load(tmp_path / "out" / "model.npz")
    model = load(artifact.out)
    rng = np.random.default_rng(2)
    for batch in (1, 3):
        x = integer.quantize_input(rng.random((batch, 8, 6)))
        np.testing.assert_array_equal(model({"x_int": x})["logits"], integer.run(x))


@pytest.mark.parametrize("activations", ["f32", "int8"])
def test_symbolic_sequence_and_batch_of_a_packed_lstm(tmp_path, activations):
    path, _ = models.qcdq_lstm(tmp_path / "q.onnx", "ternary", 6, 1, 8, 12, head=3, layers=2, seed=4, symbolic=True)
    artifact = build(load_graph(path), tmp_path / "out", TvmOptions(activations=activations))
    assert artifact.manifest["symbolic_dims"] == (["T", "N"] if activations == "f32" else ["N", "T"])
    model = load(artifact.out)
    rng = np.random.default_rng(3)
    for steps, batch in ((5, 1), (9, 3)):
        if activations == "f32":
            _float_matches(path, model, rng.standard_normal((steps, batch, 8)).astype(np.float32), "y")
        else:
            integer = IntegerModel.load(tmp_path / "out" / "model.npz")
            x = rng.integers(integer.input_format.min, integer.input_format.max + 1, (batch, steps, 8))
            np.testing.assert_array_equal(model({"x_int": x})[integer.output], integer.run(x))


@pytest.mark.parametrize("name", ["mlp", "attention"])
def test_float_graphs_with_symbolic_batch_and_sequence(tmp_path, name):
    torch.manual_seed(0)
    if name == "mlp":
        module = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.GELU(), torch.nn.LayerNorm(16), torch.nn.Linear(16, 3))
        example, axes, sizes = np.zeros((2, 6), np.float32), {0: "batch"}, [(1, 6), (5, 6)]
    else:
        module = models.Attention()
        example, axes, sizes = np.zeros((2, 5, 8), np.float32), {0: "batch", 1: "seq"}, [(1, 5, 8), (3, 11, 8)]
    path = models.dynamic_export(module, example, tmp_path / f"{name}.onnx", axes)
    artifact = build(load_graph(path), tmp_path / "out")
    assert artifact.manifest["symbolic_dims"] == list(axes.values())
    model = load(artifact.out)
    for shape in sizes:
        _float_matches(path, model, np.random.default_rng(4).standard_normal(shape).astype(np.float32), "y")


# ---- shapes: the optional specialisation ------------------------------------------------------------------


def test_shapes_specialise_symbolic_dims(exported, tmp_path):
    options = TvmOptions(shapes={"x": (2, 8, 6)})
    artifact = build(load_graph(exported["digits"]), tmp_path / "out", options)
    manifest = artifact.manifest
    assert manifest["inputs"][0]["shape"] == [2, 8, 6] and manifest["symbolic_dims"] == []
    assert manifest["specialised_inputs"] == {"x": [2, 8, 6]} and "specialised x=[2, 8, 6]" in artifact.summary()
    model = load(artifact.out)
    _float_matches(exported["digits"], model, np.random.default_rng(5).random((2, 8, 6), dtype=np.float32), "logits")
    with pytest.raises(TVMBackendError, match=r"compiled for \[2, 8, 6\]"):
        model({"x": np.zeros((3, 8, 6), np.float32)})


@pytest.mark.parametrize("shapes, message", [
    ({"nope": (1, 8, 6)}, r"shapes: 'nope' is not an input of graph .*\(inputs: x f32\[batch, 8, 6\]\)"),
    ({"x": (1, 8)}, r"shapes: 'x' = \[1, 8\] does not fit input 'x' of type f32\[batch, 8, 6\] \(rank 3"),
    ({"x": (1, 7, 6)}, r"shapes: 'x' = \[1, 7, 6\] does not fit input 'x'"),
])
def test_bad_shapes_name_the_input(exported, tmp_path, shapes, message):
    with pytest.raises(TVMBackendError, match=message):
        build(load_graph(exported["digits"]), tmp_path / "out", TvmOptions(shapes=shapes))
    assert not (tmp_path / "out").exists()


def test_inputs_sharing_a_symbolic_dim_must_agree(tvm_models, tmp_path):
    path, _ = tvm_models["lstm_state"]  # x [4, 2, 3], h0 / c0 [1, 2, 5]: make the batch symbolic in all three
    import onnx

    model = onnx.load(str(path))
    for vi in model.graph.input:
        vi.type.tensor_type.shape.dim[1].dim_param = "batch"
    onnx.save(model, str(tmp_path / "state.onnx"))
    artifact = build(load_graph(tmp_path / "state.onnx"), tmp_path / "out")
    assert artifact.manifest["symbolic_dims"] == ["batch"]
    compiled = load(artifact.out)
    rng = np.random.default_rng(6)
    feeds = {"x": rng.standard_normal((4, 3, 3)).astype(np.float32), "h0": rng.standard_normal((1, 3, 5)).astype(np.float32),
             "c0": rng.standard_normal((1, 3, 5)).astype(np.float32)}
    got, expected = compiled(feeds), interpret(load_graph(tmp_path / "state.onnx", {k: v.shape for k, v in feeds.items()}), feeds)
    for name in ("y", "h", "c"):
        assert np.abs(got[name] - expected[name]).max() <= 1e-4
    feeds["c0"] = feeds["c0"][:, :2]
    with pytest.raises(TVMBackendError, match="its dim 'batch' is 2, but 3 in another input"):
        compiled(feeds)


@pytest.mark.skipif(bool(qemu.missing()), reason="needs qemu-user, the aarch64 cross compilers and runtime (make install)")
def test_aarch64_build_with_symbolic_batch_under_qemu(exported, tmp_path):
    artifact = build(load_graph(exported["digits"]), tmp_path / "arm", TvmOptions(cpu="aarch64"))
    assert artifact.manifest["symbolic_dims"] == ["batch"] and "aarch64-linux-gnu" in artifact.summary()
    model = load(artifact.out)
    rng = np.random.default_rng(7)
    for batch in (1, 3):
        _float_matches(exported["digits"], model, rng.random((batch, 8, 6), dtype=np.float32), "logits")
