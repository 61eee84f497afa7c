"""`train_transformer` and `export_transformer_run` on a tiny random BERT: RUN/ layout, every method, the ONNX check."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from hwgen.frontend import load_graph
from hwgen.inspect import inspect_graph
from hwgen.ir.types import Binary, Ternary
from hwgen.quant.transformer_checkpoint import is_transformer_run, load_transformer
from hwgen.quant.transformer_export import export_transformer_run, ort_session, sample_batch
from hwgen.quant.transformer_quant import quant_linears
from hwgen.quant.transformer_train import train_transformer

from .conftest import tiny_train_config


def test_run_layout_and_metrics(tiny_runs):
    run = tiny_runs["float"].run
    assert {p.name for p in run.iterdir()} >= {"checkpoint.pt", "config.json", "metrics.json", "tokenizer"}
    m = json.loads((run / "metrics.json").read_text())
    assert m["status"] == "done" and m["steps"] == 40 and m["history"]
    assert 0 <= m["test_ece"] <= 100 and m["test_accuracy"] > 60  # three easy topics; chance is 33 %
    assert m["baseline"]["method"] == "tfidf+logreg" and m["baseline"]["test_accuracy"] > 60
    assert json.loads((run / "config.json").read_text())["weights"] == "float"
    assert is_transformer_run(run)


def test_training_is_deterministic(tiny_bert, topics_jsonl, tmp_path):
    a = train_transformer(tiny_train_config(tiny_bert, topics_jsonl, steps=3, weights="ternary"), tmp_path / "a")
    b = train_transformer(tiny_train_config(tiny_bert, topics_jsonl, steps=3, weights="ternary"), tmp_path / "b")
    assert a.metrics["test_accuracy"] == b.metrics["test_accuracy"] and a.metrics["test_ece"] == b.metrics["test_ece"]
    for (k, v), (_, w) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(v, w), k


def test_steps_and_limit_cap_training(tiny_bert, topics_jsonl, tmp_path):
    m = train_transformer(tiny_train_config(tiny_bert, topics_jsonl, steps=2, limit=40, valid_each_epoch=False),
                          tmp_path / "r").metrics
    assert m["steps"] == 2 and m["train_texts"] == 40 and m["test_texts"] == 30
    assert "valid_accuracy" not in m["history"][0] and "test_accuracy" in m


@pytest.mark.parametrize("weights", ["int8", "ternary"])
def test_steps_zero_quantises_the_init_run_without_training(tiny_bert, topics_jsonl, tiny_runs, tmp_path, weights):
    """Post-training quantisation: the float run's weights, rounded per row, nothing else changed; it exports."""
    f = tiny_runs["float"]
    r = train_transformer(tiny_train_config(tiny_bert, topics_jsonl, weights=weights, init=str(f.run), steps=0),
                          tmp_path / "ptq")
    m = r.metrics
    assert m["status"] == "done" and m["steps"] == 0
    assert m["history"] == [{"epoch": 0, "step": 0, "valid_accuracy": m["history"][0]["valid_accuracy"],
                             "valid_ece": m["history"][0]["valid_ece"]}]
    floats = {k: v for k, v in f.model.state_dict().items() if not k.endswith((".w0", ".mask"))}
    for k, v in load_transformer(r.run).model.state_dict().items():
        if k in floats:
            assert torch.equal(v, floats[k]), k  # the shadow weights, biases, LayerNorms: untouched
    for q in quant_linears(r.model):
        codes, scale = q.codes_and_scale()
        assert torch.equal(codes.float() * scale[:, None], q.quantized_weight())
        if weights == "int8":  # round to nearest: within half a step of the float weight
            assert (codes.float() * scale[:, None] - q.weight).abs().le(scale[:, None] / 2 * (1 + 1e-5)).all()
        else:
            assert set(codes.unique().tolist()) <= {-1, 0, 1}
    if weights == "int8":  # rounding to 255 levels a row barely moves a prediction
        assert abs(m["test_accuracy"] - f.metrics["test_accuracy"]) <= 100 / m["test_texts"] * 2
    exported = export_transformer_run(r.run, tmp_path / "ptq.onnx")
    assert exported.max_abs_diff <= 1e-4


def test_steps_zero_needs_an_init_run_and_no_training_terms(tiny_bert, topics_jsonl, tiny_runs):
    from hwgen.quant.transformer_quant import QuantConfigError

    f = str(tiny_runs["float"].run)
    for kw in ({}, {"init": f, "distill": "kd", "teachers": (f,)}, {"init": f, "prune": "magnitude", "weights": "int8"}):
        with pytest.raises(QuantConfigError, match="--steps 0 quantises"):
            tiny_train_config(tiny_bert, topics_jsonl, steps=0, **kw)
    with pytest.raises(QuantConfigError, match="--steps must be >= 0"):
        tiny_train_config(tiny_bert, topics_jsonl, steps=-1)


