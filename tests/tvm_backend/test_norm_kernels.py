"""`norm_kernels.layer_norm`, LayerNormalization over a static last axis: a whole ONNX node compiled for TVM against
onnxruntime over a symbolic number of rows, with a row length of whole vectors (the kernel) and one that is not
(Relax's layer_norm), and per-row constant inputs (variance 0: only eps keeps the division finite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwgen.frontend import load_graph
from hwgen.tvm_backend import norm_kernels, runner
from hwgen.tvm_backend.library import compile_lowered, manifest_for
from hwgen.tvm_backend.lower import lower_graph


def layer_norm_model(path: Path, k: int, rng: np.random.Generator) -> Path:
    gamma = rng.uniform(0.5, 1.5, k).astype(np.float32)
    beta = rng.normal(size=k).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["y"], name="ln", axis=-1, epsilon=1e-5)],
        "ln", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "seq", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "seq", k])],
        [numpy_helper.from_array(gamma, "gamma"), numpy_helper.from_array(beta, "beta")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("k", [384, 20])
def test_layer_norm_matches_onnxruntime_over_any_number_of_rows(k: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(k)
    path = layer_norm_model(tmp_path / "ln.onnx", k, rng)
    lowered = lower_graph(load_graph(path))
    kernels = [gv.name_hint for gv in lowered.module.get_global_vars()]
    assert any(name.startswith("layer_norm") for name in kernels) == norm_kernels.fits(k)
    model = runner.from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for seq in (1, 7, 64):
        x = (rng.normal(size=(1, seq, k)) * 3 + 1).astype(np.float32)
        x[0, 0] = 2.5  # a constant row: variance 0
        want = session.run(None, {"x": x})[0]
        np.testing.assert_allclose(model({"x": x})["y"], want, rtol=1e-5, atol=2e-5)


def test_softmax_over_a_symbolic_last_axis_matches_onnxruntime(tmp_path: Path) -> None:
    """Attention's shape: [batch, heads, seq, seq], the row length symbolic (whole vectors, a tail, shorter than
    one vector), with a -1e4 mask added to some columns as BERT masks padding."""
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=-1)], "sm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "seq", "seq"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, "seq", "seq"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(tmp_path / "sm.onnx"))
    lowered = lower_graph(load_graph(tmp_path / "sm.onnx"))
    assert any(gv.name_hint.startswith("softmax") for gv in lowered.module.get_global_vars())
    compiled = runner.from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
    session = ort.InferenceSession(str(tmp_path / "sm.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for batch, seq in ((1, 1), (2, 5), (1, 40), (1, 64)):
        x = (rng.normal(size=(batch, 3, seq, seq)) * 4).astype(np.float32)
        x[..., seq // 2:] += -1e4 if seq > 1 else 0
        np.testing.assert_allclose(compiled({"x": x})["y"], session.run(None, {"x": x})[0], rtol=1e-5, atol=1e-7)
