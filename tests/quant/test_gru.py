"""GRU training and export: float mode is nn.GRU, BN-GRU trains and folds, the export is a standard ONNX GRU
that onnxruntime, PyTorch, hwgen's frontend + float interpreter all agree on; the rtl and fpga targets take it."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from hwgen.errors import UnsupportedError
from hwgen.frontend import load_graph
from hwgen.ir.ops import GRUAttrs
from hwgen.ir.types import Ternary
from hwgen.passes.match_lstm_stack import accelerator_reasons, match_lstm_stack
from hwgen.quant.export import export_model, export_run, sample_input, to_onnx
from hwgen.quant.fold import onnx_gate_rows
from hwgen.quant.gru_layer import QuantGRULayer
from hwgen.quant.model import ModelConfig, QuantLSTMModel
from hwgen.quant.ste import weight_codes
from hwgen.quant.train import train
from hwgen.reference import run as interpret
from tests.quant.conftest import tiny_config


def test_float_gru_is_nn_gru_forward_and_backward():
    torch.manual_seed(0)
    layer = QuantGRULayer(5, 7, "float")
    ref = torch.nn.GRU(5, 7)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(layer, name))
    x = torch.randn(6, 3, 5)
    y, y_ref = layer(x), ref(x)[0]
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)
    y.square().sum().backward()
    y_ref.square().sum().backward()
    torch.testing.assert_close(layer.weight_hh.grad, ref.weight_hh_l0.grad)


def test_bn_gru_tracks_statistics_and_fold_mode_is_the_eval_cell():
    torch.manual_seed(0)
    layer = QuantGRULayer(4, 6, "ternary", bn=True, steps=5)
    assert layer.weight_hh.shape == (18, 6) and not hasattr(layer, "gamma_c")
    for _ in range(4):
        layer(torch.randn(5, 16, 4) + torch.arange(5.0)[:, None, None]).sum().backward()
    assert torch.all(layer.mean_h[0] == 0) and layer.mean_h[1:].abs().sum() > 0  # h_0 = 0: R·h is 0 at step 0
    x = torch.randn(5, 8, 4)
    layer.fold_bn = True  # training with the pooled running statistics == eval with them
    before = {k: v.clone() for k, v in layer.named_buffers()}
    y_fold = layer(x)
    layer.eval()
    for k, v in layer.named_buffers():  # eval must read the statistics fold mode read (it updated them after)
        v.copy_(before[k])
    torch.testing.assert_close(y_fold, layer(x), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def gru_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gru_runs")
    torch.set_num_threads(1)
    return {"ternary": train(tiny_config(cell="gru"), root / "ternary"),
            "binary_nobn": train(tiny_config(cell="gru", weights="binary", bn=False, epochs=1), root / "binary_nobn")}


@pytest.mark.parametrize("name", ["ternary", "binary_nobn"])
def test_export_is_a_standard_gru_matching_pytorch_and_the_interpreter(gru_runs, tmp_path, name):
    report = export_run(gru_runs[name].run, tmp_path / "gru.onnx", evaluate_metric=False)
    assert report.max_abs_diff <= 1e-5
    m = onnx.load(report.path)
    assert not m.functions and [n.op_type for n in m.graph.node if n.op_type == "GRU"] == ["GRU"]
    gru = next(n for n in m.graph.node if n.op_type == "GRU")
    assert {a.name: a.i for a in gru.attribute}["linear_before_reset"] == 1
    graph = load_graph(report.path)
    node = next(graph.nodes_of(GRUAttrs))
    assert node.attrs.linear_before_reset == 1
    w_type = graph.constants[graph.producer(node.inputs[2]).inputs[0]].type.dtype
    assert isinstance(w_type, Ternary) or name == "binary_nobn"
    x = sample_input(gru_runs[name].model, batch=5)
    want = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"]).run(["logits"], {"x": x})[0]
    got = next(iter(interpret(graph, {"x": x}).values()))
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_export_codes_are_the_trained_codes_in_onnx_gate_order(gru_runs, tmp_path):
    model = gru_runs["ternary"].model
    m = to_onnx(model)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    layer = model.layers[0]
    want = weight_codes(layer.weight_hh, "ternary", layer.w0_hh).numpy()[onnx_gate_rows(8, "gru")]
    np.testing.assert_array_equal(inits["gru0.R_codes"][0], want)
    assert list(onnx_gate_rows(2, "gru")) == [2, 3, 0, 1, 4, 5]  # torch (r, z, n) -> ONNX (z, r, h)


def test_charlm_gru_exports_every_step(tmp_path):
    torch.manual_seed(0)
    model = QuantLSTMModel(ModelConfig("charlm", 11, 6, 2, 11, "ternary", bn=True, steps=5, cell="gru"))
    model.train()
    for _ in range(3):
        model(torch.from_numpy(sample_input(model, batch=8, steps=5)))
    path, diff = export_model(model, tmp_path / "lm.onnx")
    assert diff <= 1e-5
    from hwgen.passes.lower_gru import lower_gru, match_gru_stack

    stack = match_gru_stack(load_graph(path))
    assert stack.every_step and len(stack.layers) == 2
    x = sample_input(model, batch=3, steps=7)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(stack.run_float(x), want, atol=1e-4)
    integer = lower_gru(stack, calibration=x)
    assert integer.output_steps == "every_step" and integer.run_real(x).shape == (3, 7, 11)


def test_a_trained_gru_is_an_rtl_and_board_graph_and_not_an_lstm_graph(gru_runs, tmp_path):
    from hwgen.fpga import target as fpga_target
    from hwgen.rtl import target as rtl_target

    path, _ = export_model(gru_runs["ternary"].model, tmp_path / "gru.onnx")
    graph = load_graph(path)
    assert rtl_target.check(graph) == []
    assert fpga_target.check(graph) == []
    assert accelerator_reasons(graph)[0].endswith("are GRUs, not an LSTM stack (a GRU stack is matched by "
                                                  "hwgen.passes.lower_gru: --target rtl and tvm build it)")
    with pytest.raises(UnsupportedError, match="are GRUs, not an LSTM stack"):
        match_lstm_stack(graph)


def test_cli_builds_a_trained_gru_for_rtl_and_fits_it_to_a_board(gru_runs, tmp_path):
    """The trained, exported GRU's RTL artefact holds its integer spec (Verilator runs GRUs in tests/rtl/test_gru.py);
    its board design is a GRU's (the board top runs in tests/fpga/test_gru_board.py)."""
    from hwgen.fpga.api import design
    from hwgen.fpga.options import BoardOptions
    from hwgen.rtl.options import AccelOptions
    from hwgen.cli import main
    from hwgen.rtl.artifact import load

    path, _ = export_model(gru_runs["ternary"].model, tmp_path / "gru.onnx")
    assert main(["build", str(path), "--target", "rtl", "-o", str(tmp_path / "rtl")]) == 0
    art = load(tmp_path / "rtl")
    assert art.config.cell == "gru" and art.model.weights_kind == "ternary"
    np.testing.assert_array_equal(art.expected(), art.model.run(art.inputs()))
    fpga = design(load_graph(path), AccelOptions(), BoardOptions(board="icebreaker"))
    assert fpga.config.cell == "gru" and fpga.config.weight_memory == "spram"
    np.testing.assert_array_equal(fpga.model.run(art.inputs()), art.expected())


def test_cli_train_cell_gru(tmp_path, capsys):
    from hwgen.cli import main

    rc = main(["train", "lstm", "--cell", "gru", "--hidden", "4", "--epochs", "1", "--quiet", "-o", str(tmp_path / "r")])
    assert rc == 0 and "ternary GRU (hidden 4" in capsys.readouterr().out
    from hwgen.quant.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "r").model.config.cell == "gru"


def test_trained_gru_lowers_to_the_integer_spec_with_its_codes(gru_runs, tmp_path):
    from hwgen.passes.lower_gru import lower_gru, match_gru_stack
    from hwgen.quant.data import digits_split

    model = gru_runs["ternary"].model
    path, _ = export_model(model, tmp_path / "gru.onnx")
    graph = load_graph(path)
    x, _ = digits_split(0)
    stack = match_gru_stack(graph)
    integer = lower_gru(stack, calibration=x)
    layer = model.layers[0]
    want_codes = weight_codes(layer.weight_ih, "ternary", layer.w0_ih).numpy()[onnx_gate_rows(8, "gru")]
    np.testing.assert_array_equal(integer.layers[0].w_codes, want_codes)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(stack.run_float(x), want, atol=1e-4)
    got = integer.run_real(x)
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.95
