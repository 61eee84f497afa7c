"""Winning-ticket dataset pruning: statistics from a real (tiny) run, monotone candidate subsets, the choice."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwgen.finetune.data_prune import SuccessStats, candidate_subsets, winning_ticket
from hwgen.finetune.errors import MethodError
from tests.finetune.conftest import tiny_finetune


@pytest.fixture(scope="module")
def ticket_run(tiny_bert, topics_jsonl, tmp_path_factory):
    from hwgen.finetune.run import finetune

    torch.set_num_threads(1)
    config = tiny_finetune(tiny_bert, topics_jsonl, "ticket", steps=30, limit=120, max_subsets=3)
    return finetune(config, tmp_path_factory.mktemp("ticket") / "run")


def test_statistics_come_from_the_run_and_subsets_shrink(ticket_run):
    f = ticket_run.metrics["finetune"]
    stats = f["stats"]
    assert stats["texts"] == 120 and stats["visited"] == 120  # 30 steps x 16 > 120: every text was seen
    assert 0 < stats["mean_success_rate"] < 1
    sizes = f["sizes"]
    assert sizes[0] == 120 and all(a > b for a, b in zip(sizes, sizes[1:])) and len(sizes) >= 2
    assert f["chosen_size"] in sizes and len(f["test_accuracy"]) == len(sizes)
    full = f["steps"][0]  # --ticket-steps proportional (the default): the full run's 3 epochs, fewer steps
    assert all(0 < steps <= -(-full * n // 120) for steps, n in zip(f["steps"][1:], sizes[1:]))
    saved = json.loads((ticket_run.run / "metrics.json").read_text())
    assert saved["train_texts"] == f["chosen_size"]
    assert (ticket_run.run / "full" / "metrics.json").exists()


def test_ticket_steps_same_trains_every_subset_as_long_as_the_full_set(tiny_bert, topics_jsonl, tmp_path):
    from hwgen.finetune.run import finetune

    torch.set_num_threads(1)
    config = tiny_finetune(tiny_bert, topics_jsonl, "ticket", steps=18, limit=96, max_subsets=2, ticket_steps="same")
    f = finetune(config, tmp_path / "run").metrics["finetune"]
    assert len(f["sizes"]) == 2 and f["sizes"][1] < 96 and f["steps"] == [18, 18]  # the subset: more than 3 epochs
    with pytest.raises(MethodError, match="--ticket-steps 'longer'; choose one of proportional, same"):
        tiny_finetune(tiny_bert, topics_jsonl, "ticket", ticket_steps="longer")


def test_stats_count_visits_and_forgetting():
    s = SuccessStats(3)
    y = torch.tensor([0, 1])
    right = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
    s.observe(1, torch.tensor([0, 1]), right, y)
    s.observe(2, torch.tensor([0, 1]), right.flip(1), y)  # both forgotten
    assert s.seen.tolist() == [2, 2, 0] and s.right.tolist() == [1, 1, 0] and s.forgot.tolist() == [1, 1, 0]
    assert s.success_rate().tolist() == [0.5, 0.5, 0.0]


def test_candidates_drop_the_easiest_first_and_keep_every_class():
    s = SuccessStats(10)
    s.seen[:] = 4
    s.right[:] = [4, 4, 4, 4, 3, 3, 2, 1, 0, 4]
    labels = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])  # class 1's only text is easy
    subsets = candidate_subsets(s, labels, max_subsets=4, min_fraction=0.3)
    sizes = [len(x) for x in subsets]
    assert sizes[0] == 10 and all(a > b for a, b in zip(sizes, sizes[1:]))
    assert all(set(labels[x]) == {0, 1} for x in subsets)
    assert 8 not in np.setdiff1d(np.arange(10), subsets[-1])  # the hardest text is never dropped


def test_the_ticket_is_the_smallest_subset_within_tolerance():
    assert winning_ticket([100, 60, 30], [80.0, 79.8, 70.0], 0.3).size == 60
    assert winning_ticket([100, 60, 30], [80.0, 81.0, 80.5], 0.3).size == 30
    assert winning_ticket([100, 60], [80.0, 70.0], 0.3).size == 100
    with pytest.raises(MethodError):
        winning_ticket([100], [80.0, 70.0])
