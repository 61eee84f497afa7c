"""The fused BN-LSTM recurrence against plain autograd (values, gradients, running statistics)."""

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


def _running(rows, hid=3):
    g = torch.Generator().manual_seed(2)
    d = torch.double
    return tuple(torch.rand(rows, n, generator=g, dtype=d) for n in (4 * hid, 4 * hid, hid, hid))


@pytest.mark.parametrize("steps", [1, 2, 5])
@pytest.mark.parametrize("fixed", [None, "fixed"], ids=["batch-stats", "fixed-stats"])
def test_matches_autograd_reference_and_gradcheck(fixed, steps):
    args = [a.requires_grad_() for a in _args(steps)]
    stats = _fixed() if fixed else None
    y = bn_lstm_recurrence(*args, stats)
    torch.testing.assert_close(y, bn_lstm_reference(*args, stats), rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(lambda *a: bn_lstm_recurrence(*a, stats), args)


@pytest.mark.parametrize("rows", [2, 3, 6])  # fewer, as many and more running rows than steps (3)
@pytest.mark.parametrize("fixed", [None, "fixed"], ids=["batch-stats", "fixed-stats"])
def test_running_statistics_fold_in_the_first_steps_batch_statistics(fixed, rows):
    args, stats = _args(), (_fixed() if fixed else None)
    ours, ref = _running(rows), _running(rows)
    before = [r.clone() for r in ours]
    bn_lstm_recurrence(*args, stats, running=ours, momentum=0.3)
    bn_lstm_reference(*args, stats, running=ref, momentum=0.3)
    for got, want, old in zip(ours, ref, before):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
        assert torch.equal(got[3:], old[3:]) and not torch.equal(got[:3], old[:3])


def test_momentum_one_gives_the_batch_statistics():
    args = _args()
    mean_z, var_z, mean_c, var_c = running = _running(3)
    y = bn_lstm_recurrence(*args, running=running, momentum=1.0)
    torch.testing.assert_close(mean_z[0], torch.zeros(12, dtype=torch.double))  # h0 = 0 -> z = 0 at step 0
    torch.testing.assert_close(var_z[0], torch.zeros(12, dtype=torch.double))
    z1 = y[0] @ args[1].t()
    torch.testing.assert_close(mean_z[1], z1.mean(0))
    torch.testing.assert_close(var_z[1], z1.var(0))  # unbiased, as nn.BatchNorm keeps it
    assert (var_c > 0).all()
