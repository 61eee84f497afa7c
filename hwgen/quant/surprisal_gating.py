"""Surprisal-gated small/big char-LMs: train the pair, lower it, choose the gate's threshold.

The seed idea: an autoregressive model's surprisal at the current observation decides, per step,
whether a small fast network or a big slow one processes the input. Here both are binary/ternary
LSTM char-LMs trained on the same corpus, lowered to integer models, and gated by the integer
rule of `hwgen.model.surprisal_gate` (the rule the accelerator implements). The threshold is
chosen on the validation text: the smallest fraction of big-network steps whose BPC stays within
`tolerance` of running the big network on every step. Everything is measured through the integer
models, so the numbers are the hardware's.

Gate-aware training (`train_pair(..., gate_aware=True)`, the default): the big model is trained the way
the gate will run it. The small model is trained first; then every training batch of the big model gets
a step mask from the small model's float logits by the gate's own rule (margin of the previous step's
logits at the current input > a threshold; step 0 always runs), with each sequence's threshold at a
quantile of the batch's margins drawn uniformly from `skip_range` (the fraction of steps skipped). On a
skipped step the big model's h and c hold, as in the integer gate, and the step is left out of its loss
(the prediction there is the small model's, which the big model cannot change). See `MarginGate`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import onnx
import torch

from hwgen.errors import HwgenError
from hwgen.frontend.gate_metadata import GATE_KEYS, GATE_RULE, read_gate  # noqa: F401 (read_gate: re-exported)
from hwgen.frontend.importer import import_onnx
from hwgen.model.integer_model import IntegerModel
from hwgen.model.surprisal_gate import GatedRun, SurprisalGatedPair
from hwgen.passes.lower_fixed_point import LoweringOptions
from hwgen.passes.pipeline import lower_for_accelerator
from hwgen.quant.data import CharCorpus
from hwgen.quant.evaluate import bpc_of_logits
from hwgen.quant.export import to_onnx
from hwgen.quant.model import QuantLSTMModel
from hwgen.quant.train import TrainConfig, TrainResult, load_task_data, train


@dataclass(frozen=True)
class GatePoint:
    """The gate at one threshold, measured on one text."""

    threshold: int
    big_fraction: float
    bpc: float


#: Default range of the fraction of steps skipped in gate-aware training (drawn per sequence).
SKIP_RANGE = (0.0, 0.8)


def previous_margins(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The gate's margins m_t = max(s_{t-1}) − s_{t-1}[x_t] of logits [B, T, V] at inputs ids [B, T]: [B, T], 0 at t = 0."""
    prev = logits[:, :-1]
    m = prev.max(-1).values - prev.gather(-1, ids[:, 1:, None])[..., 0]
    return torch.cat([m.new_zeros(m.shape[0], 1), m], 1)


class MarginGate:
    """The step mask of gate-aware training: the integer gate's rule on the small model's float logits.

    Per batch (one-hot inputs x [B, T, V]): the small model (eval mode, no gradient) gives logits s; the
    margins m_t = max(s_{t-1}) − s_{t-1}[x_t]; each sequence draws a skip fraction q ~ U(skip_range) and
    runs step t iff t = 0 or m_t > (the q-quantile of the batch's margins). So the big model sees exactly the
    skip pattern the gate makes (confident characters skipped, the state held over them) over the whole range
    of thresholds the validation sweep may choose from. The margin is 0 wherever the small model's top
    choice was right, so any q up to that fraction gives threshold 0, which skips all those steps — as the
    integer gate does at its lowest threshold (0); lower skip rates than that the gate never produces.

    Why this and not random skips: the held state is only out of distribution for the *pattern* the gate
    produces — it skips characters the small model predicted well, which cluster (inside words, runs of
    indentation). Random skips at the same rate (`RandomSkips`, the ablation) teach the big model to bridge
    other gaps; docs/surprisal-gating.md has both measured.
    """

    def __init__(self, small: QuantLSTMModel, skip_range: tuple[float, float] = SKIP_RANGE, seed: int = 0) -> None:
        lo, hi = skip_range
        if not 0 <= lo <= hi < 1:
            raise HwgenError(f"surprisal gating: skip_range must satisfy 0 <= low <= high < 1, got {skip_range}")
        self.small, self.skip_range = small, (float(lo), float(hi))
        self.gen = torch.Generator().manual_seed(seed)

    def describe(self) -> dict[str, object]:
        return {"rule": "margin-v1 on the small model's float logits, per-sequence quantile threshold",
                "small_hidden": self.small.config.hidden, "skip_range": list(self.skip_range)}

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        was_training = self.small.training
        self.small.eval()
        try:
            logits = self.small(x)
        finally:
            self.small.train(was_training)
        margins = previous_margins(logits, x.argmax(-1))
        lo, hi = self.skip_range
        q = lo + (hi - lo) * torch.rand(x.shape[0], generator=self.gen, dtype=margins.dtype)
        thresholds = torch.quantile(margins[:, 1:].reshape(-1), q)  # [B]
        run = margins > thresholds[:, None]
        run[:, 0] = True
        return run


