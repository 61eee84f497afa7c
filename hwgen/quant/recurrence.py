"""The batch-normalised LSTM recurrence as one autograd function with a hand-written backward.

Why: autograd over a Python loop records ~30 graph nodes per time step and replays
them in the backward pass (the issue measured 11–17× an `nn.LSTM` step). At the
digits sizes (T=8) what remains is the fixed cost of each ATen call, so both loops
are written for the fewest calls per step: each batch norm is one `native_batch_norm`
call (which also folds the batch statistics into the running ones) or one
`native_batch_norm_backward` call (which also gives γ's gradient), results land in
preallocated [T, B, ·] buffers through `out=`, per-step views are made once with
`unbind`, and what does not depend on the recurrence (gate-activation derivatives,
R's gradient) is one batched op over all steps outside the loops. Forward: 10 calls
per step, backward: 7. A whole ternary BN training step (benchmarks/quant_step_time.py,
1 thread, medians of 21 interleaved rounds on a loaded 2-core machine) is 1.59× wall /
1.73× CPU time of an `nn.LSTM` fp32 step at H=32, T=8; 1.38× / 1.45× at H=128, T=8;
1.37× / 1.36× at H=256, T=100 (the plain autograd loop `bn_lstm_reference`: 3.2–4.3×).

Per step t (batch statistics over the batch, per step, as in recurrent BN):

    z   = h_{t-1} R^T                               [B, 4H] (gate order i, f, g, o)
    a   = xg_t + γh ⊙ (z - μ_z)/σ_z + βh              xg = BN(Wx·x) computed outside
    c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)
    h_t = σ(o) ⊙ tanh(γc ⊙ (c_t - μ_c)/σ_c + βc)

`running` = (mean_z, var_z, mean_c, var_c), each [S, F], are per-step running statistics:
the first S steps' batch means and unbiased variances are folded in as `nn.BatchNorm` does
(running ← (1 - momentum)·running + momentum·batch statistic).

With `fixed` statistics (mean_z, inv_std_z, mean_c, inv_std_c, all constants) the same
loop normalises with them instead of batch statistics: that is the inference-time cell
with BN folded into time-shared affines, used to fine-tune a model for its export.

With a `mask` [T, B] (bool; True: the step runs) a masked-off step *holds* the sample's state:

    h_t = h_{t-1},  c_t = c_{t-1}                   where mask[t, b] is False

which is what the surprisal gate's big model does over the steps it skips
(`hwgen.model.surprisal_gate`). The step's candidate update is still computed for the whole
batch, so the batch statistics are those of the candidate z and c, as without a mask.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

EPS = 1e-5

#: (mean_z [4H], inv_std_z [4H], mean_c [H], inv_std_c [H]) normalising instead of batch statistics.
Fixed = Optional[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]
#: (mean_z, var_z [S, 4H], mean_c, var_c [S, H]) per-step running statistics, updated in place.
Running = Optional[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]
#: [T, B] bool: the steps each sample runs (False: its state holds over that step).
Mask = Optional[torch.Tensor]


def batch_norm_train(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                     running_mean: Optional[torch.Tensor], running_var: Optional[torch.Tensor],
                     momentum: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch norm of x [N, F] over dim 0 in one call: (weight·x̂ + bias, batch mean, 1/σ).

    The running statistics (if given) take the batch mean and unbiased variance with
    `momentum`; momentum 1 makes them exactly the batch statistics.
    """
    return torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, momentum, EPS)


