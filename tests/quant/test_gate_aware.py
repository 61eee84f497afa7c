"""Gate-aware training of a surprisal-gated big char-LM: the step mask through the quant LSTM model
(held state, in training and eval), the margin gate's decisions, and the trained pair through the integer gate."""

from __future__ import annotations

import copy

import pytest
import torch

from hwgen.quant.errors import QuantConfigError
from hwgen.quant.evaluate import one_hot
from hwgen.quant.model import ModelConfig, QuantLSTMModel
from hwgen.quant.recurrence import EPS
from hwgen.quant.surprisal_gating import MarginGate, RandomSkips, previous_margins

VOCAB = 7


def _model(hidden=6, layers=1, seed=0, bn=True, weights="ternary", steps=9, cell="lstm"):
    torch.manual_seed(seed)
    return QuantLSTMModel(ModelConfig("charlm", VOCAB, hidden, layers, VOCAB, weights, bn, steps=steps, cell=cell))


def _batch(batch=5, steps=9, seed=1):
    ids = torch.randint(0, VOCAB, (batch, steps), generator=torch.Generator().manual_seed(seed))
    return ids, one_hot(ids, VOCAB)


def _mask(batch=5, steps=9, seed=2):
    m = torch.rand(batch, steps, generator=torch.Generator().manual_seed(seed)) < 0.55
    m[:, 0] = True
    return m


def _held_loop(model: QuantLSTMModel, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Training-mode (batch statistics) BN-LSTM one step at a time, from the model's parameters, with a plain
    hold: every sample's candidate step is computed (the batch statistics are the candidates'), then the held
    samples keep their h and c. Logits [B, T, V]."""
    y = x.transpose(0, 1)
    for layer in model.layers:
        w, r = layer.quantized_weights()
        z = y @ w.t()
        xg = layer.gamma_x * (z - z.mean((0, 1))) / torch.sqrt(z.var((0, 1), unbiased=False) + EPS)
        h = y.new_zeros(y.shape[1], layer.hidden)
        c = h
        out = []
        for t in range(y.shape[0]):
            zh = h @ r.t()
            zn = (zh - zh.mean(0)) / torch.sqrt(zh.var(0, unbiased=False) + EPS)
            i, f, g, o = (xg[t] + layer.gamma_h * zn + layer.beta_h).chunk(4, 1)
            c1 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            cn = (c1 - c1.mean(0)) / torch.sqrt(c1.var(0, unbiased=False) + EPS)
            h1 = torch.sigmoid(o) * torch.tanh(layer.gamma_c * cn + layer.beta_c)
            if mask[:, t].any():  # the step runs for these samples
                keep = mask[:, t, None]
                h, c = torch.where(keep, h1, h), torch.where(keep, c1, c)
            out.append(h)
        y = torch.stack(out)
    return model.head(y).transpose(0, 1)


@pytest.mark.parametrize("layers", [1, 2])
def test_masked_training_forward_is_a_step_loop_that_holds_state(layers):
    model = _model(layers=layers).train()
    ids, x = _batch()
    mask = _mask()
    ref = copy.deepcopy(model)
    got = model(x, mask)
    want = _held_loop(ref, x, mask)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    got.square().sum().backward()
    want.square().sum().backward()
    for (name, a), b in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5, msg=name)
    # held steps repeat the previous step's logits (up to the head's matmul rounding at another row)
    held = ~mask[:, 1:]
    torch.testing.assert_close(got[:, 1:][held], got[:, :-1][held], rtol=0, atol=1e-6)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_an_all_run_mask_is_the_unmasked_forward(training):
    model = _model(layers=2).train(training)
    _, x = _batch()
    twin = copy.deepcopy(model)
    plain, masked = model(x), twin(x, torch.ones(5, 9, dtype=torch.bool))
    torch.testing.assert_close(masked, plain, rtol=0, atol=0)
    plain.sum().backward()
    masked.sum().backward()
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)
    for a, b in zip(model.buffers(), twin.buffers()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["eval", "fold-bn", "float-no-bn"])
def test_a_skipped_character_never_enters_the_model(mode):
    """Where every sample's statistics are its own (eval, fold-BN training, no BN), a masked run's logits at
    the steps it ran equal a plain run over only the characters it saw."""
    model = _model(layers=2, bn=mode != "float-no-bn", weights="float" if mode == "float-no-bn" else "ternary")
    model.train(mode == "fold-bn")
    model.set_fold_bn(mode == "fold-bn")
    ids, x = _batch()
    mask = _mask()
    before = copy.deepcopy(model)  # fold-BN training moves the running statistics: each run starts from these
    got = model(x, mask)
    for n in range(len(ids)):
        alone = copy.deepcopy(before)(x[n:n + 1, mask[n]].repeat(2, 1, 1))[0]  # BN training needs 2 sequences
        torch.testing.assert_close(got[n, mask[n]], alone, rtol=1e-5, atol=1e-6)


def test_a_mask_needs_the_lstm_and_its_shape():
    _, x = _batch()
    with pytest.raises(QuantConfigError, match="needs the LSTM cell"):
        _model(cell="gru")(x, _mask())
    with pytest.raises(ValueError, match="step mask must be"):
        _model()(x, _mask()[:, :4])


def test_the_margin_gate_follows_the_integer_rule():
    """Step t's decision uses the small model's logits of step t-1 and the input x_t; step 0 always runs."""
    small = _model(hidden=5, seed=3).eval()
    ids, x = _batch(batch=8, steps=12)
    logits = small(x).detach()
    margins = previous_margins(logits, ids)
    for b in range(8):
        assert margins[b, 0] == 0
        for t in range(1, 12):
            prev = logits[b, t - 1]
            assert margins[b, t] == prev.max() - prev[ids[b, t]]
    gate = MarginGate(small, (0.3, 0.7), seed=0)
    run = gate(x, None)
    assert run.shape == (8, 12) and run[:, 0].all()
    # each sequence: one threshold; the steps that run are exactly those with a margin above it
    for b in range(8):
        above = margins[b, 1:][run[b, 1:]]
        below = margins[b, 1:][~run[b, 1:]]
        assert above.numel() == 0 or below.numel() == 0 or above.min() > below.max()
    skipped = 1 - run[:, 1:].float().mean()
    assert 0.2 < float(skipped) < 0.8
    assert not small.training  # left as it was
    with pytest.raises(Exception, match="skip_range"):
        MarginGate(small, (0.5, 1.0))


def test_random_skips_run_step_zero_and_skip_at_the_drawn_rates():
    _, x = _batch(batch=64, steps=50)
    run = RandomSkips((0.4, 0.6), seed=0)(x, None)
    assert run.shape == (64, 50) and run[:, 0].all()
    assert 0.35 < 1 - float(run[:, 1:].float().mean()) < 0.65
    assert torch.equal(RandomSkips((0.4, 0.6), seed=0)(x, None), run)  # seeded
    assert RandomSkips((0.0, 0.0))(x, None).all()
