"""The fused BN-LSTM recurrence against plain autograd (values and gradients)."""

import pytest
import torch

from hwgen.quant.recurrence import bn_lstm_recurrence, bn_lstm_reference


def _args(steps=3, batch=4, hid=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    d = torch.double
    return [torch.randn(steps, batch, 4 * hid, generator=g, dtype=d), 0.5 * torch.randn(4 * hid, hid, generator=g, dtype=d),
            torch.rand(4 * hid, generator=g, dtype=d) + 0.1, torch.randn(4 * hid, generator=g, dtype=d),
            torch.rand(hid, generator=g, dtype=d) + 0.1, torch.randn(hid, generator=g, dtype=d)]


def _fixed(hid=3):
    g = torch.Generator().manual_seed(1)
    d = torch.double
    return (torch.randn(4 * hid, generator=g, dtype=d), torch.rand(4 * hid, generator=g, dtype=d) + 0.5,
            torch.randn(hid, generator=g, dtype=d), torch.rand(hid, generator=g, dtype=d) + 0.5)


@pytest.mark.parametrize("fixed", [None, "fixed"], ids=["batch-stats", "fixed-stats"])
def test_matches_autograd_reference_and_gradcheck(fixed):
    args = [a.requires_grad_() for a in _args()]
    stats = _fixed() if fixed else None
    y = bn_lstm_recurrence(*args, stats)[0]
    torch.testing.assert_close(y, bn_lstm_reference(*args, stats), rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(lambda *a: bn_lstm_recurrence(*a, stats)[0], args)


def test_returns_per_step_batch_statistics():
    args = _args()
    y, mean_z, var_z, mean_c, var_c = bn_lstm_recurrence(*args)
    assert mean_z.shape == (3, 12) and var_c.shape == (3, 3)
    torch.testing.assert_close(mean_z[0], torch.zeros(12, dtype=torch.double))  # h0 = 0 -> z = 0 at step 0
    assert (var_z[1:] > 0).all() and (var_c > 0).all()
