"""Knowledge-distillation losses for a classifier student (logits [B, C]) and the CES-KD teacher choice.

All three share the shape  L = (1 - α)·CE(y, s) + α·T²·D(s, t)  with temperature-softened
distributions p_t = softmax(t / T), p_s = softmax(s / T), averaged over the batch:

    kd     D = KL(p_t ‖ p_s)                                   (Hinton et al. 2015; forward KL)
    bdkd   D = 2·[w_f·KL(p_t ‖ p_s) + w_r·KL(p_s ‖ p_t)],  per sample
               w_r = H(p_s) / (H(p_s) + H(p_t)),  w_f = 1 - w_r     (weights detached)
    ceskd  D = KL(p_t(i) ‖ p_s)  with one teacher t(i) per sample (`ces_assign`)

BD-KD (Amara et al. 2022) balances forward and reverse KL per sample by the
teacher–student entropy gap, online (from the current batch's outputs): a student that is
less sure than the teacher (H_s > H_t) gets more reverse KL, which is mode-seeking and
sharpens it; an over-confident student (H_s < H_t) gets more forward KL, which is
mode-covering and spreads its mass — the calibration-oriented direction. At equal
entropies it is the plain average of the two (the factor 2 keeps the scale of `kd`).
The teacher is frozen here (a trained RUN), so only the student's side of the paper's
online loss applies.

CES-KD (Amara et al. 2022): teachers / teacher assistants ordered by size; each sample is
distilled from one of them, chosen by its difficulty: easy samples from the smallest,
hard ones from the largest. Difficulty is the largest teacher's cross-entropy on the
sample's label; the batch is ranked by it and cut into as many equal strata as there are
teachers (stratum k → k-th smallest teacher).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _log_probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.log_softmax(logits / temperature, dim=-1)


def kl_rows(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) per row from log-probabilities."""
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def entropy_rows(log_p: torch.Tensor) -> torch.Tensor:
    return -(log_p.exp() * log_p).sum(-1)


def kd_divergence(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-sample forward KL(p_t ‖ p_s) at `temperature`."""
    return kl_rows(_log_probs(teacher, temperature), _log_probs(student, temperature))


def bdkd_weights(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(w_f, w_r) per sample from the entropies of the softened distributions (no gradient).

    >>> s = torch.tensor([[0.0, 0.0], [4.0, -4.0]]); t = torch.tensor([[3.0, -3.0], [0.0, 0.0]])
    >>> w_f, w_r = bdkd_weights(s, t, 1.0)
    >>> bool(w_r[0] > 0.5), bool(w_f[1] > 0.5)  # unsure student: reverse; over-confident: forward
    (True, True)
    """
    with torch.no_grad():
        hs = entropy_rows(_log_probs(student, temperature))
        ht = entropy_rows(_log_probs(teacher, temperature))
        w_r = hs / (hs + ht).clamp_min(1e-12)
        return 1 - w_r, w_r


def bdkd_divergence(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    ls, lt = _log_probs(student, temperature), _log_probs(teacher, temperature)
    w_f, w_r = bdkd_weights(student, teacher, temperature)
    return 2 * (w_f * kl_rows(lt, ls) + w_r * kl_rows(ls, lt))


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, method: str,
                 alpha: float, temperature: float) -> torch.Tensor:
    """(1 - α)·CE + α·T²·D with D of `method` ("kd", "ceskd": forward KL; "bdkd": balanced)."""
    ce = F.cross_entropy(student, labels)
    div = bdkd_divergence if method == "bdkd" else kd_divergence
    return (1 - alpha) * ce + alpha * temperature ** 2 * div(student, teacher, temperature).mean()


def ces_assign(difficulty: torch.Tensor, teachers: int) -> torch.Tensor:
    """Teacher index per sample: rank by difficulty, equal strata, easiest → 0 (smallest teacher).

    >>> ces_assign(torch.tensor([0.9, 0.1, 0.5, 2.0, 0.05, 0.3]), 3).tolist()
    [2, 0, 1, 2, 0, 1]
    """
    n = difficulty.numel()
    rank = torch.empty(n, dtype=torch.long, device=difficulty.device)
    rank[torch.argsort(difficulty, stable=True)] = torch.arange(n, device=difficulty.device)
    return (rank * teachers) // max(n, 1)