def test_structured_pruning_removes_heads_and_ffn_units(tiny_runs):
    full, pruned = tiny_runs["float"].metrics, tiny_runs["pruned"].metrics
    assert pruned["shape"] == {"heads": [2, 2], "ffn": [32, 32]} and full["shape"] == {"heads": [4, 4], "ffn": [64, 64]}
    assert pruned["trained_parameters"] < full["trained_parameters"]


def test_magnitude_pruning_reaches_its_sparsity(tiny_runs):
    model = load_transformer(tiny_runs["int8"].run).model
    masks = [m.mask for m in quant_linears(model)]
    assert all(mask is not None for mask in masks)
    assert abs(float(sum((1 - k).sum() for k in masks)) / sum(k.numel() for k in masks) - 0.5) < 0.01


@pytest.fixture(scope="module")
def exports(tiny_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("transformer_onnx")
    return {name: export_transformer_run(r.run, out / f"{name}.onnx") for name, r in tiny_runs.items()}


@pytest.mark.parametrize("name", ["float", "ternary", "int8", "binary", "pruned", "bdkd", "ceskd"])
def test_onnxruntime_matches_pytorch(exports, tiny_runs, name):
    report = exports[name]
    assert report.max_abs_diff <= 1e-4
    model = load_transformer(report.run).model
    ids, mask = sample_batch(model, batch=6, seq=24, seed=3)
    got = ort_session(report.path).run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    assert np.abs(got - want).max() <= 1e-4
    assert onnx.load(report.path).ir_version == 10


def _inits(path):
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def test_ternary_codes_and_per_row_scales_behind_dequantize(exports, tiny_runs):
    inits = _inits(exports["ternary"].path)
    lin = load_transformer(tiny_runs["ternary"].run).model.layers[0].attention.self.query
    codes, scale = inits["l0.q.W_codes"], inits["l0.q.W_scale"]
    assert codes.dtype == np.int8 and set(np.unique(codes).tolist()) <= {-1, 0, 1}
    np.testing.assert_array_equal(codes.T, lin.codes_and_scale()[0].numpy())
    np.testing.assert_array_equal(scale, lin.w0[:, 0].numpy())
    assert set(np.unique(_inits(exports["binary"].path)["l1.ffn_out.W_codes"]).tolist()) == {-1, 1}


def test_int8_weights_embeddings_and_pruned_zeros(exports):
    inits = _inits(exports["int8"].path)
    assert inits["emb.word_codes"].dtype == np.int8 and inits["emb.word_scale"].shape == (inits["emb.word_codes"].shape[0],)
    codes = inits["l0.ffn_in.W_codes"]
    assert np.abs(codes).max() <= 127 and 0.45 < np.mean(codes == 0) < 0.6


def test_frontend_sees_exact_ternary_and_binary_weights(exports):
    shapes = {"input_ids": [1, 8], "attention_mask": [1, 8]}
    for name, kind in (("ternary", Ternary), ("binary", Binary)):
        graph = load_graph(exports[name].path, shapes)
        codes = [c for n, c in graph.constants.items() if n.startswith("l0.q.W_codes")]
        assert codes and isinstance(codes[0].type.dtype, kind)
        kinds = {w.kind for w in inspect_graph(graph).weights if "W_codes" in w.name}
        assert kinds == {str(kind())}


def test_pruned_export_is_smaller(exports):
    assert exports["pruned"].path.stat().st_size < exports["float"].path.stat().st_size
    assert exports["ternary"].path.stat().st_size < exports["float"].path.stat().st_size


def test_a_half_precision_model_folder_trains_in_float32(tiny_bert, topics_jsonl, tmp_path):
    """Published folders often hold float16 weights: they are loaded as float32 and train as the float32 folder does."""
    import shutil

    from safetensors.torch import load_file, save_file

    half = tmp_path / "half"
    shutil.copytree(tiny_bert, half)
    weights = load_file(str(half / "model.safetensors"))
    save_file({k: v.half() if v.is_floating_point() else v for k, v in weights.items()}, str(half / "model.safetensors"),
              metadata={"format": "pt"})
    config = json.loads((half / "config.json").read_text())
    (half / "config.json").write_text(json.dumps(dict(config, dtype="float16")))  # as such folders declare it
    result = train_transformer(tiny_train_config(half, topics_jsonl, steps=3), tmp_path / "run")
    assert {p.dtype for p in result.model.parameters()} == {torch.float32}
    assert np.isfinite(result.metrics["test_accuracy"]) and result.metrics["status"] == "done"