class RandomSkips:
    """The ablation of `MarginGate`: each sequence skips each step t >= 1 independently with a probability
    q ~ U(skip_range) drawn per sequence — the same held state and loss, but skips the gate would not make."""

    def __init__(self, skip_range: tuple[float, float] = SKIP_RANGE, seed: int = 0) -> None:
        lo, hi = skip_range
        if not 0 <= lo <= hi < 1:
            raise HwgenError(f"surprisal gating: skip_range must satisfy 0 <= low <= high < 1, got {skip_range}")
        self.skip_range = (float(lo), float(hi))
        self.gen = torch.Generator().manual_seed(seed)

    def describe(self) -> dict[str, object]:
        return {"rule": "random skips, per-sequence rate", "skip_range": list(self.skip_range)}

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        lo, hi = self.skip_range
        batch, steps = x.shape[:2]
        q = lo + (hi - lo) * torch.rand(batch, 1, generator=self.gen)
        run = torch.rand(batch, steps, generator=self.gen) >= q
        run[:, 0] = True
        return run


def train_gate_aware(big: TrainConfig, small: QuantLSTMModel, run: Union[str, os.PathLike],
                     data: Optional[CharCorpus] = None, skip_range: tuple[float, float] = SKIP_RANGE) -> TrainResult:
    """Train the big char-LM of a pair with the steps `MarginGate` skips held and left out of the loss."""
    if big.cell != "lstm":
        raise HwgenError(f"surprisal gating: gate-aware training needs the LSTM cell, the big config has {big.cell!r}")
    data = data if data is not None else load_task_data(big)
    return train(big, run, data, step_mask=MarginGate(small, skip_range, seed=big.seed + 1))


def train_pair(small: TrainConfig, big: TrainConfig, run: Union[str, os.PathLike], gate_aware: bool = True,
               skip_range: tuple[float, float] = SKIP_RANGE) -> tuple[TrainResult, TrainResult]:
    """Train the small and the big char-LM on the same corpus (loaded once) into RUN/small and RUN/big.

    `gate_aware` (default): the big model trains with the trained small model's gate (`MarginGate`);
    otherwise both train independently on every step."""
    for role, config in (("small", small), ("big", big)):
        if config.task != "charlm":
            raise HwgenError(f"surprisal gating pairs char-LMs: the {role} config has task {config.task!r}")
    if small.corpus != big.corpus or small.corpus_bytes != big.corpus_bytes or small.seq_len != big.seq_len:
        raise HwgenError("surprisal gating: small and big must train on the same corpus, corpus_bytes and seq_len")
    data = load_task_data(small)
    run = Path(run)
    small_result = train(small, run / "small", data)
    if gate_aware:
        return small_result, train_gate_aware(big, small_result.model, run / "big", data, skip_range)
    return small_result, train(big, run / "big", data)


def integer_charlm(model: QuantLSTMModel, options: LoweringOptions = LoweringOptions()) -> IntegerModel:
    """A trained char-LM through hwgen's own path (ONNX export → import → integer lowering), with one-hot
    calibration so both models of a pair get the same input format."""
    graph = import_onnx(to_onnx(model), path=f"{model.config.task}-H{model.config.hidden}")
    vocab = model.config.input_size
    return lower_for_accelerator(graph, np.eye(vocab), options)


