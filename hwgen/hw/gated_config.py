"""`GatedConfig`: a surprisal-gated pair of accelerators, its output stream and its exact cycle count.

The gated top (`hwgen.hw.gated.GatedTop`) holds two every-step char-LM accelerators (`AccelConfig`s with
their models) and the gating unit of `hwgen.model.surprisal_gate`: a character id comes in, the small
accelerator always runs the step, the big one only when the gate says so, and its state holds otherwise.

Stream (docs/surprisal-gating.md, "The gating unit"):
  in:  one beat per step, the character id (0 <= id < V, signed `id_bits`); `in_last` on a sequence's last one.
  out: 1 + 2V beats per step: the decision (1: the big model ran), the V logits the step's prediction uses
       (the big model's where it ran, else the small model's), then the small model's V logits;
       `out_last` on the sequence's very last beat.

Timing: the two accelerators run a step side by side (they start in the same cycle) and the step ends
when both have finished and its outputs are out, so each accelerator always starts a step idle and takes
exactly its own `expected_cycles(1)`: `E_s`, `E_b`. With inputs always valid and the output always
ready, a step that runs the big model takes `2 + max(E_s, E_b) + V` cycles and a skipped one
`2 + E_s + 2V` (2: take the character, read the small model's stored logit of it and decide; then the
decision beat, which overlaps the accelerators' first input beat). `expected_cycles(decisions)` is their sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hwgen.errors import HwgenError
from hwgen.hw.config import AccelConfig, ConfigError
from hwgen.hw.pipeline import clog2
from hwgen.model.surprisal_gate import GatedRun, SurprisalGatedPair


@dataclass(frozen=True, eq=False)
class GatedConfig:
    """Two accelerator configs (each with its model) and the gate's integer threshold."""

    small: AccelConfig
    big: AccelConfig
    threshold: int
    top: str = "hwgen_gated"

    def __post_init__(self) -> None:
        for role, cfg in (("small", self.small), ("big", self.big)):
            if cfg.model is None:
                raise ConfigError(f"gated pair: the {role} config has no model (use AccelConfig.for_model)")
            if cfg.weight_memory == "spram":
                raise ConfigError(f"gated pair: the {role} accelerator keeps its weights in SPRAM, which the gated top "
                                  "has no upload ports for; use weight_memory 'ebr' or 'registers'")
        self.pair()  # the pair's own checks: both char-LMs, one vocabulary, one input format, threshold >= 0
        if self.vocab < 2:
            raise ConfigError(f"gated pair: a vocabulary of {self.vocab} symbols has nothing to predict")
        codes = self._onehot_codes()
        if not np.array_equal(codes, np.where(np.eye(self.vocab, dtype=bool), self.one_code, self.zero_code)):
            raise ConfigError("gated pair: the one-hot input codes are not one value on the diagonal and one off it")

    # ---- the pair and its stream -------------------------------------------------------------------
    def pair(self) -> SurprisalGatedPair:
        assert self.small.model is not None and self.big.model is not None
        return SurprisalGatedPair(self.small.model, self.big.model, self.threshold)

    @property
    def vocab(self) -> int:
        return self.small.input

    def _onehot_codes(self) -> np.ndarray:
        assert self.small.model is not None
        return self.small.model.quantize_input(np.eye(self.vocab))

    @property
    def one_code(self) -> int:
        """The input code of the hot element (the same for both models: one input format)."""
        return int(self._onehot_codes()[0, 0])

    @property
    def zero_code(self) -> int:
        return int(self._onehot_codes()[0, 1])

    @property
    def id_bits(self) -> int:
        """Width of `in_data`: signed, so every id in [0, V) fits with the sign bit clear."""
        return clog2(self.vocab) + 1

    @property
    def out_bits(self) -> int:
        return max(self.small.out_bits, self.big.out_bits, 2)

    @property
    def outputs_per_step(self) -> int:
        return 1 + 2 * self.vocab

    def stream(self, run: GatedRun) -> np.ndarray:
        """[N, T, 1 + 2V] output beats of a gated run, in stream order."""
        used = np.where(run.big_ran[..., None], run.big, run.small)
        return np.concatenate([run.big_ran[..., None].astype(np.int64), used, run.small], axis=-1)

    def reference(self, ids: np.ndarray) -> tuple[np.ndarray, GatedRun]:
        """Character ids [N, T] (or [T]) → (output beats [N, T, 1 + 2V], the gated run they come from)."""
        run = self.pair().run(ids)
        return self.stream(run), run

    # ---- timing -------------------------------------------------------------------------------------
    def step_cycles(self, big_runs: bool) -> int:
        """Cycles of one step, inputs always valid and the output always ready (see the module docstring)."""
        e_s, e_b = self.small.expected_cycles(1), self.big.expected_cycles(1)
        return 2 + (max(e_s, e_b) + self.vocab if big_runs else e_s + 2 * self.vocab)

    def expected_cycles(self, decisions: Sequence[bool] | np.ndarray) -> int:
        """Cycles of one sequence, first input beat to last output beat inclusive, given the gate's decisions."""
        d = np.asarray(decisions, bool).reshape(-1)
        if not d.size:
            raise HwgenError("gated pair: a sequence has at least one step")
        ran = int(d.sum())
        return ran * self.step_cycles(True) + (d.size - ran) * self.step_cycles(False)

    def worst_cycles(self, steps: int) -> int:
        """An upper bound of `expected_cycles` for any decisions of `steps` steps."""
        return steps * max(self.step_cycles(True), self.step_cycles(False))

    def create(self) -> object:
        from hwgen.hw.gated import GatedTop

        return GatedTop(self)
