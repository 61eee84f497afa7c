"""Optimizer-step time of several fine-tuning methods, measured interleaved in one process.

One training run per method measures each method under whatever load the (shared) machine
had at the time, so a wall-time ratio between two runs mixes the method's cost with the
load's drift. Here every method takes one optimizer step in turn on the same batch, round
after round (the order rotated each round, so no method always runs first), and the median
per method is compared: the load changes between rounds, not between the steps compared.
The step is the training loop's own (`batch_loss`, `optimizer_step`), on models prepared as
the method trains them (`run.prepared_for_timing`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from hwgen.finetune.errors import MethodError
from hwgen.quant.transformer_teachers import encode
from hwgen.quant.transformer_train import (
    Prepared,
    TransformerTrainConfig,
    batch_loss,
    make_optimizer,
    optimizer_step,
)

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # ids, mask, labels, indices


@dataclass(frozen=True)
class Timed:
    """A prepared model (method applied) and the training config its optimizer and loss follow."""

    prep: Prepared
    config: TransformerTrainConfig


@dataclass(frozen=True)
class StepTimes:
    seconds: dict[str, list[float]]  # per method, each timed step in round order

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def ratio(self, name: str, base: str) -> float:
        """Median of the per-round ratios name/base (each round's pair ran back to back)."""
        return statistics.median(a / b for a, b in zip(self.seconds[name], self.seconds[base]))

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {k: {"median_step_seconds": self.median(k), "step_seconds": v} for k, v in self.seconds.items()}


def fixed_batches(timed: Timed, count: int) -> list[Batch]:
    """`count` training batches of `timed`'s batch size, the first texts in order (the same for every method)."""
    train, size = timed.prep.splits.train, timed.config.batch_size
    n = min(len(train), count * size)
    if n < size:
        raise MethodError(f"step timing needs at least one batch of {size} training texts, got {len(train)}")
    ids, mask = encode(timed.prep.tokenizer, train.texts[:n], timed.config.max_len)
    labels = torch.from_numpy(train.labels[:n])
    return [(ids[k:k + size], mask[k:k + size], labels[k:k + size], torch.arange(k, k + size))
            for k in range(0, n - size + 1, size)]


def interleaved_step_times(methods: Mapping[str, Timed], batches: list[Batch], rounds: int,
                           warmup: int = 1) -> StepTimes:
    """Per method, the time of `rounds` optimizer steps taken in turn (round r uses batch r mod len)."""
    if rounds < 1 or not batches or not methods:
        raise MethodError(f"step timing needs >= 1 round, batch and method (got {rounds}, {len(batches)}, {len(methods)})")
    opts = {name: make_optimizer(t.prep.model, t.config) for name, t in methods.items()}
    for t in methods.values():
        t.prep.model.train()

    def step(name: str, batch: Batch) -> float:
        t, (ids, mask, labels, idx) = methods[name], batch
        start = time.perf_counter()
        loss, _ = batch_loss(t.prep, t.config, ids, mask, labels, idx)
        optimizer_step(t.prep.model, opts[name], loss)
        return time.perf_counter() - start

    names = list(methods)
    for name in names:
        for k in range(warmup):
            step(name, batches[k % len(batches)])
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            seconds[name].append(step(name, batches[r % len(batches)]))
    return StepTimes(seconds)