def integer_pair(small: QuantLSTMModel, big: QuantLSTMModel, threshold: int = 0,
                 options: LoweringOptions = LoweringOptions()) -> SurprisalGatedPair:
    return SurprisalGatedPair(integer_charlm(small, options), integer_charlm(big, options), threshold)


def windows(ids: np.ndarray, seq_len: int, limit: int) -> np.ndarray:
    """Up to `limit` non-overlapping windows [N, seq_len + 1] of a split (inputs and their next characters)."""
    n = min((len(ids) - 1) // seq_len, limit)
    if n < 1:
        raise HwgenError(f"surprisal gating: the text has {len(ids)} characters, fewer than one window of {seq_len + 1}")
    return np.stack([ids[k * seq_len: k * seq_len + seq_len + 1] for k in range(n)]).astype(np.int64)


def gated_bpc(run: GatedRun, targets: np.ndarray) -> float:
    """BPC of the predictions the gate used, against the next characters [N, T]."""
    return bpc_of_logits(run.real_outputs(), targets)


def measure(pair: SurprisalGatedPair, text: np.ndarray, always_big: bool = False) -> GatePoint:
    """One threshold on windows [N, T + 1]: the fraction of big steps and the BPC."""
    run = pair.run(text[:, :-1], always_big=always_big)
    return GatePoint(-1 if always_big else pair.threshold, run.big_fraction, gated_bpc(run, text[:, 1:]))


def sweep(pair: SurprisalGatedPair, text: np.ndarray, thresholds: Sequence[int]) -> list[GatePoint]:
    return [measure(pair.with_threshold(int(th)), text) for th in thresholds]


def candidate_thresholds(pair: SurprisalGatedPair, text: np.ndarray, count: int = 12) -> list[int]:
    """Thresholds at quantiles of the small model's margins on `text` (each gives a different big fraction)."""
    margins = pair.run(text[:, :-1], always_big=True).margins[:, 1:]
    qs = np.quantile(margins, np.linspace(0.05, 0.95, count))
    return sorted({int(q) for q in qs})


def choose_threshold(points: Sequence[GatePoint], baseline_bpc: float, tolerance: float = 0.01) -> GatePoint:
    """The point with the fewest big steps whose BPC is within `tolerance` of `baseline_bpc` (always big);
    the most accurate point when none is."""
    if not points:
        raise HwgenError("surprisal gating: no thresholds to choose from")
    within = [p for p in points if p.bpc <= baseline_bpc + tolerance]
    if within:
        return min(within, key=lambda p: (p.big_fraction, p.bpc))
    return min(points, key=lambda p: p.bpc)


def split_ids(data: CharCorpus, split: str) -> np.ndarray:
    if split not in ("valid", "test"):
        raise HwgenError(f"surprisal gating: split must be 'valid' or 'test', got {split!r}")
    return np.asarray(getattr(data, split))


def export_pair(small: QuantLSTMModel, big: QuantLSTMModel, pair: SurprisalGatedPair,
                out: Union[str, os.PathLike]) -> tuple[Path, Path]:
    """OUT/small.onnx and OUT/big.onnx: each a standard hwgen char-LM export (checked in onnxruntime) whose
    metadata_props carry the gate: its role, the rule, and the threshold both in the small model's integer logit
    codes (as lowered with `pair`'s options) and in float logits (codes × the small head's scale).

    ONNX has per-step control flow only as Loop/If around a hand-unrolled cell, which neither onnxruntime's
    LSTM kernels nor hwgen's recogniser would see as LSTMs; two plain models and the gate as metadata keep
    both models importable, runnable and buildable on their own."""
    from hwgen.quant.export import export_model

    out = Path(out)
    paths = []
    for role, model in (("small", small), ("big", big)):
        path, _ = export_model(model, out / f"{role}.onnx")
        proto = onnx.load(path)
        values = (role, GATE_RULE, str(pair.threshold), repr(pair.threshold * pair.small.output_scale))
        for key, value in zip(GATE_KEYS, values):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, path)
        paths.append(path)
    return paths[0], paths[1]
