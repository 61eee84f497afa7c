"""QuantLSTMLayer / QuantLSTMModel: float mode is nn.LSTM; BN statistics; freezing."""

import pytest
import torch

from hwgen.quant.errors import QuantConfigError
from hwgen.quant.layer import QuantLSTMLayer
from hwgen.quant.model import ModelConfig, QuantLSTMModel
from hwgen.quant.recurrence import bn_lstm_reference
from hwgen.quant.ste import weight_codes


def test_float_mode_is_nn_lstm_forward_and_backward():
    torch.manual_seed(0)
    layer = QuantLSTMLayer(5, 7, "float", bn=False)
    ref = torch.nn.LSTM(5, 7)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(layer, name))
    x = torch.randn(6, 3, 5)
    y, y_ref = layer(x), ref(x)[0]
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)
    y.square().sum().backward()
    y_ref.square().sum().backward()
    torch.testing.assert_close(layer.weight_hh.grad, ref.weight_hh_l0.grad)


def test_bn_layer_initialisation_follows_the_paper():
    layer = QuantLSTMLayer(4, 6, "ternary", bn=True, steps=3)
    assert torch.all(layer.gamma_x == 0.1) and torch.all(layer.gamma_h == 0.1) and torch.all(layer.gamma_c == 0.1)
    assert torch.all(layer.beta_h[6:12] == 1) and torch.all(layer.beta_h[:6] == 0) and torch.all(layer.beta_h[12:] == 0)
    assert layer.weight_ih.abs().max() <= layer.w0_ih


def test_training_tracks_running_statistics_and_eval_modes_differ():
    torch.manual_seed(0)
    layer = QuantLSTMLayer(4, 6, "binary", bn=True, steps=5, bn_x="per_step")
    before = layer.mean_h.clone()
    for _ in range(5):
        layer(torch.randn(5, 16, 4) + torch.arange(5.0)[:, None, None])
    assert not torch.equal(before, layer.mean_h)
    layer.eval()
    x = torch.randn(5, 2, 4)
    shared = layer(x)
    layer.bn_stats = "per_step"
    per_step = layer(x)
    assert shared.shape == per_step.shape == (5, 2, 6)
    assert not torch.allclose(shared, per_step)


def test_bn_training_needs_two_sequences():
    layer = QuantLSTMLayer(4, 6, "ternary", bn=True)
    with pytest.raises(QuantConfigError, match="at least 2 sequences"):
        layer(torch.randn(3, 1, 4))


def test_freeze_replaces_shadow_weights_by_the_same_codes():
    torch.manual_seed(0)
    model = QuantLSTMModel(ModelConfig("digits", 8, 6, 2, 10, "ternary", bn=True))
    codes = [weight_codes(layer.weight_hh, "ternary", layer.w0_hh) for layer in model.layers]
    model.freeze()
    for layer, c in zip(model.layers, codes):
        assert torch.equal(weight_codes(layer.weight_hh, "ternary", layer.w0_hh), c)
        w0 = float(torch.tensor(layer.w0_hh))  # float32 level
        assert set(layer.weight_hh.unique().tolist()) <= {-w0, 0.0, w0}


@pytest.mark.parametrize("bad, message", [
    (dict(task="mnist"), "unknown task 'mnist'"),
    (dict(weights="int3"), "unknown weight kind 'int3'"),
    (dict(hidden=0), "hidden must be >= 1"),
])
def test_model_config_rejects_bad_values(bad, message):
    base = dict(task="digits", input_size=8, hidden=4, layers=1, outputs=10)
    with pytest.raises(QuantConfigError, match=message):
        ModelConfig(**{**base, **bad})


@pytest.mark.parametrize("bn_x", ["shared", "per_step"])
def test_training_step_folds_batch_statistics_like_the_reference(bn_x):
    """Running statistics after one training forward: x's from z = W·x, h's and c's from the plain-autograd cell."""
    torch.manual_seed(0)
    layer = QuantLSTMLayer(4, 5, "ternary", bn=True, steps=6, bn_x=bn_x).double()
    x = torch.randn(4, 8, 4, dtype=torch.double)  # 4 steps: the last 2 running rows stay as they are
    before = {n: b.clone() for n, b in layer.named_buffers()}
    y = layer(x)
    w, r = layer.quantized_weights()
    z = x @ w.t()
    dims = (0, 1) if bn_x == "shared" else 1
    mean, var = z.mean(dims), z.var(dims)
    xg = layer.gamma_x * (z - z.mean(dims, keepdim=True)) / torch.sqrt(z.var(dims, unbiased=False, keepdim=True) + 1e-5)
    running = tuple(before[n].clone() for n in ("mean_h", "var_h", "mean_c", "var_c"))
    y_ref = bn_lstm_reference(xg, r, layer.gamma_h, layer.beta_h, layer.gamma_c, layer.beta_c, running=running)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(layer.mean_x[:4], before["mean_x"][:4].lerp(mean.expand(4, -1), 0.1))
    torch.testing.assert_close(layer.var_x[:4], before["var_x"][:4].lerp(var.expand(4, -1), 0.1))
    for name, want in zip(("mean_h", "var_h", "mean_c", "var_c"), running):
        torch.testing.assert_close(getattr(layer, name), want)
    for name in ("mean_x", "var_x", "mean_h", "var_c"):
        assert torch.equal(getattr(layer, name)[4:], before[name][4:])
