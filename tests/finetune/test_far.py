"""FAR: ranking by change, reconfiguration that keeps the function, frozen units out of autograd and the optimizer."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from hwgen.finetune.errors import MethodError
from hwgen.finetune.far import FarIntermediate, FarOptions, check_ffn, merge, reconfigure, unit_change
from tests.finetune.models import batch, nudge, tiny_classifier


def _primed():
    pretrained = tiny_classifier()
    primed = copy.deepcopy(pretrained)
    nudge(primed, only="intermediate.dense.weight")
    with torch.no_grad():  # units 0..9 of layer 0 move a lot: they must stay trainable
        primed.layers[0].intermediate.dense.weight[:10] += 1.0
    return pretrained, primed


def test_reconfigured_model_computes_the_same_function_and_merges_back_exactly():
    pretrained, primed = _primed()
    ids, mask = batch()
    before = primed(ids, mask)
    weights = {k: v.clone() for k, v in primed.state_dict().items()}
    reconfigure(primed, unit_change(pretrained, primed), FarOptions(fraction=0.75))
    assert isinstance(primed.layers[0].intermediate, FarIntermediate)
    torch.testing.assert_close(primed(ids, mask), before, rtol=1e-5, atol=1e-6)
    merge(primed)
    assert primed.state_dict().keys() == weights.keys()
    for k, v in primed.state_dict().items():
        assert torch.equal(v, weights[k]), k


def test_the_units_that_moved_most_stay_trainable():
    pretrained, primed = _primed()
    reconfigure(primed, unit_change(pretrained, primed), FarOptions(fraction=0.75))
    inter = primed.layers[0].intermediate
    n_train = inter.dense.out_features
    assert n_train == 16 and inter.frozen_weight.shape[0] == 48
    assert set(range(10)) <= set(inter.order[:n_train].tolist())


def test_frozen_parts_get_no_grad_no_optimizer_state_and_keep_fewer_activations():
    pretrained, primed = _primed()
    ids, mask = batch()
    saved_full = _saved_elements(primed, ids, mask)
    reconfigure(primed, unit_change(pretrained, primed), FarOptions(fraction=0.75))
    assert _saved_elements(primed, ids, mask) < saved_full
    primed.train()
    trainable = [p for p in primed.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-3)
    primed(ids, mask).sum().backward()
    opt.step()
    for layer in primed.layers:
        for buf in (layer.intermediate.frozen_weight, layer.intermediate.frozen_bias, layer.output.frozen_weight):
            assert not buf.requires_grad and buf.grad is None
        assert layer.intermediate.dense.weight.grad is not None
    assert all(p.grad is None for p in primed.encoder.embeddings.parameters())
    assert set(opt.state) == set(trainable)
    frozen_ids = {id(b) for b in primed.buffers()}
    assert not frozen_ids & {id(p) for p in opt.state}


def _saved_elements(model: nn.Module, ids, mask) -> int:
    """Elements autograd keeps for backward in one training forward (dropout off)."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel()
        return t

    model.eval()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(ids, mask).sum()
    return total


def test_far_refuses_quantized_weights_a_missing_ffn_and_a_bad_fraction():
    with pytest.raises(MethodError, match="float FFN weights; this layer has ternary"):
        check_ffn(tiny_classifier(kind="ternary"))
    model = tiny_classifier()
    model.layers[1].intermediate.dense = nn.Identity()
    with pytest.raises(MethodError, match="layer 1 has none"):
        check_ffn(model)
    with pytest.raises(MethodError, match=r"in \(0, 1\)"):
        FarOptions(fraction=1.0)


def _train_flops(model: nn.Module, ids, mask) -> tuple[int, int]:
    """(forward, backward) matmul FLOPs of one training step's loss (torch's FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    with FlopCounterMode(display=False) as fwd:
        loss = model(ids, mask).sum()
    with FlopCounterMode(display=False) as bwd:
        loss.backward()
    return fwd.get_total_flops(), bwd.get_total_flops()


def test_frozen_units_cost_no_weight_gradient_matmuls_and_nothing_else():
    """FAR's backward saves exactly the frozen units' weight-gradient FLOPs (2 per multiply-add, W1 and W2),
    with no extra matmul work from the split into two paths; the forward is unchanged."""
    pretrained, primed = _primed()
    ids, mask = batch()
    tokens = ids.numel()
    full_fwd, full_bwd = _train_flops(primed, ids, mask)
    reconfigure(primed, unit_change(pretrained, primed), FarOptions(fraction=0.75, freeze_embeddings=False))
    far_fwd, far_bwd = _train_flops(primed, ids, mask)
    saved = sum(2 * 2 * tokens * layer.intermediate.frozen_weight.numel() for layer in primed.layers)
    assert far_fwd == full_fwd
    assert far_bwd == full_bwd - saved
