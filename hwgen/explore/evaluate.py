"""What one trial computes, at each fidelity.

- ``analytic``: cycles from the accelerator's schedule (`AccelConfig.cycles_per_step`), LCs / block RAM / DSPs /
  Fmax of the board design (accelerator + host link: what a board build measures, so every fidelity reports the
  same quantity) from the calibrated estimators, weight bytes; no model quality (no training), in-process, instant.
- ``cheap`` (as FMAS): the analytic hardware figures plus a short training run on a subset of the training data,
  its integer model (lowered with the point's act_bits, `hwgen.explore.quality`) scored on a validation subset
  carved out of the training split (the test split stays unseen).
- ``full``: full training (the task's default epochs), the integer model scored on the test split, and the board
  build through the library (`hwgen.compile(..., "fpga")`: lowering, fitting, yosys, nextpnr) whose placed LCs,
  EBR, DSPs and Fmax replace the estimates (kept in the evaluation's ``extra["estimate"]``).
- ``standin`` (tests only): the analytic figures after a sleep in a child process that itself spawns a ``sleep``,
  so the fault tests exercise the same driver, worker and child-process code as real evaluations.

Everything except ``analytic`` runs in a child process started with `die_with_parent`, so a SIGKILLed Dask worker
takes its training or synthesis with it (`hwgen.explore.child`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hwgen.errors import HwgenError
from hwgen.explore.estimators import board_estimate
from hwgen.explore.space import Point, Space, accel_config, parse_space
from hwgen.fpga.boards import BOARDS
from hwgen.hw.config import ConfigError
from hwgen.subprocs import die_with_parent

FIDELITIES = ("analytic", "cheap", "full")
TEST_FIDELITIES = ("standin",)
QUALITY = ("accuracy", "bpc")


class EvaluationError(HwgenError):
    """A trial's evaluation failed (training diverged, a tool failed); the trial is told FAIL."""


@dataclass(frozen=True)
class Evaluation:
    """One trial's result: the metrics (every objective's value), whether it meets the constraints (and by how
    much it misses them: Optuna's constraint values, > 0 violated), the fidelity it reached, and where it ran."""

    params: dict[str, Any]
    fidelity: str
    metrics: dict[str, float]
    violations: tuple[float, ...]
    notes: str = ""
    host: str = ""
    seconds: float = 0.0
    child_pid: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # set when the point has no accelerator at all (told FAIL, without a traceback in the logs)

    @property
    def feasible(self) -> bool:
        return all(v <= 0 for v in self.violations)

    def to_json(self) -> dict:
        return asdict(self)


def analytic_metrics(space: Space, point: Point) -> tuple[dict[str, float], tuple[float, ...], str]:
    """The analytic metrics of `point` and its constraint violations (fits the board, latency bounds).

    Raises ConfigError when the accelerator cannot be built at all (lanes that do not divide hidden, weights over
    the board's weight memory)."""
    config = accel_config(space, point)
    est = board_estimate(config, point.board)
    metrics = {"lcs": est.lcs, "ebr": est.ebr, "spram": est.spram, "dsps": est.dsps, "fmax_mhz": est.fmax_mhz,
               "cycles_per_step": est.cycles_per_step, "us_per_step": round(est.us_per_step, 3),
               "weight_bytes": est.weight_bytes}
    return metrics, *_violations(space, point, metrics)


def _violations(space: Space, point: Point, metrics: dict[str, float]) -> tuple[tuple[float, ...], str]:
    """Optuna constraint values (> 0: violated, by the relative overflow) and a note naming what is violated."""
    board = BOARDS[point.board]
    values, notes = [], []
    if space.fits:
        for name, key in (("LC", "lcs"), ("EBR", "ebr"), ("DSP", "dsps"), ("SPRAM", "spram")):
            have = board.resource(name).capacity
            need = metrics[key]
            values.append((need - have) / max(have, 1))
            if need > have:
                notes.append(f"{name} {need}/{have}")
    for bound, key in ((space.max_us_per_step, "us_per_step"), (space.max_cycles_per_step, "cycles_per_step")):
        if bound is not None:
            values.append((metrics[key] - bound) / bound)
            if metrics[key] > bound:
                notes.append(f"{key} {metrics[key]:g} > {bound:g}")
    return tuple(round(v, 6) for v in values), ("violates " + ", ".join(notes)) if notes else ""


def evaluate(space_doc: dict, params: dict[str, Any], fidelity: str, work_dir: str) -> Evaluation:
    """The Dask task: evaluate one point at `fidelity` (analytic in-process, anything else in a child process).

    Takes the space as its YAML document, not a Space, so a worker needs nothing but hwgen installed."""
    space = parse_space(space_doc)
    point = Point(**params)
    start = time.monotonic()
    try:
        metrics, violations, notes = analytic_metrics(space, point)
    except ConfigError as err:
        return Evaluation(params, fidelity, {}, (), host=os.uname().nodename, error=f"infeasible accelerator: {err}")
    child_pid, extra = 0, {}
    if fidelity != "analytic":
        out = _run_child(space_doc, params, fidelity, Path(work_dir))
        child_pid, extra = out.pop("child_pid", 0), out.pop("extra", {})
        if "synthesised" in out["metrics"]:  # what the estimators said before the build, to compare with it
            extra["estimate"] = {key: metrics[key] for key in ("lcs", "ebr", "fmax_mhz")}
        metrics.update(out["metrics"])
        if "synthesised" in metrics:
            metrics["us_per_step"] = round(metrics["cycles_per_step"] / metrics["fmax_mhz"], 3)
        violations, notes = _violations(space, point, metrics)
    return Evaluation(params, fidelity, metrics, violations, notes, os.uname().nodename,
                      round(time.monotonic() - start, 3), child_pid, extra)


def _run_child(space_doc: dict, params: dict, fidelity: str, work_dir: Path) -> dict:
    """Run `hwgen.explore.child` (dies with this thread's process), feeding the request as JSON on stdin."""
    work_dir.mkdir(parents=True, exist_ok=True)
    request = {"space": space_doc, "params": params, "fidelity": fidelity, "work_dir": str(work_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "hwgen.explore.child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
    out, err = proc.communicate(json.dumps(request))
    if proc.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-5:])
        raise EvaluationError(f"{fidelity} evaluation of {params} failed (exit {proc.returncode}): {tail}")
    result = json.loads(out.strip().splitlines()[-1])
    result["child_pid"] = proc.pid
    return result
