"""`hwgen train lstm` and `hwgen export` from the command line: success and exit code 2 on bad input."""

from __future__ import annotations

import json

import onnx
import pytest
import torch

from hwgen.cli import main


def test_train_then_export(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "lstm", "--task", "digits", "--weights", "binary", "--hidden", "6", "--epochs", "2",
                 "--fold-epochs", "1", "--quiet", "-o", str(run)]) == 0
    assert "test" in capsys.readouterr().out
    assert json.loads((run / "metrics.json").read_text())["weights"] == "binary"
    out = tmp_path / "model.onnx"
    assert main(["export", str(run), "-o", str(out), "--sample", "3"]) == 0
    text = capsys.readouterr().out
    assert "stochastic sample (seed 3)" in text and "per-step statistics" in text
    assert onnx.load(out).ir_version <= 10


@pytest.mark.parametrize("argv, message", [
    (["train", "lstm", "--task", "digits", "--weights", "ternary", "--hidden", "0", "-o", "{tmp}/r"], "hidden must be >= 1"),
    (["train", "lstm", "--task", "charlm", "--corpus", "{tmp}/empty.txt", "-o", "{tmp}/r"], "corpus is empty"),
    (["train", "lstm", "--task", "charlm", "--corpus", "{tmp}/short.txt", "-o", "{tmp}/r"], "shorter than one sequence"),
    (["train", "lstm", "--task", "charlm", "--corpus", "{tmp}/missing", "-o", "{tmp}/r"], "no such file or folder"),
    (["export", "{tmp}/nowhere", "-o", "{tmp}/m.onnx"], "no checkpoint"),
    (["export", "{tmp}/foreign", "-o", "{tmp}/m.onnx"], "not a hwgen quantized-LSTM checkpoint"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "short.txt").write_text("int main() { return 0; }\n")
    (tmp_path / "foreign").mkdir()
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign" / "checkpoint.pt")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv", [["train", "lstm", "--task", "speech", "-o", "r"], ["train", "lstm", "--weights", "int4", "-o", "r"]])
def test_unknown_task_or_weight_kind_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
