"""benchmarks/transformer_compression.py's choice of each compressed row's QAT rate: by validation, never by test.

Training is replaced by a stub that writes a finished metrics.json whose accuracies depend on the row and rate,
so the selection, the reuse of finished runs and CES-KD's teachers are checked in milliseconds.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    path = ROOT / "benchmarks" / "transformer_compression.py"
    spec = importlib.util.spec_from_file_location("transformer_compression", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()
BASE = dict(steps=10, limit=None, batch_size=4, max_len=16, threads=1, device="cpu", lr=1e-4, epochs=1000, seed=0, progress=False,
            valid_each_epoch=True)
#: (row, rate) -> (valid, test): the test column rewards the rate validation does not choose
SCORES = {("int8", 1e-5): (70.0, 80.0), ("int8", 3e-5): (71.0, 60.0), ("int8", 1e-4): (71.0, 50.0),
          ("pruned50+KD", 1e-5): (60.0, 90.0), ("pruned50+KD", 3e-5): (65.0, 50.0), ("pruned50+KD", 1e-4): (66.0, 40.0)}


def _fake_training(calls: list):
    def train(config, run):
        calls.append((Path(run).name, config))
        valid, test = SCORES.get((Path(run).name.split("@")[0], config.lr), (50.0, 50.0))
        run.mkdir(parents=True)
        m = {"status": "done", "history": [{"valid_accuracy": valid}], "test_accuracy": test, "test_ece": 1.0,
             "step_ms": 1.0, "classes": ["a", "b"]}
        (run / "metrics.json").write_text(json.dumps(m))
        return type("Result", (), {"metrics": m, "model": None})()
    return train


def test_each_row_keeps_the_rate_of_best_validation_and_the_first_on_a_tie(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(bench, "train_transformer", _fake_training(calls))
    monkeypatch.setattr(bench, "save_test_probs", lambda *args: None)
    results, runs = bench.train_all(tmp_path, BASE, ["float", "int8", "pruned50+KD", "ternary+CES-KD"], 5,
                                    [1e-5, 3e-5, 1e-4])
    assert results["int8"]["qat_lr"] == 3e-5 and runs["int8"] == tmp_path / "int8@3e-05"  # tie with 1e-4: first
    assert results["pruned50+KD"]["qat_lr"] == 1e-4  # the worst test figure: validation decides
    assert runs["float"] == tmp_path / "float" and results["float"]["qat_lr"] == BASE["lr"]
    ces = [c for name, c in calls if name.startswith("ternary+CES-KD@")]
    assert len(ces) == 3 and all(c.teachers == (str(runs["int8"]), str(runs["pruned50+KD"]), str(tmp_path / "float"))
                                 for c in ces)
    assert all(c.steps == 5 and c.init == str(tmp_path / "float") for name, c in calls if name != "float")
    assert set(results) == {"float", "int8", "pruned50+KD", "ternary+CES-KD"}  # rows outside --only: not trained

    calls.clear()
    again, _ = bench.train_all(tmp_path, BASE, None, 5, [1e-5, 3e-5, 1e-4])  # finished runs are reused
    assert not any(name == "float" or name.startswith(("int8@", "pruned50+KD", "ternary+CES-KD")) for name, _ in calls)
    assert again["int8"]["qat_lr"] == 3e-5 and set(again) == set(bench.ROWS)
    ptq = [(name, c) for name, c in calls if name.startswith("int8-ptq")]  # post-training: one untrained run
    assert [name for name, _ in ptq] == ["int8-ptq"] and ptq[0][1].steps == 0 and ptq[0][1].weights == "int8"
    assert ptq[0][1].init == str(tmp_path / "float")


def test_one_rate_keeps_the_plain_run_folders(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(bench, "train_transformer", _fake_training(calls))
    monkeypatch.setattr(bench, "save_test_probs", lambda *args: None)
    results, runs = bench.train_all(tmp_path, BASE, ["float", "int8"], 5, [3e-5])
    assert runs["int8"] == tmp_path / "int8" and results["int8"]["qat_lr"] == 3e-5
    assert [name for name, _ in calls] == ["float", "int8"]


def test_jobs_train_a_wave_in_processes_as_one_process_would(tmp_path):
    """--jobs 2 trains int8 at both rates in spawned processes; each run equals the same config trained here."""
    import subprocess

    from hwgen.quant.transformer_train import train_transformer
    from tests.quant.transformer.conftest import fabricated_rows, write_tiny_bert

    model = write_tiny_bert(tmp_path / "model")
    data = tmp_path / "topics.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in fabricated_rows(30)))
    out = tmp_path / "out"
    args = ["--model", str(model), "--data", str(data), "--steps", "6", "--qat-steps", "3", "--batch", "16", "--max-len", "24",
            "--threads", "1", "--lr", "1e-3", "--qat-lr", "1e-3", "3e-3", "--only", "float", "int8", "--no-export",
            "--jobs", "2", "--out", str(out)]
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "transformer_compression.py"), *args],
                          capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "int8@0.001:" in done.stdout and "int8@0.003:" in done.stdout and "2 at once" in done.stdout
    base = dict(BASE, steps=6, batch_size=16, max_len=24, lr=1e-3, model=str(model), data=str(data))
    config = bench.configs(out, base, 3, 3e-3)["int8"]
    here = train_transformer(config, tmp_path / "here").metrics
    there = json.loads((out / "int8@0.003" / "metrics.json").read_text())
    for key in ("test_accuracy", "test_ece", "history"):
        assert here[key] == there[key], key
    assert (out / "int8@0.003" / "test_probs.npy").exists()  # scored by the process that trained it


def test_targets_over_seeds_use_a_t_interval_over_the_seeds():
    per_seed = {0: {"int8": -0.2, "BD-KD ECE": -1.0, "pruned50+KD": -3.0, "CES-KD accuracy": 1.0},
                1: {"int8": -0.3, "BD-KD ECE": -2.0, "pruned50+KD": -2.5},
                2: {"int8": -0.1, "BD-KD ECE": -1.5, "pruned50+KD": -3.5}}
    lines = {line.split(":")[0]: line for line in bench.over_seeds(per_seed)}
    # mean -0.2, half-width t(0.975, 2) * 0.1 / sqrt(3) = 0.248: [-0.45, +0.05], inside the -0.5 floor
    assert "mean -0.20 [95 % -0.45, +0.05] → met" in lines["int8 within 0.5 points of float"]
    assert lines["ternary+BD-KD below vanilla KD in ECE"].endswith("→ met")  # [-2.74, -0.26], all below 0
    assert lines["50 % structured pruning + KD within 1.0 point"].endswith("→ not met")  # [-4.24, -1.76]
    assert "ternary+CES-KD at or above vanilla KD in accuracy" not in lines  # one seed has it: no interval
