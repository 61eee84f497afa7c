"""The batch-normalised LSTM recurrence as one autograd function with a hand-written backward.

Why: autograd over a Python loop records ~30 graph nodes per time step and replays
them in the backward pass (the issue measured 11–17× an `nn.LSTM` step). At the
digits sizes (T=8) what remains is the fixed cost per ATen call, so both loops are
written for the fewest calls per step: each batch norm is one `native_batch_norm`
(forward) or `native_batch_norm_backward` call, every result lands in a preallocated
[T, B, ·] buffer through `out=`, per-step views are made once with `unbind`, and all
that does not depend on the recurrence (gate-activation derivatives, weight and
BN-parameter gradients) is one batched op over all steps after the loop. Forward:
10 calls per step; backward: 7. Measured against `nn.LSTM` in benchmarks/quant_step_time.py.

Per step t (batch statistics over the batch, per step, as in recurrent BN):

    z   = h_{t-1} R^T                               [B, 4H] (gate order i, f, g, o)
    a   = xg_t + γh ⊙ (z - μ_z)/σ_z + βh              xg = BN(Wx·x) computed outside
    c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)
    h_t = σ(o) ⊙ tanh(γc ⊙ (c_t - μ_c)/σ_c + βc)

The function also returns the per-step batch means and unbiased variances of z and c,
which the layer folds into its running statistics.

With `fixed` statistics (mean_z, inv_std_z, mean_c, inv_std_c, all constants) the same
loop normalises with them instead of batch statistics: that is the inference-time cell
with BN folded into time-shared affines, used to fine-tune a model for its export.
"""

from __future__ import annotations

from typing import Optional

import torch

EPS = 1e-5

