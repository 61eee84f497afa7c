"""Every model of the frontend test set compiles with TVM and matches the reference interpreter."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from hwgen.frontend import load_graph
from hwgen.reference import run as interpret
from hwgen.tvm_backend.library import compile_lowered, manifest_for
from hwgen.tvm_backend.lower import lower_graph
from hwgen.tvm_backend.runner import from_executable

FLOAT_MODELS = ["lstm1", "lstm2_batch_first", "lstm_bidirectional", "lstm_state", "lstm_linear", "transformer"]
PACKED = {"ternary_lstm": "ternary", "binary_bilstm": "binary"}


def compile_and_compare(path, feeds):
    graph = load_graph(path)
    lowered = lower_graph(graph)
    model = from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
    got = model(feeds)
    expected = interpret(graph, feeds)
    assert set(got) == {v.name for v in graph.outputs}
    for name, value in got.items():
        assert value.shape == expected[name].shape, name
        np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    return lowered, got


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_float_model_matches_reference(tvm_models, name):
    path, feeds = tvm_models[name]
    lowered, got = compile_and_compare(path, feeds)
    lstms = [k for k in lowered.kernels]
    assert all(k.recurrent_weights == "float" for k in lstms)
    assert (len(lstms) > 0) == name.startswith("lstm")
    # and the reference itself agrees with onnxruntime, so TVM matches the ONNX semantics too
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    first = session.get_outputs()[0].name
    np.testing.assert_allclose(got[first], session.run([first], feeds)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(PACKED))
def test_packed_lstm_uses_packed_kernels_and_matches_reference(tvm_models, name):
    path, feeds = tvm_models[name]
    lowered, _ = compile_and_compare(path, feeds)
    kind = PACKED[name]
    assert lowered.kernels and all(k.recurrent_weights == kind and k.input_weights == kind for k in lowered.kernels)
    assert lowered.variant == f"{kind}-f32act"
    for k in lowered.kernels:  # 2 (1) bits per weight plus panel/word padding, far below float32
        float_bytes = 4 * 4 * k.hidden * (k.input + k.hidden)
        assert k.weight_bytes * 8 <= float_bytes
