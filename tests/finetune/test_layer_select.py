"""Variability-based layer selection: the ratio, a synthetic case with a known answer, and the model surgery."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwgen.finetune.errors import MethodError
from hwgen.finetune.layer_select import (LayerChoice, apply_choice, layer_features, select_layers, top_layers,
                                         variability_ratio)
from tests.finetune.models import tiny_classifier


def _features(separation: float, n: int = 300, dim: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n // 3)
    means = rng.normal(size=(3, dim)) * separation
    return means[labels] + rng.normal(size=(n, dim)), labels


def test_the_ratio_falls_as_the_classes_separate_and_ignores_scale():
    ratios = [variability_ratio(*_features(s)) for s in (0.5, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in zip(ratios, ratios[1:]))
    x, y = _features(1.0)
    assert variability_ratio(10 * x, y) == pytest.approx(variability_ratio(x, y), rel=1e-9)


def test_a_synthetic_stack_with_a_known_answer():
    """Class means scaled by 1 (embeddings), then 1, 3, 3.2, 1.5, 1.5 with the same noise: layer 3 separates
    best, so the classifier attaches there (layers 4 and 5 are dropped) and the k layers just below it adapt."""
    seps = (1.0, 1.0, 3.0, 3.2, 1.5, 1.5)
    ratios = [variability_ratio(*_features(s, seed=7)) for s in seps]
    for k, adapt in ((1, (3,)), (2, (2, 3)), (3, (1, 2, 3))):
        choice = select_layers(ratios, k)
        assert choice.attach == 3 and choice.adapt == adapt, (k, choice)
    four = select_layers(ratios, 4)  # at least k layers kept: attach after layer 4 or 5, the 4 layers below it
    assert four.attach >= 4 and four.adapt == tuple(range(four.attach - 3, four.attach + 1))
    last = select_layers([5.0, 4.0, 3.0, 2.0], 2)  # the last layer separates best: the top-k baseline's choice
    base = top_layers(3, 2)
    assert (last.adapt, last.attach) == (base.adapt, base.attach) == ((2, 3), 3)
    assert top_layers(5, 2) == LayerChoice((4, 5), 5)


def test_k_outside_the_layer_count_names_the_range():
    for k in (0, 3):
        with pytest.raises(MethodError, match=r"has 2 layers, choose k in 1\.\.2"):
            top_layers(2, k)
        with pytest.raises(MethodError, match=r"choose k in 1\.\.2"):
            select_layers([3.0, 2.0, 1.0], k)


def test_apply_choice_cuts_and_freezes_and_features_cover_every_layer(tiny_bert):
    from hwgen.quant.transformer_model import load_tokenizer

    model = tiny_classifier(layers=3)
    tok = load_tokenizer(tiny_bert)
    feats = layer_features(model, tok, ["play chess", "dns server proxy", "protein data"], 16)
    assert len(feats) == 4 and all(f.shape == (3, 32) for f in feats)
    apply_choice(model, LayerChoice((1,), 2))
    assert len(model.layers) == 2 and model.encoder.config.num_hidden_layers == 2
    trainable = {n.split(".")[2] for n, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable == {"0"} and model.head.weight.requires_grad
    ids = torch.randint(5, 40, (2, 5))
    assert model(ids, torch.ones_like(ids)).shape == (2, 3)
