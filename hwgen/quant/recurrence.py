"""The batch-normalised LSTM recurrence as one autograd function with a hand-written backward.

Why: autograd over a Python loop records ~30 graph nodes per time step and replays
them in the backward pass (the issue measured 11–17× an `nn.LSTM` step; the plain
autograd loop in `bn_lstm_reference` is ~3.6× here at H=256, T=100, the fused one ~1.8×;
see benchmarks/quant_step_time.py).
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


def batch_moments(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean over dim 0, z - mean). Two passes instead of `torch.var_mean(z, 0)`, which is
    ~10x slower on CPU when reducing over the outer dimension of a [batch, features] matrix."""
    m = z.mean(0)
    return m, z - m


class BNLSTMRecurrence(torch.autograd.Function):
    """Forward and backward loops with few, fused elementwise ops per step.

    Everything that does not depend on the recurrence (the gate-activation derivatives,
    the output-tanh factor) is computed for all steps at once after the forward loop,
    so the backward loop only carries dh, dc through the two batch norms and R.
    """

    @staticmethod
    def forward(ctx, xg, r, gamma_h, beta_h, gamma_c, beta_c, fixed=None):  # type: ignore[override]
        steps, batch, four_h = xg.shape
        hid = four_h // 4
        g0, g1 = 2 * hid, 3 * hid
        hs = xg.new_zeros(steps + 1, batch, hid)  # hs[t] = h_{t-1}; hs[0] = 0
        cs = xg.new_zeros(steps + 1, batch, hid)
        zn_all = xg.new_empty(steps, batch, four_h)
        act = xg.new_empty(steps, batch, four_h)  # σ(i), σ(f), tanh(g), σ(o)
        cn_all = xg.new_empty(steps, batch, hid)
        th_all = xg.new_empty(steps, batch, hid)
        stats_z: list[tuple[torch.Tensor, torch.Tensor]] = []
        stats_c: list[tuple[torch.Tensor, torch.Tensor]] = []
        inv_z: list[torch.Tensor] = []
        inv_c: list[torch.Tensor] = []
        xgb = xg + beta_h
        rt = r.t()
        for t in range(steps):
            z = torch.mm(hs[t], rt)
            mz, dz = batch_moments(z)
            vz = (dz * dz).mean(0)
            stats_z.append((mz, vz))
            if fixed is None:
                s = torch.rsqrt(vz + EPS)
                zn = torch.mul(dz, s, out=zn_all[t])
            else:
                s = fixed[1]
                zn = torch.mul(z - fixed[0], s, out=zn_all[t])
            a = torch.addcmul(xgb[t], zn, gamma_h)
            acts = torch.sigmoid(a, out=act[t])
            torch.tanh(a[:, g0:g1], out=acts[:, g0:g1])
            c = torch.addcmul(acts[:, hid:g0] * cs[t], acts[:, :hid], acts[:, g0:g1], out=cs[t + 1])
            mc, dc = batch_moments(c)
            vc = (dc * dc).mean(0)
            stats_c.append((mc, vc))
            if fixed is None:
                sc = torch.rsqrt(vc + EPS)
                cn = torch.mul(dc, sc, out=cn_all[t])
            else:
                sc = fixed[3]
                cn = torch.mul(c - fixed[2], sc, out=cn_all[t])
            th = torch.tanh(torch.addcmul(beta_c, cn, gamma_c), out=th_all[t])
            torch.mul(acts[:, g1:], th, out=hs[t + 1])
            inv_z.append(s)
            inv_c.append(sc)
        # gate-activation derivatives for all steps at once: da = [dc, dc, dc, dh] * factors
        i, f, g, o = act[..., :hid], act[..., hid:g0], act[..., g0:g1], act[..., g1:]
        factors = torch.cat([g * i * (1 - i), cs[:-1] * f * (1 - f), i * (1 - g * g), th_all * o * (1 - o)], 2)
        k_u = o * (1 - th_all * th_all)  # dh -> du, u = γc·cn + βc
        mean_z = torch.stack([m for m, _ in stats_z])
        var_z = torch.stack([v for _, v in stats_z])
        mean_c = torch.stack([m for m, _ in stats_c])
        var_c = torch.stack([v for _, v in stats_c])
        if fixed is None:
            inv_z_t, inv_c_t = torch.stack(inv_z), torch.stack(inv_c)
        else:
            inv_z_t, inv_c_t = fixed[1].expand(steps, -1), fixed[3].expand(steps, -1)
        ctx.save_for_backward(r, gamma_h, gamma_c, hs, zn_all, f.contiguous(), inv_z_t, cn_all, inv_c_t, factors, k_u)
        ctx.mark_non_differentiable(mean_z, var_z, mean_c, var_c)
        ctx.batch_stats = fixed is None
        return hs[1:], mean_z, var_z, mean_c, var_c

    @staticmethod
    def backward(ctx, dy, *_stats):  # type: ignore[override]
        r, gamma_h, gamma_c, hs, zn_all, f_all, inv_z, cn_all, inv_c, factors, k_u = ctx.saved_tensors
        steps, batch, hid = dy.shape
        batch_stats = ctx.batch_stats
        dh = dy.new_zeros(batch, hid)
        dc = dy.new_zeros(batch, hid)
        da_all = dy.new_empty(steps, batch, 4 * hid)
        dz_all = dy.new_empty(steps, batch, 4 * hid)
        du_all = dy.new_empty(steps, batch, hid)
        for t in range(steps - 1, -1, -1):
            dh = dh + dy[t]
            dcn = torch.mul(dh, k_u[t], out=du_all[t]) * gamma_c
            if batch_stats:
                cn = cn_all[t]
                dcn = (dcn - dcn.mean(0)).addcmul_(cn, (dcn * cn).mean(0), value=-1)
            dc = dc.addcmul_(dcn, inv_c[t])
            da = torch.mul(torch.cat([dc, dc, dc, dh], 1), factors[t], out=da_all[t])
            dc = dc * f_all[t]
            dzn = da * gamma_h
            if batch_stats:
                zn = zn_all[t]
                dzn = (dzn - dzn.mean(0)).addcmul_(zn, (dzn * zn).mean(0), value=-1)
            dz = torch.mul(dzn, inv_z[t], out=dz_all[t])
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