def step_moments(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step batch mean and unbiased variance of v [T, B, F] -> ([T, F], [T, F])."""
    m = v.mean(1)
    d = v - m[:, None]
    return m, (d * d).sum(1) / (v.shape[1] - 1)


def fold_running(running: Sequence[torch.Tensor], stats: Sequence[torch.Tensor], steps: int, momentum: float) -> None:
    """running[k][:n] ← lerp(running[k][:n], stats[k], momentum) for n = min(S, steps).

    stats[k] (no gradient) is [steps, F], or [1, F] for a statistic shared by all steps.
    """
    n = min(running[0].shape[0], steps)
    for r, s in zip(running, stats):
        (r if n == r.shape[0] else r[:n]).lerp_(s if n == s.shape[0] or s.shape[0] == 1 else s[:n], momentum)


def _norm_back(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, mean: torch.Tensor,
               invstd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of weight·(x - batch mean)·invstd + bias (statistics differentiated too) to x and weight."""
    return torch.ops.aten.native_batch_norm_backward(grad, x, weight, None, None, mean, invstd, True, EPS,
                                                     [True, True, False])


class BNLSTMRecurrence(torch.autograd.Function):
    """Forward and backward loops with the fewest ATen calls per step (see the module docstring).

    Step 0 starts from h = c = 0, so its z is 0 and BN(z) is βh exactly: the forward skips
    that matmul and batch norm, the backward their gradients (they reach nothing).
    """

    @staticmethod
    def forward(ctx, xg, r, gamma_h, beta_h, gamma_c, beta_c,  # type: ignore[override]
                fixed: Fixed = None, running: Running = None, momentum: float = 0.1, mask: Mask = None):
        steps, batch, four_h = xg.shape
        hid = four_h // 4
        hs = xg.new_zeros(steps + 1, batch, hid)  # hs[t] = h_{t-1}; hs[0] = 0
        cs = xg.new_zeros(steps + 1, batch, hid)  # cs[t] = c_{t-1}; cs[0] = 0
        # the candidate cell c'_t = σ(f)·c_{t-1} + σ(i)·tanh(g): the state itself unless a mask holds it
        cc = cs[1:] if mask is None else xg.new_empty(steps, batch, hid)
        cc_v = cc.unbind(0)
        if mask is not None:
            keep_v = mask[..., None].unbind(0)  # [B, 1] bool per step
            cand = xg.new_empty(batch, hid)  # this step's candidate h
        z_all = xg.new_empty(steps, batch, four_h)  # z_all[0] (= 0) is only read with fixed statistics
        pre = xg.new_empty(batch, four_h)  # this step's gate pre-activations
        pre_g = pre[:, 2 * hid:3 * hid]
        act = xg.new_empty(steps, batch, four_h)  # σ(i), σ(f), tanh(g), σ(o)
        th_all = xg.new_empty(steps, batch, hid)  # tanh(BN(c))
        h_v, c_v, z_v, act_v, th_v = hs.unbind(0), cs.unbind(0), z_all.unbind(0), act.unbind(0), th_all.unbind(0)
        i_v, f_v, g_v, o_v = (act[..., k * hid:(k + 1) * hid].unbind(0) for k in range(4))
        rt = r.t()
        if fixed is None:
            no_run = (None,) * steps
            run_v = [(s.unbind(0) + no_run)[:steps] for s in running] if running is not None else [no_run] * 4
            norm: list[list[torch.Tensor]] = [[], [], [], []]  # batch means and 1/σ of z (steps >= 1) and c
            xg_v = xg.unbind(0)

            def gates(t: int) -> torch.Tensor:
                if t == 0:
                    return torch.add(xg_v[0], beta_h, out=pre)
                z = torch.mm(h_v[t], rt, out=z_v[t])
                zb, mz, iz = batch_norm_train(z, gamma_h, beta_h, run_v[0][t], run_v[1][t], momentum)
                norm[0].append(mz)
                norm[1].append(iz)
                return torch.add(zb, xg_v[t], out=pre)

            def cell(t: int) -> torch.Tensor:
                cb, mc, ic = batch_norm_train(cc_v[t], gamma_c, beta_c, run_v[2][t], run_v[3][t], momentum)
                norm[2].append(mc)
                norm[3].append(ic)
                return cb
        else:
            z_all[0] = 0
            scale_h, scale_c = gamma_h * fixed[1], gamma_c * fixed[3]
            shift_v = (xg + (beta_h - scale_h * fixed[0])).unbind(0)  # a_t = shift_t + γh·s·z_t
            shift_c = beta_c - scale_c * fixed[2]

            def gates(t: int) -> torch.Tensor:
                z = torch.mm(h_v[t], rt, out=z_v[t]) if t else z_v[0]  # z_0 = 0
                return torch.addcmul(shift_v[t], z, scale_h, out=pre)

            def cell(t: int) -> torch.Tensor:
                return torch.addcmul(shift_c, cc_v[t], scale_c)

        for t in range(steps):
            torch.sigmoid(gates(t), out=act_v[t])
            torch.tanh(pre_g, out=g_v[t])
            if t == 0:
                torch.mul(i_v[0], g_v[0], out=cc_v[0])
            else:
                torch.addcmul(torch.mul(f_v[t], c_v[t], out=cc_v[t]), i_v[t], g_v[t], out=cc_v[t])
            if mask is None:
                torch.mul(o_v[t], torch.tanh(cell(t), out=th_v[t]), out=h_v[t + 1])
            else:
                torch.mul(o_v[t], torch.tanh(cell(t), out=th_v[t]), out=cand)
                torch.where(keep_v[t], cand, h_v[t], out=h_v[t + 1])
                torch.where(keep_v[t], cc_v[t], c_v[t], out=c_v[t + 1])
        if fixed is None:
            if running is not None:  # step 0's z is 0: batch mean and variance 0
                torch._foreach_mul_([running[0][:1], running[1][:1]], 1 - momentum)
            ctx.norm = norm  # intermediates, not inputs or outputs: kept as they are, per step
        else:
            if running is not None:
                fold_running(running, (*step_moments(z_all), *step_moments(cc)), steps, momentum)
            ctx.norm = fixed
        ctx.save_for_backward(r, gamma_h, gamma_c, hs, cs, z_all, act, th_all, cc,
                              None if mask is None else mask[..., None].to(xg.dtype))
        ctx.views = (f_v, cc_v, z_v)  # per-step views of saved buffers, made once
        ctx.batch_stats = fixed is None
        return hs[1:]

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        r, gamma_h, gamma_c, hs, cs, z_all, act, th_all, cc, keep = ctx.saved_tensors
        norm = ctx.norm
        steps, batch, hid = dy.shape
        four_h = 4 * hid
        # gate-activation derivatives for all steps at once: da = [dc, dc, dc, dh] ⊙ fac, du = dh ⊙ k_u
        i, g, o = (act[..., k * hid:(k + 1) * hid] for k in (0, 2, 3))
        fac = torch.addcmul(act, act, act, value=-1)  # σ' = σ - σ² for i, f, o (the g quarter is replaced)
        for part, other in ((fac[..., :hid], g), (fac[..., hid:2 * hid], cs[:-1]), (fac[..., 3 * hid:], th_all)):
            part.mul_(other)
        torch.addcmul(i, i, g * g, value=-1, out=fac[..., 2 * hid:3 * hid])  # i ⊙ (1 - tanh²)
        k_u = torch.addcmul(o, o, th_all * th_all, value=-1)  # dh -> du, u = γc·cn + βc
        da_all = dy.new_empty(steps, batch, four_h)
        du_all = dy.new_empty(steps, batch, hid)
        fac3_v = fac.view(steps, batch, 4, hid)[:, :, :3].unbind(0)
        da3_v = da_all.view(steps, batch, 4, hid)[:, :, :3].unbind(0)
        fac_o_v, da_o_v = fac[..., 3 * hid:].unbind(0), da_all[..., 3 * hid:].unbind(0)
        da_v, du_v, ku_v, dy_v = da_all.unbind(0), du_all.unbind(0), k_u.unbind(0), dy.unbind(0)
        f_v, cc_v, z_v = ctx.views
        dgammas: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])  # per step, of γh and γc
        if ctx.batch_stats:
            mean_z, inv_z, mean_c, inv_c = norm  # lists over steps; z's from step 1 on

            def back_c(du: torch.Tensor, t: int) -> torch.Tensor:
                dx, dgamma, _ = _norm_back(du, cc_v[t], gamma_c, mean_c[t], inv_c[t])
                dgammas[1].append(dgamma)
                return dx

            def back_z(da: torch.Tensor, t: int) -> torch.Tensor:
                dx, dgamma, _ = _norm_back(da, z_v[t], gamma_h, mean_z[t - 1], inv_z[t - 1])
                dgammas[0].append(dgamma)
                return dx
        else:
            scale_h, scale_c = gamma_h * norm[1], gamma_c * norm[3]

            def back_c(du: torch.Tensor, t: int) -> torch.Tensor:
                return du * scale_c

            def back_z(da: torch.Tensor, t: int) -> torch.Tensor:
                return da * scale_h

        dzs = []
        dh = dy_v[steps - 1]  # gradient of the state h_t (all later steps' included)
        dc = None  # without a mask: of the candidate c'_{t+1}; with one: of the state c_t
        if keep is None:
            for t in range(steps - 1, -1, -1):
                du = torch.mul(dh, ku_v[t], out=du_v[t])
                dc = back_c(du, t) if dc is None else torch.addcmul(back_c(du, t), dc, f_v[t + 1])
                torch.mul(fac3_v[t], dc[:, None], out=da3_v[t])
                torch.mul(dh, fac_o_v[t], out=da_o_v[t])
                if t == 0:
                    break  # h_{-1} = 0: dz_0 reaches neither R nor an earlier state
                dz = back_z(da_v[t], t)
                dzs.append(dz)
                dh = torch.addmm(dy_v[t - 1], dz, r)
        else:  # h_t = k·h'_t + (1 - k)·h_{t-1}, c_t = k·c'_t + (1 - k)·c_{t-1}
            keep_v, hold = keep.unbind(0), (1 - keep).unbind(0)
            for t in range(steps - 1, -1, -1):
                dh_new = dh * keep_v[t]  # of the candidate h'_t
                du = torch.mul(dh_new, ku_v[t], out=du_v[t])
                dc_new = back_c(du, t) if dc is None else torch.addcmul(back_c(du, t), dc, keep_v[t])
                torch.mul(fac3_v[t], dc_new[:, None], out=da3_v[t])
                torch.mul(dh_new, fac_o_v[t], out=da_o_v[t])
                if t == 0:
                    break
                dz = back_z(da_v[t], t)
                dzs.append(dz)
                carried = dc_new * f_v[t]
                dc = carried if dc is None else torch.addcmul(carried, dc, hold[t])
                dh = torch.addmm(dy_v[t - 1], dz, r).addcmul_(dh, hold[t])
        flat = (steps - 1) * batch
        dr = (torch.mm(torch.stack(dzs[::-1]).view(flat, four_h).t(), hs[1:steps].reshape(flat, hid))
              if dzs else torch.zeros_like(r))
        if ctx.batch_stats:  # Σ over steps of the γ gradients the batch-norm backward gave
            dgamma_h = torch.stack(dgammas[0]).sum(0) if dgammas[0] else torch.zeros_like(gamma_h)
            dgamma_c = torch.stack(dgammas[1]).sum(0)
        else:
            dgamma_h = (da_all * (z_all - norm[0]) * norm[1]).sum((0, 1))
            dgamma_c = (du_all * (cc - norm[2]) * norm[3]).sum((0, 1))
        return da_all, dr, dgamma_h, da_all.sum((0, 1)), dgamma_c, du_all.sum((0, 1)), None, None, None, None