Fixed = Optional[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


def batch_norm_train(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                     mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch norm of x [N, F] over dim 0 in one call: (weight·x̂ + bias, 1/σ).

    The batch mean and unbiased variance are written into `mean` and `var` (zeros on
    entry): a running-statistics update with momentum 1 is exactly the batch statistic.
    """
    y, _, invstd = torch.native_batch_norm(x, weight, bias, mean, var, True, 1.0, EPS)
    return y, invstd


def step_moments(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step batch mean and unbiased variance of v [T, B, F] -> ([T, F], [T, F])."""
    m = v.mean(1)
    d = v - m[:, None]
    return m, (d * d).sum(1) / (v.shape[1] - 1)


def _norm_back(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, mean: torch.Tensor,
               invstd: torch.Tensor) -> torch.Tensor:
    """d/dx of weight·(x - batch mean)·invstd + bias, batch statistics differentiated too."""
    return torch.ops.aten.native_batch_norm_backward(grad, x, weight, None, None, mean, invstd, True, EPS,
                                                     [True, False, False])[0]


class BNLSTMRecurrence(torch.autograd.Function):
    """Forward and backward loops with the fewest ATen calls per step (see the module docstring)."""

    @staticmethod
    def forward(ctx, xg, r, gamma_h, beta_h, gamma_c, beta_c, fixed: Fixed = None):  # type: ignore[override]
        steps, batch, four_h = xg.shape
        hid = four_h // 4
        g0, g1 = 2 * hid, 3 * hid
        hs = xg.new_zeros(steps + 1, batch, hid)  # hs[t] = h_{t-1}; hs[0] = 0
        cs = xg.new_zeros(steps + 1, batch, hid)  # cs[t] = c_{t-1}
        z_all = xg.new_empty(steps, batch, four_h)
        act = xg.new_empty(steps, batch, four_h)  # σ(i), σ(f), tanh(g), σ(o)
        th_all = xg.new_empty(steps, batch, hid)  # tanh(BN(c))
        h_v, c_v, z_v, act_v, th_v = hs.unbind(0), cs.unbind(0), z_all.unbind(0), act.unbind(0), th_all.unbind(0)
        i_v, f_v, g_v, o_v = (act[..., k * hid:(k + 1) * hid].unbind(0) for k in range(4))
        rt = r.t()
        if fixed is None:
            mean_z, var_z = xg.new_zeros(steps, four_h), xg.new_zeros(steps, four_h)
            mean_c, var_c = xg.new_zeros(steps, hid), xg.new_zeros(steps, hid)
            inv_z, inv_c = [], []
            xg_v = xg.unbind(0)
            for t in range(steps):
                z = torch.mm(h_v[t], rt, out=z_v[t])
                zb, iz = batch_norm_train(z, gamma_h, beta_h, mean_z[t], var_z[t])
                a = torch.add(zb, xg_v[t])
                torch.sigmoid(a, out=act_v[t])
                torch.tanh(a[:, g0:g1], out=g_v[t])
                c = torch.addcmul(f_v[t] * c_v[t], i_v[t], g_v[t], out=c_v[t + 1])
                cb, ic = batch_norm_train(c, gamma_c, beta_c, mean_c[t], var_c[t])
                torch.mul(o_v[t], torch.tanh(cb, out=th_v[t]), out=h_v[t + 1])
                inv_z.append(iz)
                inv_c.append(ic)
            norm = (mean_z, torch.stack(inv_z), mean_c, torch.stack(inv_c))
        else:
            scale_h, scale_c = gamma_h * fixed[1], gamma_c * fixed[3]
            shift_v = (xg + (beta_h - scale_h * fixed[0])).unbind(0)
            shift_c = beta_c - scale_c * fixed[2]
            for t in range(steps):
                z = torch.mm(h_v[t], rt, out=z_v[t])
                a = torch.addcmul(shift_v[t], z, scale_h)
                torch.sigmoid(a, out=act_v[t])
                torch.tanh(a[:, g0:g1], out=g_v[t])
                c = torch.addcmul(f_v[t] * c_v[t], i_v[t], g_v[t], out=c_v[t + 1])
                torch.mul(o_v[t], torch.tanh(torch.addcmul(shift_c, c, scale_c), out=th_v[t]), out=h_v[t + 1])
            mean_z, var_z = step_moments(z_all)
            mean_c, var_c = step_moments(cs[1:])
            norm = (fixed[0].expand(steps, -1), fixed[1].expand(steps, -1),
                    fixed[2].expand(steps, -1), fixed[3].expand(steps, -1))
        ctx.save_for_backward(r, gamma_h, gamma_c, hs, cs, z_all, act, th_all, *norm)
        ctx.mark_non_differentiable(mean_z, var_z, mean_c, var_c)
        ctx.batch_stats = fixed is None
        return hs[1:], mean_z, var_z, mean_c, var_c

    @staticmethod
    def backward(ctx, dy, *_stats):  # type: ignore[override]
        r, gamma_h, gamma_c, hs, cs, z_all, act, th_all, m_z, i_z, m_c, i_c = ctx.saved_tensors
        steps, batch, hid = dy.shape
        four_h = 4 * hid
        # gate-activation derivatives for all steps at once: da = [dc, dc, dc, dh] ⊙ fac, du = dh ⊙ k_u
        fac = torch.empty_like(act)
        torch.mul(act, 1 - act, out=fac)  # σ' for i, f, o (the g quarter is overwritten below)
        i, f, g = act[..., :hid], act[..., hid:2 * hid], act[..., 2 * hid:3 * hid]
        fac[..., :hid] *= g
        fac[..., hid:2 * hid] *= cs[:-1]
        torch.mul(i, 1 - g * g, out=fac[..., 2 * hid:3 * hid])
        fac[..., 3 * hid:] *= th_all
        k_u = act[..., 3 * hid:] * (1 - th_all * th_all)  # dh -> du, u = γc·cn + βc
        da_all = dy.new_empty(steps, batch, four_h)
        du_all = dy.new_empty(steps, batch, hid)
        fac3_v = fac.view(steps, batch, 4, hid)[:, :, :3].unbind(0)
        da3_v = da_all.view(steps, batch, 4, hid)[:, :, :3].unbind(0)
        fac_o_v, da_o_v = fac[..., 3 * hid:].unbind(0), da_all[..., 3 * hid:].unbind(0)
        da_v, du_v, ku_v, dy_v = da_all.unbind(0), du_all.unbind(0), k_u.unbind(0), dy.unbind(0)
        f_v, c_v, z_v = f.unbind(0), cs.unbind(0), z_all.unbind(0)
        if ctx.batch_stats:
            def norm_c(du, t):
                return _norm_back(du, c_v[t + 1], gamma_c, m_c[t], i_c[t])

            def norm_z(da, t):
                return _norm_back(da, z_v[t], gamma_h, m_z[t], i_z[t])
        else:
            scale_c, scale_h = gamma_c * i_c[0], gamma_h * i_z[0]

            def norm_c(du, t):
                return du * scale_c

            def norm_z(da, t):
                return da * scale_h
        dzs = []
        dh = dy_v[steps - 1]
        dc = None
        for t in range(steps - 1, -1, -1):
            du = torch.mul(dh, ku_v[t], out=du_v[t])
            dc = norm_c(du, t) if dc is None else torch.addcmul(norm_c(du, t), dc, f_v[t + 1])
            torch.mul(fac3_v[t], dc[:, None], out=da3_v[t])
            torch.mul(dh, fac_o_v[t], out=da_o_v[t])
            if t == 0:
                break  # h_{-1} = 0: dz_0 reaches neither R nor an earlier state
            dz = norm_z(da_v[t], t)
            dzs.append(dz)
            dh = torch.addmm(dy_v[t - 1], dz, r)
        flat = (steps - 1) * batch
        dr = (torch.mm(torch.stack(dzs[::-1]).view(flat, four_h).t(), hs[1:steps].reshape(flat, hid))
              if steps > 1 else torch.zeros_like(r))
        zn = (z_all - m_z[:, None]) * i_z[:, None]
        cn = (cs[1:] - m_c[:, None]) * i_c[:, None]
        dgamma_h = (da_all * zn).sum((0, 1))
        dbeta_h = da_all.sum((0, 1))
        dgamma_c = (du_all * cn).sum((0, 1))
        dbeta_c = du_all.sum((0, 1))
        return da_all, dr, dgamma_h, dbeta_h, dgamma_c, dbeta_c, None


def bn_lstm_recurrence(xg: torch.Tensor, r: torch.Tensor, gamma_h: torch.Tensor, beta_h: torch.Tensor,
                       gamma_c: torch.Tensor, beta_c: torch.Tensor, fixed=None):
    """Training-mode BN-LSTM over all steps: (y [T,B,H], mean_z, var_z, mean_c, var_c).

    `fixed` = (mean_z [4H], inv_std_z [4H], mean_c [H], inv_std_c [H]) normalises with those
    constants instead of batch statistics (the batch statistics are still returned).
    """
    return BNLSTMRecurrence.apply(xg, r, gamma_h, beta_h, gamma_c, beta_c, fixed)


def bn_lstm_reference(xg, r, gamma_h, beta_h, gamma_c, beta_c, fixed=None):
    """The same recurrence with plain autograd ops: the executable spec `gradcheck` compares against."""
    steps, batch, four_h = xg.shape
    hid = four_h // 4
    h = xg.new_zeros(batch, hid)
    c = xg.new_zeros(batch, hid)
    ys = []
    for t in range(steps):
        z = h @ r.t()
        if fixed is None:
            zn = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + EPS)
        else:
            zn = (z - fixed[0]) * fixed[1]
        a = xg[t] + gamma_h * zn + beta_h
        i, f, g, o = a.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if fixed is None:
            cn = (c - c.mean(0)) / torch.sqrt(c.var(0, unbiased=False) + EPS)
        else:
            cn = (c - fixed[2]) * fixed[3]
        h = torch.sigmoid(o) * torch.tanh(gamma_c * cn + beta_c)
        ys.append(h)
    return torch.stack(ys)
