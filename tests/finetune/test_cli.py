"""`hwgen train transformer --method ...`: each method end to end on the tiny BERT, and exit 2 when it does not apply."""

from __future__ import annotations

import json

import pytest

from hwgen.cli import main
from hwgen.quant.transformer_checkpoint import load_transformer


def _argv(tiny_bert, topics_jsonl, run, *extra):
    return ["train", "transformer", "--model", str(tiny_bert), "--data", str(topics_jsonl), "--steps", "6",
            "--limit", "96", "--max-len", "16", "--threads", "1", "--quiet", "-o", str(run), *extra]


@pytest.mark.parametrize("method, extra", [("far", []), ("learner", ["--rank", "2", "--prime-lr", "3e-5"]), ("lora", []),
                                           ("select", ["--layers-k", "1"])])
def test_each_method_writes_a_loadable_run(tiny_bert, topics_jsonl, tmp_path, capsys, method, extra):
    run = tmp_path / method
    assert main(_argv(tiny_bert, topics_jsonl, run, "--method", method, *extra)) == 0
    assert f"{method} fine-tune" in capsys.readouterr().out
    m = json.loads((run / "metrics.json").read_text())
    assert m["finetune"]["method"] == method and m["status"] == "done"
    assert 0 < m["trained_parameters"] < m["parameters"]
    ckpt = load_transformer(run)  # folded back into a plain model
    assert ckpt.spec.shape.heads[0] == 4
    if method in ("far", "learner"):  # the priming's learning rate: --prime-lr, else --lr
        lr = json.loads((run / "prime" / "config.json").read_text())["lr"]
        assert lr == (3e-5 if "--prime-lr" in extra else json.loads((run / "config.json").read_text())["lr"])


@pytest.mark.parametrize("extra, message", [
    (["--method", "select", "--layers-k", "3"], "this model has 2 layers, choose k in 1..2"),
    (["--method", "topk", "--layers-k", "0"], "--layers-k must be >= 1"),
    (["--method", "far", "--weights", "ternary"], "fine-tunes float weights without pruning"),
    (["--method", "far", "--prime-steps", "6"], "--prime-steps 6 is out of range: with --steps 6 choose 1..5"),
    (["--method", "far", "--far-fraction", "1.5"], "must be in (0, 1)"),
    (["--method", "learner", "--rank", "40"], "choose 1..32"),
    (["--method", "lora", "--steps", "0", "--init", "some-run"], "--method lora trains: --steps 0"),
])
def test_a_method_that_does_not_apply_exits_2_with_one_line_and_no_run(tiny_bert, topics_jsonl, tmp_path, capsys,
                                                                       extra, message):
    run = tmp_path / "run"
    assert main(_argv(tiny_bert, topics_jsonl, run, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not run.exists()