def bn_lstm_recurrence(xg: torch.Tensor, r: torch.Tensor, gamma_h: torch.Tensor, beta_h: torch.Tensor,
                       gamma_c: torch.Tensor, beta_c: torch.Tensor, fixed: Fixed = None, running: Running = None,
                       momentum: float = 0.1, mask: Mask = None) -> torch.Tensor:
    """Training-mode BN-LSTM over all steps: y [T, B, H] (zero initial state).

    `fixed` normalises with those constants instead of batch statistics; `running` (if
    given) takes the batch statistics of its first S steps with `momentum`, in both cases.
    `mask` [T, B] (True: the step runs) holds a sample's h and c over its masked-off steps.
    """
    return BNLSTMRecurrence.apply(xg, r, gamma_h, beta_h, gamma_c, beta_c, fixed, running, momentum,
                                  check_mask(mask, xg.shape[:2]))


def check_mask(mask: Mask, shape: Sequence[int]) -> Mask:
    """A step mask as bool [T, B] of `shape`, or None; a clear error for another shape."""
    if mask is None:
        return None
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"step mask must be [T, B] = {list(shape)}, got {list(mask.shape)}")
    return mask.to(torch.bool)


def bn_lstm_reference(xg, r, gamma_h, beta_h, gamma_c, beta_c, fixed: Fixed = None, running: Running = None,
                      momentum: float = 0.1, mask: Mask = None):
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
        c_prev = c
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if fixed is None:
            cn = (c - c.mean(0)) / torch.sqrt(c.var(0, unbiased=False) + EPS)
        else:
            cn = (c - fixed[2]) * fixed[3]
        h_new = torch.sigmoid(o) * torch.tanh(gamma_c * cn + beta_c)
        if running is not None and t < running[0].shape[0]:
            with torch.no_grad():
                for buf, stat in zip(running, (z.mean(0), z.var(0), c.mean(0), c.var(0))):
                    buf[t].lerp_(stat, momentum)
        if mask is None:
            h = h_new
        else:
            keep = mask[t, :, None]
            h, c = torch.where(keep, h_new, h), torch.where(keep, c, c_prev)
        ys.append(h)
    return torch.stack(ys)
