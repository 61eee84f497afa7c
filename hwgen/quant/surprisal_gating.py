"""Surprisal-gated small/big char-LMs: train the pair, lower it, choose the gate's threshold.

The seed idea: an autoregressive model's surprisal at the current observation decides, per step,
whether a small fast network or a big slow one processes the input. Here both are binary/ternary
LSTM char-LMs trained on the same corpus, lowered to integer models, and gated by the integer
rule of `hwgen.model.surprisal_gate` (the rule the accelerator implements). The threshold is
chosen on the validation text: the smallest fraction of big-network steps whose BPC stays within
`tolerance` of running the big network on every step. Everything is measured through the integer
models, so the numbers are the hardware's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import onnx

from hwgen.errors import HwgenError
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


def train_pair(small: TrainConfig, big: TrainConfig, run: Union[str, os.PathLike]) -> tuple[TrainResult, TrainResult]:
    """Train the small and the big char-LM on the same corpus (loaded once) into RUN/small and RUN/big."""
    for role, config in (("small", small), ("big", big)):
        if config.task != "charlm":
            raise HwgenError(f"surprisal gating pairs char-LMs: the {role} config has task {config.task!r}")
    if small.corpus != big.corpus or small.corpus_bytes != big.corpus_bytes or small.seq_len != big.seq_len:
        raise HwgenError("surprisal gating: small and big must train on the same corpus, corpus_bytes and seq_len")
    data = load_task_data(small)
    run = Path(run)
    return train(small, run / "small", data), train(big, run / "big", data)


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


#: ONNX metadata keys of an exported pair (each file carries all of them; `role` says which it is).
GATE_KEYS = ("hwgen.gate.role", "hwgen.gate.rule", "hwgen.gate.threshold_codes", "hwgen.gate.threshold_logit")
GATE_RULE = "margin-v1: the big model runs step t iff t == 0 or max(s_{t-1}) - s_{t-1}[x_t] > threshold"


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


def read_gate(path: Union[str, os.PathLike]) -> dict[str, str]:
    """The gate metadata of one exported model of a pair; a clear error when it has none."""
    props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    missing = [k for k in GATE_KEYS if k not in props]
    if missing:
        raise HwgenError(f"{path}: not one of a surprisal-gated pair (metadata lacks {', '.join(missing)})")
    return {k: props[k] for k in GATE_KEYS}
