"""STE quantizers: levels, thresholds, stochastic expectations, straight-through gradients."""

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hwgen.quant import ste
from hwgen.quant.errors import QuantConfigError
from hwgen.quant.ste import glorot_w0, quantize, quantize_all, weight_codes

floats = st.lists(st.floats(-2.0, 2.0, allow_nan=False, width=32), min_size=1, max_size=40)


def test_doctests_pass():
    result = doctest.testmod(ste)
    assert result.attempted >= 5 and result.failed == 0


def test_w0_is_half_the_glorot_bound():
    assert glorot_w0(10, 30) == pytest.approx(0.5 * np.sqrt(6 / 40))


@settings(deadline=None, max_examples=30)
@given(floats, st.sampled_from(["binary", "ternary"]), st.booleans())
def test_levels_and_straight_through_gradient(values, kind, stochastic):
    w0 = 0.5
    w = torch.tensor(values, requires_grad=True)
    q = quantize(w, kind, w0, stochastic)
    allowed = {-w0, w0} if kind == "binary" else {-w0, 0.0, w0}
    assert set(q.tolist()) <= allowed
    grad = torch.linspace(-1, 1, len(values))
    q.backward(grad)
    assert torch.equal(w.grad, grad)


@settings(deadline=None, max_examples=30)
@given(floats)
def test_deterministic_thresholds(values):
    w0 = 0.6
    w = torch.tensor(values)
    t = weight_codes(w, "ternary", w0).numpy()
    b = weight_codes(w, "binary", w0).numpy()
    v = w.numpy()
    np.testing.assert_array_equal(t, np.where(v > w0 / 3, 1, np.where(v < -w0 / 3, -1, 0)))
    np.testing.assert_array_equal(b, np.where(v >= 0, 1, -1))
    assert t.dtype == np.int8 and b.dtype == np.int8


@pytest.mark.parametrize("kind", ["binary", "ternary"])
def test_stochastic_expectation_is_the_clipped_weight(kind):
    w0 = 0.5
    w = torch.tensor([-0.8, -0.4, -0.1, 0.0, 0.2, 0.35, 0.9])
    gen = torch.Generator().manual_seed(0)
    mean = torch.stack([weight_codes(w, kind, w0, True, gen).float() * w0 for _ in range(4000)]).mean(0)
    np.testing.assert_allclose(mean.numpy(), w.clamp(-w0, w0).numpy(), atol=0.03)


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(QuantConfigError, match="unknown weight kind 'quaternary'.*float, binary, ternary"):
        quantize(torch.zeros(3), "quaternary", 0.1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", ["binary", "ternary"])
def test_levels_are_codes_times_w0_bit_for_bit(kind, dtype):
    """The float fast path of `quantize` equals int8 codes · W0, zeros included (+0.0), at the thresholds too."""
    w0 = 0.123456789
    th = torch.tensor([w0 / 3], dtype=dtype)
    edges = torch.cat([th, -th, th.nextafter(th + 1), th.nextafter(th - 1), (-th).nextafter(-th - 1),
                       torch.tensor([0.0, -0.0, w0, -w0], dtype=dtype)])
    w = torch.cat([torch.randn(500, dtype=dtype, generator=torch.Generator().manual_seed(0)) * w0, edges])
    q = quantize(w, kind, w0)
    want = weight_codes(w, kind, w0).to(dtype) * w0
    bits = torch.int64 if dtype == torch.float64 else torch.int32
    assert torch.equal(q.view(bits), want.view(bits))


def test_quantize_all_is_one_straight_through_node_for_every_matrix():
    a = torch.randn(4, 3, requires_grad=True)
    b = torch.randn(2, 5, requires_grad=True)
    qa, qb = quantize_all((a, b), "ternary", (0.5, 0.25))
    assert qa.grad_fn is qb.grad_fn
    assert torch.equal(qa, quantize(a, "ternary", 0.5)) and torch.equal(qb, quantize(b, "ternary", 0.25))
    (qa.sum() * 2 + (qb * 3).sum()).backward()
    assert torch.equal(a.grad, torch.full_like(a, 2.0)) and torch.equal(b.grad, torch.full_like(b, 3.0))
