"""The batch-normalised LSTM recurrence as one autograd function with a hand-written backward.

Why: autograd over a Python loop records ~30 graph nodes per time step and replays
them in the backward pass, which made the naive cell 11–17× slower than `nn.LSTM`.
Here the forward loop runs without autograd and saves only what the backward needs;
the backward loop is the analytic gradient, and the weight/BN-parameter gradients are
one batched reduction over all steps after the loop.

Per step t (batch statistics over the batch, per step, as in recurrent BN):

    z   = h_{t-1} R^T                               [B, 4H] (gate order i, f, g, o)
    a   = xg_t + γh ⊙ (z - μ_z)/σ_z + βh              xg = BN(Wx·x) computed outside
    c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)
    h_t = σ(o) ⊙ tanh(γc ⊙ (c_t - μ_c)/σ_c + βc)

The function also returns the per-step batch means and (biased) variances of z and c,
which the layer folds into its running statistics.

With `fixed` statistics (mean_z, inv_std_z, mean_c, inv_std_c, all constants) the same
loop normalises with them instead of batch statistics: that is the inference-time cell
with BN folded into time-shared affines, used to fine-tune a model for its export.
"""

from __future__ import annotations

import torch

EPS = 1e-5


class BNLSTMRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xg, r, gamma_h, beta_h, gamma_c, beta_c, fixed=None):  # type: ignore[override]
        steps, batch, four_h = xg.shape
        hid = four_h // 4
        dt = xg.dtype
        h = xg.new_zeros(batch, hid)
        c = xg.new_zeros(batch, hid)
        hs = xg.new_empty(steps + 1, batch, hid)  # h_{t-1} for t = 0..T (hs[0] = 0)
        cs = xg.new_empty(steps + 1, batch, hid)
        hs[0] = h
        cs[0] = c
        zn_all = xg.new_empty(steps, batch, four_h)
        act = xg.new_empty(steps, batch, four_h)  # σ(i), σ(f), tanh(g), σ(o)
        inv_z = xg.new_empty(steps, four_h)
        cn_all = xg.new_empty(steps, batch, hid)
        inv_c = xg.new_empty(steps, hid)
        th_all = xg.new_empty(steps, batch, hid)
        mean_z = xg.new_empty(steps, four_h)
        var_z = xg.new_empty(steps, four_h)
        mean_c = xg.new_empty(steps, hid)
        var_c = xg.new_empty(steps, hid)
        rt = r.t()
        g0, g1 = 2 * hid, 3 * hid
        for t in range(steps):
            z = torch.mm(h, rt)
            var_z[t], mean_z[t] = torch.var_mean(z, 0, unbiased=False)
            m, s = (mean_z[t], torch.rsqrt(var_z[t] + EPS)) if fixed is None else (fixed[0], fixed[1])
            zn = (z - m) * s
            a = torch.addcmul(xg[t] + beta_h, zn, gamma_h)
            acts = torch.sigmoid(a)
            acts[:, g0:g1] = torch.tanh(a[:, g0:g1])
            c = torch.addcmul(acts[:, hid:g0] * c, acts[:, :hid], acts[:, g0:g1])
            var_c[t], mean_c[t] = torch.var_mean(c, 0, unbiased=False)
            mc, sc = (mean_c[t], torch.rsqrt(var_c[t] + EPS)) if fixed is None else (fixed[2], fixed[3])
            cn = (c - mc) * sc
            th = torch.tanh(torch.addcmul(beta_c, cn, gamma_c))
            h = acts[:, g1:] * th
            hs[t + 1] = h
            cs[t + 1] = c
            zn_all[t] = zn
            act[t] = acts
            inv_z[t] = s
            cn_all[t] = cn
            inv_c[t] = sc
            th_all[t] = th
        ctx.save_for_backward(r, gamma_h, gamma_c, hs, cs, zn_all, act, inv_z, cn_all, inv_c, th_all)
        ctx.mark_non_differentiable(mean_z, var_z, mean_c, var_c)
        ctx.batch_stats = fixed is None
        del dt
        return hs[1:], mean_z, var_z, mean_c, var_c

    @staticmethod
    def backward(ctx, dy, *_stats):  # type: ignore[override]
        r, gamma_h, gamma_c, hs, cs, zn_all, act, inv_z, cn_all, inv_c, th_all = ctx.saved_tensors
        steps, batch, hid = dy.shape
        g0, g1 = 2 * hid, 3 * hid
        dh = dy.new_zeros(batch, hid)
        dc = dy.new_zeros(batch, hid)
        da_all = dy.new_empty(steps, batch, 4 * hid)
        dz_all = dy.new_empty(steps, batch, 4 * hid)
        du_all = dy.new_empty(steps, batch, hid)
        for t in range(steps - 1, -1, -1):
            acts = act[t]
            i, f, g, o = acts[:, :hid], acts[:, hid:g0], acts[:, g0:g1], acts[:, g1:]
            th, cn = th_all[t], cn_all[t]
            dh = dh + dy[t]
            du = dh * o * (1 - th * th)
            du_all[t] = du
            dcn = du * gamma_c
            if ctx.batch_stats:
                dc = dc + inv_c[t] * (dcn - dcn.mean(0) - cn * (dcn * cn).mean(0))
            else:
                dc = dc + inv_c[t] * dcn
            da = da_all[t]
            da[:, :hid] = dc * g * i * (1 - i)
            da[:, hid:g0] = dc * cs[t] * f * (1 - f)
            da[:, g0:g1] = dc * i * (1 - g * g)
            da[:, g1:] = dh * th * o * (1 - o)
            dc = dc * f
            zn = zn_all[t]
            dzn = da * gamma_h
            if ctx.batch_stats:
                dz = inv_z[t] * (dzn - dzn.mean(0) - zn * (dzn * zn).mean(0))
            else:
                dz = inv_z[t] * dzn
            dz_all[t] = dz
            dh = torch.mm(dz, r)
        flat = steps * batch
        dr = torch.mm(dz_all.reshape(flat, 4 * hid).t(), hs[:-1].reshape(flat, hid))
        dgamma_h = (da_all * zn_all).sum((0, 1))
        dbeta_h = da_all.sum((0, 1))
        dgamma_c = (du_all * cn_all).sum((0, 1))
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
