"""Interleaved step timing: every method steps in turn on the same batches, through the training loop's own step."""

from __future__ import annotations

import pytest
import torch

from hwgen.finetune.errors import MethodError
from hwgen.finetune.run import prepared_for_timing
from hwgen.finetune.step_time import Timed, fixed_batches, interleaved_step_times
from tests.finetune.conftest import tiny_finetune


def test_far_and_full_are_timed_in_turn_and_both_really_train(tiny_bert, topics_jsonl, tmp_path):
    from hwgen.finetune.run import finetune

    far = tiny_finetune(tiny_bert, topics_jsonl, "far", steps=4, prime_steps=2)
    finetune(far, tmp_path / "far")
    full = tiny_finetune(tiny_bert, topics_jsonl, "full", steps=4)
    methods = {"full": Timed(prepared_for_timing(full, tmp_path / "full"), full.train),
               "far": Timed(prepared_for_timing(far, tmp_path / "far"), far.train)}
    far_model = methods["far"].prep.model
    assert far_model.layers[0].intermediate.frozen_weight.shape[0] > 0  # reconfigured from RUN/far/prime
    before = {k: {n: p.detach().clone() for n, p in t.prep.model.named_parameters() if p.requires_grad}
              for k, t in methods.items()}
    frozen = far_model.layers[0].intermediate.frozen_weight.clone()
    batches = fixed_batches(methods["full"], 2)
    assert len(batches) == 2 and batches[0][0].shape == (full.train.batch_size, full.train.max_len)
    times = interleaved_step_times(methods, batches, rounds=3)
    assert {k: len(v) for k, v in times.seconds.items()} == {"full": 3, "far": 3}
    assert all(s > 0 for v in times.seconds.values() for s in v)
    assert times.ratio("far", "far") == 1.0 and times.median("full") > 0
    for k, t in methods.items():
        moved = [not torch.equal(p, before[k][n]) for n, p in t.prep.model.named_parameters() if p.requires_grad]
        assert all(moved), k
    assert torch.equal(far_model.layers[0].intermediate.frozen_weight, frozen)


def test_timing_far_without_its_priming_run_says_what_is_missing(tiny_bert, topics_jsonl, tmp_path):
    with pytest.raises(MethodError, match="needs its priming run .*prime; train it first"):
        prepared_for_timing(tiny_finetune(tiny_bert, topics_jsonl, "far", steps=4, prime_steps=2), tmp_path / "none")
