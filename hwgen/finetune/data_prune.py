"""Winning-ticket dataset pruning: keep the training texts a run finds hard, drop the ones it always gets right.

`SuccessStats` watches a training run (the `observe` hook): each time a text is in a batch,
whether the model's prediction was right (before that step's update took effect on it, as
Toneva et al.'s forgetting statistics), and how often it went from right to wrong (a
forgetting event). A text's success rate is its share of right predictions.

`candidate_subsets` orders the texts from easiest (highest success rate, fewest forgetting
events) to hardest and cuts the easy end at the success-rate levels the run produced, so
the candidates are chosen by the statistics, not by fixed fractions: at most `max_subsets`
of them, spread over sizes from the full set down to `min_fraction` of it, each keeping at
least the hardest text of every class. Sizes strictly decrease. `winning_ticket` is the
smallest candidate whose validation accuracy is within `tolerance` points of the full set's
(the full set if none is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from hwgen.finetune.errors import MethodError


class SuccessStats:
    """Per-example counts of visits, right predictions and forgetting events over a training run."""

    def __init__(self, n: int) -> None:
        self.seen = np.zeros(n, np.int64)
        self.right = np.zeros(n, np.int64)
        self.forgot = np.zeros(n, np.int64)
        self._last = np.zeros(n, bool)

    def observe(self, step: int, idx: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        i = idx.numpy()
        ok = (logits.argmax(-1) == labels).numpy()
        self.forgot[i] += (self._last[i] & ~ok) & (self.seen[i] > 0)
        self.seen[i] += 1
        self.right[i] += ok
        self._last[i] = ok

    def success_rate(self) -> np.ndarray:
        """Share of visits predicted right (0 for a text never visited: it counts as hard)."""
        return np.where(self.seen > 0, self.right / np.maximum(self.seen, 1), 0.0)

    def to_dict(self) -> dict[str, object]:
        rate = self.success_rate()
        return {"texts": int(len(rate)), "visited": int((self.seen > 0).sum()), "mean_success_rate": float(rate.mean()),
                "always_right": int(((rate == 1) & (self.forgot == 0)).sum()), "forgetting_events": int(self.forgot.sum())}


def easiest_first(stats: SuccessStats) -> np.ndarray:
    rate = stats.success_rate()
    return np.lexsort((-np.arange(len(rate)), stats.forgot, -rate))  # by rate desc, then forgetting asc


def candidate_subsets(stats: SuccessStats, labels: np.ndarray, max_subsets: int = 3,
                      min_fraction: float = 0.2) -> list[np.ndarray]:
    """Training-index subsets (sorted), sizes strictly decreasing from the full set (see the module docstring)."""
    if max_subsets < 1 or not 0 < min_fraction <= 1:
        raise MethodError(f"need max_subsets >= 1 and 0 < min_fraction <= 1, got {max_subsets}, {min_fraction}")
    n = len(labels)
    order = easiest_first(stats)
    rate = stats.success_rate()[order]
    cuts = [k for k in range(1, n) if rate[k] != rate[k - 1]]  # drop order[:k]: a whole success-rate level
    cuts = [k for k in cuts if n - k >= min_fraction * n]
    if len(cuts) > max_subsets - 1:  # spread over sizes
        picks = np.linspace(0, len(cuts) - 1, max_subsets - 1).round().astype(int)
        cuts = sorted({cuts[p] for p in picks})
    subsets, last = [np.arange(n)], n
    for k in cuts:
        keep = _with_every_class(order[k:], order, labels)
        if len(keep) < last:
            subsets.append(keep)
            last = len(keep)
    return subsets


def _with_every_class(keep: np.ndarray, order: np.ndarray, labels: np.ndarray) -> np.ndarray:
    have = set(labels[keep].tolist())
    extra = [next(i for i in order[::-1] if labels[i] == c) for c in np.unique(labels) if c not in have]
    return np.sort(np.concatenate([keep, np.asarray(extra, np.int64)]))


@dataclass(frozen=True)
class Ticket:
    sizes: tuple[int, ...]
    valid_accuracy: tuple[float, ...]
    chosen: int  # index into sizes

    @property
    def size(self) -> int:
        return self.sizes[self.chosen]


def winning_ticket(sizes: Sequence[int], valid_accuracy: Sequence[float], tolerance: float = 0.3) -> Ticket:
    """The smallest subset within `tolerance` points of the first (the full set)."""
    if not sizes or len(sizes) != len(valid_accuracy):
        raise MethodError("winning_ticket needs one validation accuracy per subset, the full set first")
    ok = [k for k, acc in enumerate(valid_accuracy) if acc >= valid_accuracy[0] - tolerance]
    chosen = min(ok, key=lambda k: sizes[k])
    return Ticket(tuple(int(s) for s in sizes), tuple(float(a) for a in valid_accuracy), chosen)
