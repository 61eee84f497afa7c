"""One GRU layer with binary/ternary weights and the LSTM's in-cell batch norm recipe.

Gate order inside torch is nn.GRU's (r, z, n); the ONNX export reorders rows to ONNX's
(z, r, h). The trainer uses nn.GRU's form of the candidate, ONNX `linear_before_reset=1`:
the reset gate multiplies R_n·h after the product, so all three R products come from
one matrix-vector product of h (the hardware streams them in one pass; see
`hwgen.model.gru`). Without batch norm the layer calls torch's fused GRU kernel with the
quantized weights, so float mode *is* `nn.GRU`. With batch norm (as the LSTM, minus the
cell state a GRU does not have):

    a   = BN(Wx·x; γx) + BN(Wh·h; γh, βh)        [B, 3H], per gate block (r, z, n)
    r   = σ(a_r)   z = σ(a_z)
    n   = tanh(BN(Wx·x)_n + r ⊙ BN(Wh·h)_n)       βh of the n rows sits inside r, as nn.GRU's b_hn
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

Folded with the time-shared statistics this is exactly a standard ONNX GRU: BN(W·x) and
BN(R·h) become per-row scales of W and R (DequantizeLinear) plus Wb and Rb, and Rb_h is
where ONNX puts the bias inside the reset gate. Training, statistics and fold epochs work
as for the LSTM (`QuantRecurrentLayer`); the recurrence is a plain autograd loop (no
hand-written backward yet: a GRU step costs more wall time to train than a BN-LSTM step).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from hwgen.quant.layer import MOMENTUM, QuantRecurrentLayer
from hwgen.quant.recurrence import EPS, fold_running, step_moments

#: (mean_h [3H], inv_std_h [3H]) normalising R·h instead of batch statistics.
FixedH = Optional[tuple[torch.Tensor, torch.Tensor]]


def gru_gates(xg: torch.Tensor, hg: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One step from the normalised products xg, hg [B, 3H] (torch order r, z, n): the next state.

    Five ATen calls besides the views (autograd replays each in the backward pass).
    """
    hid = h.shape[1]
    rz = torch.sigmoid(xg[:, :2 * hid] + hg[:, :2 * hid])
    cand = torch.tanh(torch.addcmul(xg[:, 2 * hid:], rz[:, :hid], hg[:, 2 * hid:]))
    return torch.lerp(cand, h, rz[:, hid:])  # (1 - z)·n + z·h


def bn_gru_recurrence(xg: torch.Tensor, r: torch.Tensor, gamma_h: torch.Tensor, beta_h: torch.Tensor,
                      fixed: FixedH = None, running: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
                      momentum: float = MOMENTUM) -> torch.Tensor:
    """Training-mode BN-GRU over all steps (zero initial state): y [T, B, H].

    Batch statistics of R·h per step (the first S steps fold into `running` [S, 3H]), or the
    `fixed` time-shared ones (then `running` takes the per-step moments all the same).
    """
    steps, batch, _ = xg.shape
    h = xg.new_zeros(batch, r.shape[1])
    ys, zs = [], []
    for t in range(steps):
        z = h @ r.t()
        if fixed is None:
            run = (running[0][t], running[1][t]) if running is not None and t < running[0].shape[0] else (None, None)
            hg = F.batch_norm(z, run[0], run[1], gamma_h, beta_h, True, momentum, EPS)
        else:
            hg = (z - fixed[0]) * (gamma_h * fixed[1]) + beta_h
            zs.append(z.detach())
        h = gru_gates(xg[t], hg, h)
        ys.append(h)
    if fixed is not None and running is not None:
        fold_running(running, step_moments(torch.stack(zs)), steps, momentum)
    return torch.stack(ys)


class QuantGRULayer(QuantRecurrentLayer):
    """The GRU (torch gate order r, z, n; linear_before_reset=1) with BN on W·x and R·h."""

    GATES = 3
    BN_STATS_OF = (("x", 3), ("h", 3))
    CELL = "gru"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [T, B, X] -> y [T, B, H] (zero initial state)."""
        steps, batch = self.check_input(x)
        w, r = self.quantized_weights()
        if not self.bn:
            zeros = x.new_zeros(1, batch, self.hidden)
            return torch._VF.gru(x, zeros, (w, r, self.bias_ih, self.bias_hh), True, 1, 0.0, self.training,
                                 False, False)[0]
        z = F.linear(x, w)  # [T, B, 3H]
        if self.training:
            xg, stats = self._train_bn_x(z)
            fixed = None if stats is None else (stats["h"][0][0], torch.rsqrt(stats["h"][1][0] + EPS))
            return bn_gru_recurrence(xg, r, self.gamma_h, self.beta_h, fixed, (self.mean_h, self.var_h), MOMENTUM)
        aff = self.row_affines()
        at = self.at
        h = z.new_zeros(batch, self.hidden)
        ys = []
        for t in range(steps):
            h = gru_gates(z[t] * at(aff.x_scale, t) + at(aff.x_shift, t),
                          (h @ r.t()) * at(aff.h_scale, t) + at(aff.h_shift, t), h)
            ys.append(h)
        return torch.stack(ys)
