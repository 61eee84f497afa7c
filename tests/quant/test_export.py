"""`hwgen export`: (a) onnxruntime matches PyTorch eval within 1e-5, (b) int8 codes + DequantizeLinear
with per-row scales, (c) hwgen's frontend imports LSTM IR nodes with Ternary/Binary weights."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from hwgen.frontend import load_graph
from hwgen.ir.ops import DequantizeAttrs, LSTMAttrs
from hwgen.ir.types import Binary, Float32, Ternary
from hwgen.quant.checkpoint import load_checkpoint
from hwgen.quant.data import digits_split
from hwgen.quant.export import export_run, onnxruntime_diff, sample_input, to_onnx
from hwgen.quant.fold import onnx_gate_rows
from hwgen.quant.model import ModelConfig, QuantLSTMModel
from hwgen.quant.onnx_function import DOMAIN, OP
from hwgen.quant.ste import weight_codes
from hwgen.reference import run as interpret

RUNS = ["ternary", "binary_nobn", "float", "ternary_2layer"]


@pytest.fixture(scope="module")
def exported(digits_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    return {name: export_run(digits_runs[name].run, out / f"{name}.onnx", evaluate_metric=(name == "ternary"))
            for name in RUNS}


@pytest.mark.parametrize("name", RUNS)
def test_a_onnxruntime_matches_pytorch_on_the_test_split(exported, name):
    report = exported[name]
    assert report.max_abs_diff <= 1e-5
    x, _ = digits_split(0)
    got = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"]).run(["logits"], {"x": x})[0]
    model = load_checkpoint(report.run).model
    model.freeze()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() <= 1e-5


def test_report_gives_folded_and_per_step_metric(exported):
    r = exported["ternary"]
    assert r.metric == "accuracy" and 0 <= r.folded <= 100 and 0 <= r.per_step <= 100


def test_b_int8_codes_behind_dequantize_with_per_row_scales(exported, digits_runs):
    m = onnx.load(exported["ternary"].path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    layer = digits_runs["ternary"].model.layers[0]
    codes = inits["lstm0.R_codes"]
    assert codes.dtype == np.int8 and set(np.unique(codes)) <= {-1, 0, 1}
    want = weight_codes(layer.weight_hh, "ternary", layer.w0_hh).numpy()[onnx_gate_rows(8)]
    np.testing.assert_array_equal(codes[0], want)
    deq = [n for n in m.graph.node if n.op_type == "DequantizeLinear"]
    assert {n.output[0] for n in deq} == {"lstm0.W", "lstm0.R"}
    assert all(inits[n.input[1]].shape == (32,) for n in deq)  # one scale per row (4H)
    assert [f.name for f in m.functions] == [OP] and any(n.domain == DOMAIN and n.op_type == OP for n in m.graph.node)
    binary = {t.name: numpy_helper.to_array(t) for t in onnx.load(exported["binary_nobn"].path).graph.initializer}
    assert set(np.unique(binary["lstm0.W_codes"])) <= {-1, 1}
    assert [n.op_type for n in onnx.load(exported["binary_nobn"].path).graph.node].count("LSTM") == 1


@pytest.mark.parametrize("name, kind", [("ternary", Ternary()), ("binary_nobn", Binary()), ("ternary_2layer", Ternary()),
                                        ("float", Float32())])
def test_c_frontend_imports_lstm_nodes_with_exact_weights(exported, name, kind):
    path = exported[name].path
    graph = load_graph(path)
    lstms = [n for n in graph.nodes if isinstance(n.attrs, LSTMAttrs)]
    assert len(lstms) == (2 if name == "ternary_2layer" else 1)
    producers = {o: n for n in graph.nodes for o in n.outputs}
    for node in lstms:
        for idx in (LSTMAttrs.W, LSTMAttrs.R):
            src = node.inputs[idx]
            if isinstance(kind, Float32):
                assert src in graph.constants and graph.constants[src].type.dtype == Float32()
                continue
            deq = producers[src]
            assert isinstance(deq.attrs, DequantizeAttrs) and deq.attrs.axis == 1
            assert graph.constants[deq.inputs[0]].type.dtype == kind
        has_cell = len(node.inputs) > LSTMAttrs.CELL_SHIFT and node.inputs[LSTMAttrs.CELL_SCALE] != ""
        assert has_cell == (name != "binary_nobn" and name != "float")
    x, _ = digits_split(0)
    ours = interpret(graph, {"x": x[:64]})["logits"]
    theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x[:64]})[0]
    assert np.abs(ours - theirs).max() <= 1e-4


def test_charlm_two_layer_bn_model_exports_exactly():
    torch.manual_seed(0)
    model = QuantLSTMModel(ModelConfig("charlm", 11, 6, 2, 11, "ternary", bn=True, steps=5))
    model.train()
    for _ in range(3):  # give the running statistics non-trivial values
        model(torch.nn.functional.one_hot(torch.randint(0, 11, (8, 5)), 11).float())
    model.eval()
    m = to_onnx(model)
    x = sample_input(model, batch=3, steps=7)  # longer than the training sequence: shared statistics still apply
    assert onnxruntime_diff(model, m, x) <= 1e-5


def test_frontend_refuses_bnlstm_with_initial_state(exported, tmp_path):
    from hwgen.errors import HwgenError
    from hwgen.frontend import import_onnx

    m = onnx.load(exported["ternary"].path)
    node = next(n for n in m.graph.node if n.op_type == OP)
    node.input[4] = "lstm0.B"  # any value: the position is reserved
    with pytest.raises(HwgenError, match="initial_h/initial_c are not supported on BNLSTM"):
        import_onnx(m, "bad.onnx")
