"""One LSTM layer with binary/ternary weights and the paper's in-cell batch norm.

`QuantRecurrentLayer` holds what the LSTM shares with the GRU (`hwgen.quant.gru_layer`):
the quantized weights, their clipping and freezing, BN(Wx·x) and the running statistics.

Weights are float shadow matrices quantized on every forward pass (straight-through).
Gate order inside torch is nn.LSTM's (i, f, g, o); the ONNX export reorders rows.

Without batch norm the layer calls torch's fused LSTM kernel with the quantized
weights, so float mode *is* `nn.LSTM` (same parameters, same kernel) and the
quantized modes cost one quantization per step. With batch norm (Ardakani et al.):

    gates = BN(Wx·x; γx) + BN(Wh·h; γh, βh)       βh is the gate bias (forget gate starts at 1)
    h     = σ(o) ⊙ tanh(BN(c; γc, βc))             all γ start at 0.1

BN(Wx·x) is one matmul plus one batch-norm call over all steps; the recurrence is
:mod:`hwgen.quant.recurrence`, and both weight matrices are quantized in one
straight-through node (a training step at T=8 is dominated by per-call costs; see
benchmarks/quant_step_time.py). Training uses per-step batch statistics of h and c;
the layer keeps per-step running statistics (`steps` of them). In eval mode it uses
either those per-step statistics or their pooled, time-shared version — the latter is
what the ONNX export and the hardware use (one affine per row for all steps).
Training with per-step statistics and evaluating with shared ones costs accuracy, so
training ends with a few "fold" epochs (`fold_bn = True`) that normalise with the
time-shared running statistics: the inference cell itself, trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from hwgen.quant.errors import QuantConfigError
from hwgen.quant.recurrence import EPS, Mask, batch_norm_train, bn_lstm_recurrence, check_mask, fold_running, step_moments
from hwgen.quant.choices import QUANTIZERS
from hwgen.quant.ste import check_kind, glorot_w0, quantize_all, weight_codes

BN_STATS = ("shared", "per_step")
#: Training-time statistics of BN(Wx·x): over batch and time ("shared", what inference uses) or per step.
from hwgen.quant.choices import BN_X_MODES  # noqa: E402
MOMENTUM = 0.1
GAMMA_INIT = 0.1


@dataclass(frozen=True)
class RowAffines:
    """Eval-mode BN as per-row affines: scale/shift [steps, F] for x-gates, h-gates and (LSTM only) the cell."""

    x_scale: torch.Tensor
    x_shift: torch.Tensor
    h_scale: torch.Tensor
    h_shift: torch.Tensor
    c_scale: Optional[torch.Tensor] = None
    c_shift: Optional[torch.Tensor] = None


def _affine(mean: torch.Tensor, var: torch.Tensor, gamma: torch.Tensor, beta: Optional[torch.Tensor]):
    scale = gamma * torch.rsqrt(var + EPS)
    shift = -mean * scale if beta is None else beta - mean * scale
    return scale, shift


def pooled(mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Statistics of all steps together from per-step ones (equal counts per step)."""
    m = mean.mean(0, keepdim=True)
    v = (var + mean * mean).mean(0, keepdim=True) - m * m
    return m, v.clamp_min(0)


