"""What each fine-tuning method costs, measured from inside one training run (`StepObserver`).

- Step time: the time between two `observe` calls minus the observer's own work; the run's
  wall time is reported as median step time × steps (`wall_seconds`), so evaluations,
  checkpoint saves and the profiled window do not count, and the raw loop time beside it.
- Peak training memory: Linux's peak resident set size (VmHWM) is reset (`/proc/self/clear_refs`
  "5") when training starts and read when it ends; the peak minus the resident size at the
  start is what training added: parameters' gradients, optimizer state, activations kept for
  backward and the allocator's slack (torch's CPU tensors live in malloc'd memory, which
  Python's tracemalloc does not see). Freed heap memory is handed back first (malloc_trim), so
  memory a previous phase freed is not reused unseen; for clean numbers run one method per
  process with glibc's mmap threshold fixed (MALLOC_MMAP_THRESHOLD_, as the benchmark does), so
  large tensors are mapped and unmapped and the RSS follows the live memory.
- Time in memory operations: `profile_steps` steps are run under torch.profiler and the
  self CPU time of the ops that only move or materialise data (`MEMORY_OPS`: copies, cat,
  stack, index/gather/scatter, clone/contiguous, dtype/device conversion, fills and
  allocations) is summed, per step, and as a share of all ops' self time in those steps.
- Learning curve: every `eval_every` steps, accuracy on a fixed set of validation texts;
  `steps_to_target` reads the first step at or above a target from it.
"""

from __future__ import annotations

import ctypes
import gc
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

MEMORY_OPS = frozenset({
    "aten::copy_", "aten::cat", "aten::stack", "aten::index", "aten::index_select", "aten::index_put_",
    "aten::index_add_", "aten::gather", "aten::scatter", "aten::scatter_add_", "aten::masked_fill_",
    "aten::masked_select", "aten::clone", "aten::contiguous", "aten::_to_copy", "aten::to", "aten::fill_",
    "aten::zero_", "aten::zeros", "aten::zeros_like", "aten::ones_like", "aten::empty", "aten::empty_like",
    "aten::empty_strided", "aten::embedding_dense_backward", "aten::embedding_backward", "aten::new_zeros",
    "aten::new_empty_strided", "aten::resize_", "aten::narrow_copy"})
STATUS = Path("/proc/self/status")


def _status_kb(key: str) -> Optional[int]:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _trim_heap() -> None:
    """Give freed heap memory back to the OS (glibc), so the RSS at the start is live memory only."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss() -> Optional[int]:
    """Reset the peak RSS and return the current RSS in bytes (None where Linux's /proc is missing)."""
    _trim_heap()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    rss = _status_kb("VmRSS")
    return None if rss is None else 1024 * rss


def peak_rss() -> Optional[int]:
    hwm = _status_kb("VmHWM")
    return None if hwm is None else 1024 * hwm


def memory_op_time(prof: torch.profiler.profile) -> tuple[float, float]:
    """(self CPU seconds in MEMORY_OPS, self CPU seconds of all ops) of a finished profile."""
    mem = total = 0.0
    for event in prof.key_averages():
        total += event.self_cpu_time_total
        if event.key in MEMORY_OPS:
            mem += event.self_cpu_time_total
    return mem / 1e6, total / 1e6


def steps_to_target(curve: list[tuple[int, float]], target: float) -> Optional[int]:
    return next((step for step, acc in curve if acc >= target), None)


@dataclass
class StepObserver:
    """Collects step times, the learning curve, the memory-op profile and the peak memory of one run."""

    evaluate: Optional[Callable[[], float]] = None  # validation accuracy of the current model
    eval_every: int = 0
    profile_steps: int = 0  # profile steps 2 .. 1 + profile_steps
    extra: list[Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], None]] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    curve: list[tuple[int, float]] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    _last: float = 0.0
    _rss0: Optional[int] = None
    _prof: Any = None

    def start(self) -> None:
        """Call when training starts (the `adapt` hook): resets the peak RSS and the step clock."""
        self._rss0 = reset_peak_rss()
        self._last = time.perf_counter()

    def observe(self, step: int, idx: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        now = time.perf_counter()
        self.step_seconds.append(now - self._last)
        for fn in self.extra:
            fn(step, idx, logits, labels)
        if self.profile_steps and step == 1:
            self._prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            self._prof.__enter__()
        elif self._prof is not None and step == 1 + self.profile_steps:
            self._stop_profile()
        if self.evaluate is not None and self.eval_every and step % self.eval_every == 0 and self._prof is None:
            self.curve.append((step, self.evaluate()))
        self._last = time.perf_counter()

    def _stop_profile(self) -> None:
        self._prof.__exit__(None, None, None)
        mem, total = memory_op_time(self._prof)
        n = self.profile_steps
        self.memory.update(memory_op_seconds_per_step=mem / n, op_seconds_per_step=total / n,
                           memory_op_share=mem / total if total else float("nan"), profiled_steps=n)
        self._prof = None

    def finish(self) -> None:
        """Call when training ends (the `finalize` hook): reads the peak RSS."""
        if self._prof is not None:  # training ended inside the window
            self.profile_steps = len(self.step_seconds) - 1
            self._stop_profile()
        peak = peak_rss()
        if peak is not None and self._rss0 is not None:
            self.memory["peak_training_bytes"] = peak - self._rss0

    def summary(self) -> dict[str, Any]:
        clean = [s for k, s in enumerate(self.step_seconds, 1) if k > 1 + self.profile_steps] or self.step_seconds
        median = statistics.median(clean) if clean else float("nan")
        return {"steps": len(self.step_seconds), "median_step_seconds": median,
                "wall_seconds": median * len(self.step_seconds), "curve": [list(p) for p in self.curve], **self.memory}


def accuracy_of(predict: Callable[[], np.ndarray], labels: np.ndarray) -> float:
    return float(100.0 * np.mean(predict().argmax(1) == labels))


@dataclass(frozen=True)
class PairedComparison:
    """Method b against method a on the same test texts, so a difference can be told from noise.

    Two accuracies on n texts each carry a binomial spread of ~100·sqrt(p(1-p)/n) points, but the
    texts are shared: what decides is how many texts only one of the two gets right (McNemar's
    discordant pairs). `low`/`high` is a 95 % paired bootstrap interval of b − a; `p_value` the
    exact McNemar test (a binomial test on the discordant pairs).
    """

    texts: int
    difference: float  # accuracy points, b − a
    low: float
    high: float
    only_a: int  # texts a gets right and b wrong
    only_b: int
    p_value: float

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def compare_paired(a_correct: np.ndarray, b_correct: np.ndarray, resamples: int = 4000, seed: int = 0) -> PairedComparison:
    """Compare two methods' per-text correctness (bool arrays over the same texts, in the same order)."""
    from scipy.stats import binomtest

    a, b = np.asarray(a_correct, bool), np.asarray(b_correct, bool)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"paired comparison needs two equal, non-empty 1-d correctness arrays, got {a.shape}, {b.shape}")
    diff = b.astype(float) - a.astype(float)
    idx = np.random.default_rng(seed).integers(0, len(diff), (resamples, len(diff)))
    low, high = np.percentile(100.0 * diff[idx].mean(1), [2.5, 97.5])
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    p = binomtest(only_b, only_a + only_b).pvalue if only_a + only_b else 1.0
    return PairedComparison(len(a), float(100.0 * diff.mean()), float(low), float(high), only_a, only_b, float(p))
