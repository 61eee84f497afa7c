"""Surprisal-gated small/big char-LMs: the bit-exact integer spec of the gate.

Two every-step integer char-LMs over the same vocabulary and one-hot input codes: a small fast one
and a big slow one. Per time step t (input x_t, a character):

* the small model always runs and gives integer logits s_t;
* the gate measures how surprising x_t was to the small model, from its previous logits:
      m_t = max(s_{t-1}) − s_{t-1}[x_t]        (integer logit codes, ≥ 0)
  m_t·scale is a lower bound of the small model's surprisal −ln p(x_t), at most ln V below it
  (logsumexp ≤ max + ln V); a maximum and a subtraction is what hardware can afford per step, where
  the exact surprisal needs an exponential and a logarithm over the whole vocabulary;
* the big model runs step t iff t = 0 or m_t > threshold. When it is skipped, its state (h, c of every
  layer) holds: the skipped character never enters the big model, which resumes from where it
  stopped (the seed design's "skip", so the big network's work is saved outright);
* the prediction for x_{t+1} is the big model's logits if it ran at t, else the small model's.

`run` returns both models' integer logits and the gate's decisions, so the accelerator can be checked
against it step by step; `real_outputs` gives the float prediction each step used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwgen.errors import HwgenError
from hwgen.model.integer_model import IntegerModel


@dataclass(frozen=True)
class GatedRun:
    """One gated run over N sequences of T steps (V: vocabulary)."""

    small: np.ndarray  # [N, T, V] int64: the small model's logits (every step)
    big: np.ndarray  # [N, T, V] int64: the big model's logits where it ran, its held logits elsewhere
    big_ran: np.ndarray  # [N, T] bool: the gate's decisions
    margins: np.ndarray  # [N, T] int64: m_t (0 at t = 0)
    small_scale: float
    big_scale: float

    @property
    def big_fraction(self) -> float:
        return float(self.big_ran.mean()) if self.big_ran.size else 0.0

    def real_outputs(self) -> np.ndarray:
        """[N, T, V] float logits of the prediction used at each step: big's where it ran, else small's."""
        return np.where(self.big_ran[..., None], self.big * self.big_scale, self.small * self.small_scale)


@dataclass(frozen=True, eq=False)
class SurprisalGatedPair:
    """A small and a big integer char-LM and the integer threshold of the gate between them."""

    small: IntegerModel
    big: IntegerModel
    threshold: int

    def __post_init__(self) -> None:
        for role, m in (("small", self.small), ("big", self.big)):
            if m.head is None or m.output_steps != "every_step":
                raise HwgenError(f"surprisal gate: the {role} model must be a char-LM (a dense head on every step), "
                                 f"got output {m.output!r} on {m.output_steps!r} steps")
        if self.small.input_size != self.big.input_size or self.small.output_size != self.big.output_size:
            raise HwgenError(f"surprisal gate: the models' vocabularies differ (small: {self.small.input_size} in, "
                             f"{self.small.output_size} out; big: {self.big.input_size} in, {self.big.output_size} out)")
        if self.small.input_format != self.big.input_format:
            raise HwgenError(f"surprisal gate: both models read the same one-hot codes; input formats differ "
                             f"(small {self.small.input_format}, big {self.big.input_format})")
        if self.small.input_size != self.small.output_size:
            raise HwgenError(f"surprisal gate: a char-LM reads what it predicts; inputs {self.small.input_size} "
                             f"!= outputs {self.small.output_size}")
        if self.threshold < 0:
            raise HwgenError(f"surprisal gate: threshold must be >= 0 (margins are), got {self.threshold}")

    def with_threshold(self, threshold: int) -> "SurprisalGatedPair":
        return SurprisalGatedPair(self.small, self.big, threshold)

    def run(self, ids: np.ndarray, always_big: bool = False) -> GatedRun:
        """Character ids [N, T] (or [T]) → the gated run; `always_big` runs the big model on every step
        (the baseline the gate is measured against)."""
        ids = self._check_ids(ids)
        n, steps = ids.shape
        vocab = self.small.input_size
        onehot = self.small.quantize_input(np.eye(vocab)[ids])  # [N, T, V] codes; both models share the format
        s_state, b_state = self.small.initial_state(n), self.big.initial_state(n)
        small = np.zeros((n, steps, vocab), np.int64)
        big = np.zeros((n, steps, vocab), np.int64)
        ran = np.zeros((n, steps), bool)
        margins = np.zeros((n, steps), np.int64)
        held = self.big.head_output(b_state[-1][0])
        for t in range(steps):
            if t > 0:
                prev = small[:, t - 1]
                margins[:, t] = prev.max(axis=1) - prev[np.arange(n), ids[:, t]]
            go = np.ones(n, bool) if always_big or t == 0 else margins[:, t] > self.threshold
            s_state = self.small.step_state(s_state, onehot[:, t])
            small[:, t] = self.small.head_output(s_state[-1][0])
            stepped = self.big.step_state(b_state, onehot[:, t])
            b_state = tuple((np.where(go[:, None], h1, h0), np.where(go[:, None], c1, c0))
                            for (h0, c0), (h1, c1) in zip(b_state, stepped))
            held = np.where(go[:, None], self.big.head_output(b_state[-1][0]), held)
            big[:, t], ran[:, t] = held, go
        return GatedRun(small, big, ran, margins, self.small.output_scale, self.big.output_scale)

    def _check_ids(self, ids: np.ndarray) -> np.ndarray:
        a = np.asarray(ids)
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
            raise HwgenError(f"surprisal gate: character ids must be integers [N, T] or [T], got {a.dtype} {list(a.shape)}")
        if a.size and (a.min() < 0 or a.max() >= self.small.input_size):
            raise HwgenError(f"surprisal gate: character ids must lie in [0, {self.small.input_size}), "
                             f"got [{a.min()}, {a.max()}]")
        return a.astype(np.int64)
