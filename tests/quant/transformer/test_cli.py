"""`hwgen train transformer` / `hwgen export` on the command line: success, and exit 2 with one line on bad input."""

from __future__ import annotations

import json

import pytest

from hwgen.cli import main


def test_train_then_export(tiny_bert, topics_jsonl, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "transformer", "--model", str(tiny_bert), "--data", str(topics_jsonl), "--weights", "ternary",
                 "--steps", "3", "--max-len", "16", "--threads", "1", "--quiet", "-o", str(run)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "TF-IDF + LR baseline" in out
    assert json.loads((run / "metrics.json").read_text())["weights"] == "ternary"
    assert main(["export", str(run), "-o", str(tmp_path / "m.onnx")]) == 0
    assert "onnxruntime vs PyTorch max |diff|" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--model", "{tmp}/nowhere"], "no such model folder"),
    (["--model", "{tmp}/broken"], "unreadable config"),
    (["--model", "{tmp}/gpt"], "model_type 'gpt2' is not supported"),
    (["--data", "{tmp}/missing.jsonl"], "cannot read"),
    (["--data", "{tmp}/nolabel.csv"], "has no 'label'"),
    (["--data", "{tmp}/oneclass.jsonl"], "at least 2 classes"),
    (["--max-len", "100"], "beyond the model's position table (48 positions)"),
    (["--distill", "kd"], "needs --teacher RUN"),
    (["--distill", "kd", "--teacher", "{tmp}/noteacher"], "no checkpoint"),
    (["--prune", "magnitude", "--weights", "binary"], "binary weights have no zero code"),
    (["--device", "tpu"], "unknown --device 'tpu'; choose cpu, cuda or cuda:N"),
    (["--device", "cuda:99"], "--device cuda:99: "),  # no CUDA here, or not 100 devices
    (["--method", "far", "--steps", "8", "--device", "cuda"], "it runs with --device cpu, not cuda"),
])
def test_bad_input_exits_2_with_one_line_and_no_run(tiny_bert, topics_jsonl, tmp_path, capsys, extra, message):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "gpt").mkdir()
    (tmp_path / "gpt" / "config.json").write_text('{"model_type": "gpt2"}')
    (tmp_path / "nolabel.csv").write_text("text,topic\nhello,a\n")
    (tmp_path / "oneclass.jsonl").write_text('{"text": "a b", "label": "x"}\n' * 20)
    argv = ["train", "transformer", "--model", str(tiny_bert), "--data", str(topics_jsonl), "--steps", "1", "--max-len", "16", "--quiet",
            "-o", str(tmp_path / "run")]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_init_run_with_a_class_missing_from_the_data(tiny_runs, tmp_path, capsys):
    data = tmp_path / "two.jsonl"
    data.write_text("".join(json.dumps({"text": f"play chess {k}", "label": "games"}) + "\n" +
                            json.dumps({"text": f"dns server {k}", "label": "net"}) + "\n" for k in range(20)))
    argv = ["train", "transformer", "--init", str(tiny_runs["float"].run), "--data", str(data), "--steps", "1", "--max-len", "16",
            "--quiet", "-o", str(tmp_path / "run")]
    assert main(argv) == 2
    assert "class(es) science have no examples" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_export_of_a_foreign_checkpoint_is_one_line(tmp_path, capsys):
    import torch

    (tmp_path / "foreign").mkdir()
    torch.save({"format": "something.else"}, tmp_path / "foreign" / "checkpoint.pt")
    assert main(["export", str(tmp_path / "foreign"), "-o", str(tmp_path / "m.onnx")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
