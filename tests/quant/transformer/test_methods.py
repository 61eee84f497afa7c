"""QAT layers, pruning, distillation losses and ECE: the pieces, on small tensors."""

from __future__ import annotations

import doctest

import pytest
import torch
from torch import nn

from hwgen.quant import calibration, distill, ste, transformer_prune
from hwgen.quant.distill import bdkd_divergence, bdkd_weights, ces_assign, distill_loss, kd_divergence, kl_rows
from hwgen.quant.transformer_quant import QuantLinear, encoder_weight_bytes, ternary_levels


@pytest.mark.parametrize("module", [distill, calibration, transformer_prune, ste])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted >= 1 and result.failed == 0


def _linear(out=24, inp=16, seed=0):
    torch.manual_seed(seed)
    lin = nn.Linear(inp, out)
    with torch.no_grad():
        lin.weight.mul_(torch.linspace(0.2, 3.0, out)[:, None])  # rows of very different spread
    return lin


@pytest.mark.parametrize("kind, allowed", [("ternary", {-1, 0, 1}), ("binary", {-1, 1}), ("int8", set(range(-127, 128)))])
def test_quant_linear_codes_times_per_row_scale_is_the_forward_weight(kind, allowed):
    q = QuantLinear(_linear(), kind).eval()
    codes, scale = q.codes_and_scale()
    assert codes.dtype == torch.int8 and set(codes.unique().tolist()) <= allowed
    assert scale.shape == (24,) and len(set(scale.tolist())) > 1  # one level per row
    assert torch.equal(codes.float() * scale[:, None], q.quantized_weight())


def test_ternary_levels_beat_the_glorot_level_and_follow_row_spread():
    w = _linear().weight.detach()
    w0 = ternary_levels(w)
    def err(level):
        return (w - ste.weight_codes(w, "ternary", level).float() * level).pow(2).sum()
    assert err(w0) < err(torch.full_like(w0, ste.glorot_w0(16, 24)))
    assert w0[-1, 0] > 5 * w0[0, 0]


def test_straight_through_gradient_and_shadow_clip():
    q = QuantLinear(_linear(), "ternary")
    x = torch.randn(5, 16)
    q(x).sum().backward()
    want = torch.ones(5, 24).t() @ x  # d/dW of sum(x Wᵀ) with W the quantized weight: identity STE
    assert torch.allclose(q.weight.grad, want, atol=1e-5)
    with torch.no_grad():
        q.weight.mul_(10)
    q.clip_shadow()
    assert bool((q.weight.abs() <= q.w0 + 1e-7).all())


def test_stochastic_binary_samples_in_training_only():
    q = QuantLinear(_linear(), "binary", stochastic=True)
    q.train()
    assert not torch.equal(q.quantized_weight(), q.quantized_weight())
    q.eval()
    assert torch.equal(q.quantized_weight(), q.quantized_weight())


def test_ternary_encoder_bytes_at_most_a_twelfth_of_float():
    model = nn.Module()
    model.layer = nn.ModuleList([QuantLinear(nn.Linear(384, 384), "ternary"), QuantLinear(nn.Linear(384, 1536), "ternary")])
    stored, floats = encoder_weight_bytes(model)
    assert stored <= floats / 12


def test_kd_is_forward_kl_and_bdkd_balances_by_entropy():
    torch.manual_seed(0)
    s, t = torch.randn(6, 5), torch.randn(6, 5) * 3
    ls, lt = torch.log_softmax(s / 2, -1), torch.log_softmax(t / 2, -1)
    assert torch.allclose(kd_divergence(s, t, 2.0), kl_rows(lt, ls))
    w_f, w_r = bdkd_weights(s, t, 2.0)
    hs, ht = -(ls.exp() * ls).sum(-1), -(lt.exp() * lt).sum(-1)
    assert torch.allclose(w_r, hs / (hs + ht)) and torch.allclose(w_f + w_r, torch.ones(6))
    assert torch.allclose(bdkd_divergence(s, t, 2.0), 2 * (w_f * kl_rows(lt, ls) + w_r * kl_rows(ls, lt)))
    assert torch.allclose(bdkd_divergence(t, t, 2.0), torch.zeros(6), atol=1e-6)


def test_distill_loss_mixes_ce_and_scaled_divergence():
    torch.manual_seed(1)
    s, t, y = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    ce = torch.nn.functional.cross_entropy(s, y)
    got = distill_loss(s, t, y, "kd", 0.25, 3.0)
    assert torch.allclose(got, 0.75 * ce + 0.25 * 9 * kd_divergence(s, t, 3.0).mean())
    distill_loss(s, t, y, "bdkd", 0.5, 2.0).backward()
    assert s.grad is not None and torch.isfinite(s.grad).all()


def test_ces_assign_gives_easy_samples_to_small_teachers():
    d = torch.tensor([5.0, 0.1, 3.0, 0.2, 1.0, 4.0, 0.3, 2.0])
    choice = ces_assign(d, 2)
    assert choice.tolist() == [1, 0, 1, 0, 0, 1, 0, 1]
    assert ces_assign(d, 1).eq(0).all()