class QuantRecurrentLayer(nn.Module):
    """What every quantized recurrent cell shares: `GATES`·H-row weight matrices W [G·H, X] and R [G·H, H]
    quantized straight-through, their clipping and freezing, and the in-cell BN's parameters and per-step
    running statistics (`BN_STATS_OF`: x and h products, plus the cell's own), folded to row affines.

    Subclasses set GATES and BN_STATS_OF, give `_beta_init` (the gate bias) and the forward pass.
    """

    GATES = 4
    #: Running statistics kept per step, as (name, size in units of H).
    BN_STATS_OF: tuple[tuple[str, int], ...] = (("x", 4), ("h", 4), ("c", 1))
    CELL = "lstm"

    def __init__(self, input_size: int, hidden: int, weights: str = "float", bn: bool = False,
                 quantizer: str = "deterministic", steps: int = 1, bn_x: str = "shared") -> None:
        super().__init__()
        check_kind(weights)
        if quantizer not in QUANTIZERS:
            raise QuantConfigError(f"unknown quantizer {quantizer!r}; choose one of {', '.join(QUANTIZERS)}")
        if input_size < 1 or hidden < 1 or steps < 1:
            raise QuantConfigError(f"{self.CELL.upper()} sizes must be >= 1, got input {input_size}, "
                                   f"hidden {hidden}, steps {steps}")
        self.input_size, self.hidden, self.weights, self.bn = input_size, hidden, weights, bn
        if bn_x not in BN_X_MODES:
            raise QuantConfigError(f"unknown BN(Wx·x) statistics {bn_x!r}; choose one of {', '.join(BN_X_MODES)}")
        self.quantizer, self.steps, self.bn_x = quantizer, steps, bn_x
        self.bn_stats = "shared"
        #: Train with the time-shared running statistics instead of batch statistics (export fine-tuning).
        self.fold_bn = False
        rows = self.GATES * hidden
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden))
        self.w0_ih = glorot_w0(input_size, rows)
        self.w0_hh = glorot_w0(hidden, rows)
        if bn:
            self.gamma_x = nn.Parameter(torch.full((rows,), GAMMA_INIT))
            self.gamma_h = nn.Parameter(torch.full((rows,), GAMMA_INIT))
            self.beta_h = nn.Parameter(self._beta_init())
            self._cell_bn_parameters()
            for name, units in self.BN_STATS_OF:
                self.register_buffer(f"mean_{name}", torch.zeros(steps, units * hidden))
                self.register_buffer(f"var_{name}", torch.ones(steps, units * hidden))
        else:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        self.reset_parameters()

    def _beta_init(self) -> torch.Tensor:
        return torch.zeros(self.GATES * self.hidden)

    def _cell_bn_parameters(self) -> None:
        """BN parameters beyond the x and h products' (the LSTM's BN on c)."""

    def reset_parameters(self) -> None:
        if self.weights == "float":
            bound = 1.0 / math.sqrt(self.hidden)  # nn.LSTM's / nn.GRU's initialisation
            nn.init.uniform_(self.weight_ih, -bound, bound)
            nn.init.uniform_(self.weight_hh, -bound, bound)
        else:
            nn.init.uniform_(self.weight_ih, -self.w0_ih, self.w0_ih)
            nn.init.uniform_(self.weight_hh, -self.w0_hh, self.w0_hh)
        if not self.bn:
            bound = 1.0 / math.sqrt(self.hidden)
            nn.init.uniform_(self.bias_ih, -bound, bound)
            nn.init.uniform_(self.bias_hh, -bound, bound)

    # ---- weights ---------------------------------------------------------------------------
    def quantized_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        stochastic = self.training and self.quantizer == "stochastic"
        w, r = quantize_all((self.weight_ih, self.weight_hh), self.weights, (self.w0_ih, self.w0_hh), stochastic)
        return w, r

    @torch.no_grad()
    def clip_shadow_weights(self) -> None:
        """Keep shadow weights in [-W0, W0] (BinaryConnect): beyond it a weight could never flip back."""
        if self.weights != "float":
            self.weight_ih.clamp_(-self.w0_ih, self.w0_ih)
            self.weight_hh.clamp_(-self.w0_hh, self.w0_hh)

    @torch.no_grad()
    def freeze(self, stochastic: bool = False, generator: Optional[torch.Generator] = None) -> None:
        """Replace the shadow weights by one quantized sample; quantizing them again gives the same codes."""
        if self.weights == "float":
            return
        for w, w0 in ((self.weight_ih, self.w0_ih), (self.weight_hh, self.w0_hh)):
            w.copy_(weight_codes(w, self.weights, w0, stochastic, generator).to(w.dtype) * w0)

    # ---- batch norm --------------------------------------------------------------------------
    def row_affines(self, mode: Optional[str] = None) -> RowAffines:
        """Eval-mode BN as affines from running statistics, per step or pooled over steps."""
        mode = mode or self.bn_stats
        if mode not in BN_STATS:
            raise QuantConfigError(f"unknown BN statistics mode {mode!r}; choose one of {', '.join(BN_STATS)}")
        stats = {}
        for name, _ in self.BN_STATS_OF:
            m, v = getattr(self, f"mean_{name}"), getattr(self, f"var_{name}")
            stats[name] = pooled(m, v) if mode == "shared" else (m, v)
        xs, xb = _affine(*stats["x"], self.gamma_x, None)
        hs, hb = _affine(*stats["h"], self.gamma_h, self.beta_h)
        if "c" not in stats:
            return RowAffines(xs, xb, hs, hb)
        cs, cb = _affine(*stats["c"], self.gamma_c, self.beta_c)
        return RowAffines(xs, xb, hs, hb, cs, cb)

    def pooled_stats(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The time-shared running statistics (mean, var) [1, F] of each normalised product."""
        return {n: pooled(getattr(self, f"mean_{n}"), getattr(self, f"var_{n}")) for n, _ in self.BN_STATS_OF}

    def _bn_x(self, z: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Training BN(Wx·x) of z [T, B, 4H] with batch statistics: (xg, (mean, unbiased var) [T or 1, 4H]).

        One batch-norm call: "shared" normalises the [T·B, 4H] rows, "per_step" the [B, T·4H] rows.
        """
        steps, batch, four = z.shape
        if self.bn_x == "shared":
            rows, weight, view = z.reshape(steps * batch, four), self.gamma_x, (1, four)
        else:
            rows, weight, view = z.transpose(0, 1).reshape(batch, steps * four), self.gamma_x.repeat(steps), (steps, four)
        mean, var = z.new_zeros(rows.shape[1]), z.new_zeros(rows.shape[1])
        xg = batch_norm_train(rows, weight, None, mean, var, 1.0)[0]
        if self.bn_x == "per_step":
            xg = xg.view(batch, steps, four).transpose(0, 1)
        return xg.view(steps, batch, four), (mean.view(view), var.view(view))

    def _train_bn_x(self, z: torch.Tensor) -> tuple[torch.Tensor, Optional[dict[str, tuple[torch.Tensor, torch.Tensor]]]]:
        """Training BN(Wx·x) of z [T, B, G·H], its statistics folded into the running ones: (xg, None) with
        batch statistics, or (xg, the pooled running statistics) with `fold_bn` (which normalises with them)."""
        steps, batch, _ = z.shape
        if batch < 2:
            raise QuantConfigError("batch norm needs at least 2 sequences per batch in training")
        stats = None
        if self.fold_bn:  # normalise with the time-shared running statistics, as inference will
            stats = self.pooled_stats()
            mx, vx = stats["x"]
            xg = self.gamma_x * (z - mx) * torch.rsqrt(vx + EPS)
            with torch.no_grad():
                x_stats = step_moments(z.reshape(1, steps * batch, -1) if self.bn_x == "shared" else z)
        else:
            xg, x_stats = self._bn_x(z)
        fold_running((self.mean_x, self.var_x), x_stats, steps, MOMENTUM)
        return xg, stats

    def check_input(self, x: torch.Tensor) -> tuple[int, int]:
        """(steps, batch) of x [T, B, X], refusing another feature count."""
        steps, batch, size = x.shape
        if size != self.input_size:
            raise QuantConfigError(f"layer expects {self.input_size} input features, got {size}")
        return steps, batch

    @staticmethod
    def at(p: torch.Tensor, t: int) -> torch.Tensor:
        """Step t's row of per-step [S, F] affines (the last for t >= S), or the shared [1, F] one."""
        return p[min(t, p.shape[0] - 1)]


class QuantLSTMLayer(QuantRecurrentLayer):
    """The LSTM (torch gate order i, f, g, o) with the paper's BN on W·x, R·h and c."""

    def _beta_init(self) -> torch.Tensor:
        beta = torch.zeros(4 * self.hidden)
        beta[self.hidden:2 * self.hidden] = 1.0  # forget gate
        return beta

    def _cell_bn_parameters(self) -> None:
        self.gamma_c = nn.Parameter(torch.full((self.hidden,), GAMMA_INIT))
        self.beta_c = nn.Parameter(torch.zeros(self.hidden))

    # ---- forward -----------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        """x [T, B, X] -> y [T, B, H] (zero initial state).

        `mask` [T, B] bool (True: the step runs): over a masked-off step a sample's h and c hold (the
        surprisal gate's skipped big model); its output there is the held h. Training and eval alike."""
        steps, batch = self.check_input(x)
        mask = check_mask(mask, (steps, batch))
        w, r = self.quantized_weights()
        if not self.bn:
            if mask is not None:
                return self._masked_cell_loop(x, w, r, mask)
            zeros = x.new_zeros(1, batch, self.hidden)
            return torch._VF.lstm(x, (zeros, zeros), (w, r, self.bias_ih, self.bias_hh),
                                  True, 1, 0.0, self.training, False, False)[0]
        z = torch.nn.functional.linear(x, w)  # [T, B, 4H]
        if self.training:
            xg, stats = self._train_bn_x(z)
            fixed = None
            if stats is not None:
                (mh, vh), (mc, vc) = stats["h"], stats["c"]
                fixed = (mh[0], torch.rsqrt(vh[0] + EPS), mc[0], torch.rsqrt(vc[0] + EPS))
            return bn_lstm_recurrence(xg, r, self.gamma_h, self.beta_h, self.gamma_c, self.beta_c, fixed,
                                      (self.mean_h, self.var_h, self.mean_c, self.var_c), MOMENTUM, mask)
        return self._eval_forward(z, r, mask)

    def _masked_cell_loop(self, x: torch.Tensor, w: torch.Tensor, r: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The plain (no batch norm) LSTM with held steps: torch's cell, one step at a time."""
        h = x.new_zeros(x.shape[1], self.hidden)
        c = h
        ys = []
        for t in range(x.shape[0]):
            h1, c1 = torch.lstm_cell(x[t], (h, c), w, r, self.bias_ih, self.bias_hh)
            keep = mask[t, :, None]
            h, c = torch.where(keep, h1, h), torch.where(keep, c1, c)
            ys.append(h)
        return torch.stack(ys)

    def _eval_forward(self, z: torch.Tensor, r: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        aff = self.row_affines()
        steps, batch, _ = z.shape
        at = self.at
        hid = self.hidden
        h = z.new_zeros(batch, hid)
        c = z.new_zeros(batch, hid)
        ys = []
        for t in range(steps):
            a = z[t] * at(aff.x_scale, t) + at(aff.x_shift, t) + (h @ r.t()) * at(aff.h_scale, t) + at(aff.h_shift, t)
            i, f, g, o = a.chunk(4, 1)
            c1 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h1 = torch.sigmoid(o) * torch.tanh(c1 * at(aff.c_scale, t) + at(aff.c_shift, t))
            if mask is None:
                h, c = h1, c1
            else:
                keep = mask[t, :, None]
                h, c = torch.where(keep, h1, h), torch.where(keep, c1, c)
            ys.append(h)
        return torch.stack(ys)
