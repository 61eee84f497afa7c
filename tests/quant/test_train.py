"""Training runs: RUN/ contents, determinism, NaN stop, bad input, checkpoints from other models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwgen.quant.checkpoint import load_checkpoint
from hwgen.quant.data import DigitsData, corpus_from_bytes, digits_dataset
from hwgen.quant.errors import CheckpointError, DataError, QuantConfigError, TrainingError
from hwgen.quant.train import TrainConfig, train
from tests.quant.conftest import tiny_config


def test_run_directory_has_checkpoint_config_and_metrics(digits_runs):
    run = digits_runs["ternary"].run
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "done" and metrics["metric"] == "accuracy"
    assert len(metrics["history"]) == 2 and 0 <= metrics["test"] <= 100
    assert "test_per_step_bn" in metrics and "shared_minus_per_step" in metrics
    config = json.loads((run / "config.json").read_text())
    assert config["weights"] == "ternary" and config["bn"] is True and config["fold_epochs"] == 1
    ckpt = load_checkpoint(run)
    assert ckpt.epoch == 2 and ckpt.model.config.hidden == 8


def test_same_seed_same_model(tmp_path):
    cfg = tiny_config(epochs=1, hidden=4)
    a = train(cfg, tmp_path / "a").model.state_dict()
    b = train(cfg, tmp_path / "b").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    d = digits_dataset(0)
    x = d.x_train.copy()
    x[::50] = np.nan  # a corrupt sample in every batch
    bad = DigitsData(x, d.y_train, d.x_test, d.y_test)
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, step 1.*last good checkpoint \(epoch 0\)"):
        train(tiny_config(epochs=2, hidden=4), tmp_path / "run", data=bad)
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.epoch == 0
    assert all(torch.isfinite(p).all() for p in ckpt.model.parameters())
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "diverged"


def test_charlm_trains_on_a_given_text_file_and_reports_bpc(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 200)
    cfg = TrainConfig(task="charlm", weights="binary", hidden=8, epochs=2, seq_len=20, batch_size=8,
                      steps_per_epoch=3, corpus=(str(text),), progress=False)
    result = train(cfg, tmp_path / "lm")
    m = result.metrics
    assert m["metric"] == "bpc" and 0 < m["test"] < 10 and m["vocab_size"] == len(set(text.read_text()))
    assert load_checkpoint(tmp_path / "lm").vocab == bytes(sorted(set(text.read_bytes())))
    # charlm default recipe: Adam 2e-3 decayed by a cosine; the history says at which step each valid BPC was taken
    assert [h["step"] for h in m["history"]] == [3, 6]
    assert m["history"][0]["lr"] < 2e-3 and m["history"][1]["lr"] == pytest.approx(0.05 * 2e-3)
    config = json.loads((tmp_path / "lm" / "config.json").read_text())
    assert config["lr"] == 2e-3 and config["lr_schedule"] == "cosine" and config["fold_epochs"] == 0


def test_digits_keeps_a_constant_learning_rate(digits_runs):
    history = json.loads((digits_runs["ternary"].run / "metrics.json").read_text())["history"]
    assert [h["lr"] for h in history] == [5e-3, 5e-3]


@pytest.mark.parametrize("data, message", [(b"", "corpus is empty"), (b"abc" * 100, "shorter than one sequence")])
def test_bad_corpora(data, message):
    with pytest.raises(DataError, match=message):
        corpus_from_bytes(data, seq_len=50, source="t.txt")


@pytest.mark.parametrize("kw, message", [
    (dict(task="translation"), "unknown task 'translation'; choose one of digits, charlm"),
    (dict(weights="int2"), "unknown weight kind 'int2'"),
    (dict(batch_size=1), "batch norm needs --batch-size >= 2"),
    (dict(lr_schedule="step"), "unknown learning-rate schedule 'step'; choose one of constant, cosine"),
    (dict(lr=0.0), "learning rate must be > 0"),
])
def test_bad_training_config(kw, message):
    with pytest.raises(QuantConfigError, match=message):
        TrainConfig(**kw)


def test_checkpoint_from_another_program_or_model(tmp_path, digits_runs):
    other = tmp_path / "other.pt"
    torch.save({"state_dict": torch.nn.LSTM(3, 4).state_dict()}, other)
    with pytest.raises(CheckpointError, match="not a hwgen quantized-LSTM checkpoint"):
        load_checkpoint(other)
    blob = torch.load(digits_runs["ternary"].run / "checkpoint.pt", weights_only=True)
    blob["model_config"]["hidden"] = 16
    torch.save(blob, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not match its model config.*wrong shape"):
        load_checkpoint(tmp_path / "mismatch.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable hwgen checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_training_learns(digits_runs):
    for name in ("float", "ternary"):
        m = digits_runs[name].metrics
        assert m["history"][-1]["train_loss"] < m["history"][0]["train_loss"] < 2.4, name  # ln(10) = 2.30 at chance
        assert m["test"] > 20, name  # chance is 10 %


def test_stochastic_quantizer_trains_and_exports_one_sample(tmp_path):
    from hwgen.quant.export import export_run

    result = train(tiny_config(quantizer="stochastic", epochs=1, fold_epochs=0, hidden=4), tmp_path / "run")
    assert result.metrics["status"] == "done"
    a = export_run(tmp_path / "run", tmp_path / "a.onnx", sample_seed=1, evaluate_metric=False)
    b = export_run(tmp_path / "run", tmp_path / "b.onnx", sample_seed=2, evaluate_metric=False)
    assert a.max_abs_diff <= 1e-5 and b.max_abs_diff <= 1e-5
    assert a.path.read_bytes() != b.path.read_bytes()  # two different weight samples


def test_export_refuses_to_score_on_a_different_corpus(tmp_path):
    from hwgen.quant.export import export_run

    text = tmp_path / "corpus.txt"
    text.write_text("abcd efgh. " * 300)
    cfg = TrainConfig(task="charlm", weights="ternary", hidden=4, epochs=1, seq_len=10, batch_size=4,
                      steps_per_epoch=2, corpus=(str(text),), progress=False)
    train(cfg, tmp_path / "lm")
    text.write_text("0123456789 xyz! " * 300)  # another corpus, another vocabulary
    with pytest.raises(CheckpointError, match="not the one this model was trained on"):
        export_run(tmp_path / "lm", tmp_path / "lm.onnx")
    assert export_run(tmp_path / "lm", tmp_path / "lm.onnx", evaluate_metric=False).max_abs_diff <= 1e-5
