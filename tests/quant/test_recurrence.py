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


def _mask(steps, batch=4, seed=5):
    m = torch.rand(steps, batch, generator=torch.Generator().manual_seed(seed)) < 0.6
    m[0, 0] = False  # a held step 0 keeps the zero state
    return m


@pytest.mark.parametrize("steps", [1, 2, 5])
@pytest.mark.parametrize("fixed", [None, "fixed"], ids=["batch-stats", "fixed-stats"])
def test_a_step_mask_holds_the_state_and_matches_the_reference(fixed, steps):
    """Masked-off steps keep h and c: values and gradients against the plain autograd loop, and gradcheck."""
    args = [a.requires_grad_() for a in _args(steps)]
    stats, mask = (_fixed() if fixed else None), _mask(steps)
    y = bn_lstm_recurrence(*args, stats, mask=mask)
    torch.testing.assert_close(y, bn_lstm_reference(*args, stats, mask=mask), rtol=1e-10, atol=1e-12)
    held = ~mask[1:]
    torch.testing.assert_close(y[1:][held], y[:-1][held], rtol=0, atol=0)
    if not mask[0, 0]:
        assert torch.all(y[0, 0] == 0)
    assert torch.autograd.gradcheck(lambda *a: bn_lstm_recurrence(*a, stats, mask=mask), args)


@pytest.mark.parametrize("fixed", [None, "fixed"], ids=["batch-stats", "fixed-stats"])
def test_an_all_run_mask_is_the_unmasked_recurrence(fixed):
    stats = _fixed() if fixed else None
    runs = []
    for mask in (None, torch.ones(4, 4, dtype=torch.bool)):
        args = [a.requires_grad_() for a in _args(4)]
        running = _running(4)
        y = bn_lstm_recurrence(*args, stats, running=running, momentum=0.3, mask=mask)
        y.sin().sum().backward()
        runs.append((y.detach(), [a.grad for a in args], running))
    (y0, g0, r0), (y1, g1, r1) = runs
    torch.testing.assert_close(y1, y0, rtol=0, atol=0)
    for a, b in zip(g1 + list(r1), g0 + list(r0)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_masked_running_statistics_are_the_candidates():
    args, mask = _args(), _mask(3)
    ours, ref = _running(3), _running(3)
    bn_lstm_recurrence(*args, running=ours, momentum=0.3, mask=mask)
    bn_lstm_reference(*args, running=ref, momentum=0.3, mask=mask)
    for got, want in zip(ours, ref):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"step mask must be \[T, B\] = \[3, 4\]"):
        bn_lstm_recurrence(*args, mask=torch.ones(4, 3, dtype=torch.bool))
