"""Learners (primed from the SVD of the priming update) and the peft baselines (LoRA, IA3)."""

from __future__ import annotations

import copy

import pytest
import torch

from hwgen.finetune.errors import MethodError
from hwgen.finetune.learners import Learner, LearnerOptions, attach_learners, check_learners, low_rank, merge_learners
from hwgen.finetune.peft_baselines import attach_peft, merge_peft
from tests.finetune.models import batch, nudge, tiny_classifier


def test_low_rank_is_exact_for_a_low_rank_update_and_best_otherwise():
    g = torch.Generator().manual_seed(0)
    delta = torch.randn(12, 2, generator=g) @ torch.randn(2, 7, generator=g)
    a, b = low_rank(delta, 2)
    assert a.shape == (2, 7) and b.shape == (12, 2)
    torch.testing.assert_close(b @ a, delta, rtol=1e-4, atol=1e-5)
    full = torch.randn(12, 7, generator=g)
    a1, b1 = low_rank(full, 1)
    s = torch.linalg.svdvals(full)
    assert torch.isclose((full - b1 @ a1).norm() ** 2, (s[1:] ** 2).sum(), rtol=1e-4)


def _rank1_primed():
    """A pretrained model and a 'primed' one whose FFN output weights moved by a rank-1 update."""
    pretrained = tiny_classifier()
    primed = copy.deepcopy(pretrained)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for layer in primed.layers:
            w = layer.output.dense.weight
            w += 0.3 * torch.randn(w.shape[0], 1, generator=g) @ torch.randn(1, w.shape[1], generator=g)
    return pretrained, primed


def test_primed_learners_start_where_priming_left_and_merge_back():
    pretrained, primed = _rank1_primed()
    ids, mask = batch()
    expected = primed(ids, mask)
    n = attach_learners(primed, pretrained, LearnerOptions(rank=1))
    assert n == 2 * (64 + 32)
    assert all(isinstance(layer.output.dense, Learner) for layer in primed.layers)
    torch.testing.assert_close(primed(ids, mask), expected, rtol=1e-4, atol=1e-5)
    trainable = {name for name, p in primed.named_parameters() if p.requires_grad}
    assert trainable == {f"encoder.encoder.layer.{k}.output.dense.{ab}" for k in range(2) for ab in "ab"} | \
        {"head.weight", "head.bias"}
    for layer, ref in zip(primed.layers, pretrained.layers):  # the base went back to the pretrained weights
        assert torch.equal(layer.output.dense.base.weight, ref.output.dense.weight)
    merge_learners(primed)
    torch.testing.assert_close(primed(ids, mask), expected, rtol=1e-4, atol=1e-5)
    assert set(primed.state_dict()) == set(pretrained.state_dict())


def test_learner_rank_and_targets_are_checked():
    with pytest.raises(MethodError, match=r"choose 1\.\.32"):
        check_learners(tiny_classifier(), LearnerOptions(rank=33))
    with pytest.raises(MethodError, match="float Linears"):
        check_learners(tiny_classifier(kind="int8"), LearnerOptions())
    with pytest.raises(MethodError, match="choose among ffn_out, ffn_in"):
        LearnerOptions(targets=("attention",))


@pytest.mark.parametrize("method, expected", [("lora", 2 * 2 * 8 * (32 + 32)), ("ia3", 2 * (32 + 32 + 32 + 64))])
def test_peft_baselines_train_only_their_modules_and_merge(method, expected):
    model = tiny_classifier()
    ids, mask = batch()
    assert attach_peft(model, method) == expected
    assert {n for n, p in model.named_parameters() if p.requires_grad and f"{method}_" not in n} == {"head.weight", "head.bias"}
    model.eval()
    nudge(model, 0.2, only=f"{method}_")
    adapted = model(ids, mask)
    merge_peft(model)
    torch.testing.assert_close(model(ids, mask), adapted, rtol=1e-4, atol=1e-5)
    assert set(model.state_dict()) == set(tiny_classifier().state_dict())
