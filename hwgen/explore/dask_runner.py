"""The driver loop on Dask `distributed`: ask Optuna, submit each trial to a Dask client, tell the result.

The driver alone writes the study; workers only evaluate (`hwgen.explore.evaluate.evaluate`). One machine gets a
LocalCluster inside the driver bound to 127.0.0.1 (``--jobs N``); many connect to a running ``dask scheduler``
(``--scheduler tcp://HOST:8786``). A SIGKILLed worker's task re-runs on another worker (the scheduler's
allowed-failures; ``retries=`` covers only exceptions) and its evaluation child dies with it (PR_SET_PDEATHSIG).
Each future is released as soon as its result is told, so a finished trial is never recomputed when the worker
that holds its result dies.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import optuna
from optuna.trial import TrialState

from hwgen.errors import HwgenError
from hwgen.explore.evaluate import QUALITY, Evaluation, analytic_metrics
from hwgen.explore.space import Point, Space
from hwgen.explore.study import CONSTRAINT_ATTR, distributions, finished
from hwgen.explore.surrogate import Surrogate, nondominated, signed
from hwgen.hw.config import ConfigError

#: The scheduler must answer within this many seconds, else a clear error (not a hang).
CONNECT_TIMEOUT = 10


class SchedulerError(HwgenError):
    """The Dask scheduler cannot be reached."""


@contextlib.contextmanager
def connect(jobs: int, scheduler: Optional[str]) -> Iterator["object"]:
    """A Dask client: to `scheduler`, or to a LocalCluster of `jobs` single-threaded worker processes on 127.0.0.1."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as err:
            raise SchedulerError(f"--scheduler {scheduler}: no Dask scheduler answered within {CONNECT_TIMEOUT} s "
                                 f"({type(err).__name__}: {err}); start one with `dask scheduler` there") from None
        with client:
            yield client
        return
    # every listener on loopback: the scheduler, its dashboard (None still binds :8787) and the workers
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


@dataclass(frozen=True)
class RunOptions:
    trials: int
    fidelity: str
    work_dir: Path
    surrogate: bool = True


@dataclass
class Driver:
    """One study's driver state: which trial each running future evaluates, and the surrogate's proposals."""

    space: Space
    study: optuna.Study
    client: "object"
    options: RunOptions
    on_event: Callable[[str, dict], None] = lambda kind, info: None

    def __post_init__(self) -> None:
        self.running: dict[object, optuna.Trial] = {}
        self.surrogate = Surrogate(self.space, self.space.surrogate if self.options.surrogate else "none",
                                   self.space.seed)
        self.filtered = 0

    def owed(self) -> int:
        return self.options.trials - len([t for t in finished(self.study) if t.state != TrialState.PRUNED])

    def capacity(self) -> int:
        threads = sum(self.client.nthreads().values()) if hasattr(self.client, "nthreads") else 1
        return max(int(threads), 1)

    def run(self) -> None:
        """Keep every worker thread busy until the study holds `trials` told evaluations."""
        from distributed import as_completed

        queue = as_completed()
        while self.owed() > 0:
            while len(self.running) < min(self.capacity(), self.owed()):  # owed() still counts the running ones
                future = self._submit_next()
                if future is None:
                    break
                queue.add(future)
            if not self.running:
                break
            self._tell(next(queue))

    def _submit_next(self) -> Optional[object]:
        """Ask for the next trial the surrogate does not filter out and submit it; None when filtering has refused
        20 × trials candidates in a row (the space holds nothing new the surface believes in)."""
        from hwgen.explore.evaluate import evaluate

        for _ in range(20 * self.options.trials):
            self._refresh_proposals()
            trial = self.study.ask(distributions(self.space))
            level = self._level(trial, Point(**trial.params))
            if level is None:
                continue
            work = self.options.work_dir / f"trial-{trial.number:05d}"
            trial.set_user_attr("fidelity", level)
            future = self.client.submit(evaluate, dict(self.space.doc), trial.params, level, str(work),
                                        key=f"hwgen-explore-trial-{trial.number}-{id(trial)}", pure=False)
            self.running[future] = trial
            self.on_event("submitted", {"trial": trial.number, "params": trial.params, "fidelity": level})
            return future
        return None

    def _level(self, trial: optuna.Trial, point: Point) -> Optional[str]:
        """The fidelity to evaluate at: the cap, one level down for `full` when the candidate's analytic figures
        (with the best quality seen) cannot reach the front, or None (told PRUNED, not evaluated) when the
        surrogate predicts it dominated."""
        fidelity = self.options.fidelity
        if "requeued_from" in trial.user_attrs or "proposed" in trial.user_attrs:
            return fidelity
        if self.surrogate.ready and self._predicted_dominated(point):
            self.study.tell(trial, state=TrialState.PRUNED)
            self.filtered += 1
            self.on_event("filtered", {"trial": trial.number})
            return None
        if fidelity == "full" and not self._can_reach_front(point):
            return "cheap"
        return fidelity

    def _front(self) -> tuple[list[Point], np.ndarray]:
        trials = [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                  if all(v <= 0 for v in t.user_attrs.get(CONSTRAINT_ATTR, (0,)))]
        if not trials:
            return [], np.empty((0, len(self.space.objectives)))
        costs = signed(self.space.objectives, np.array([t.values for t in trials], float))
        keep = nondominated(costs)
        return [Point(**t.params) for t, k in zip(trials, keep) if k], costs[keep]

    def _predicted_dominated(self, point: Point) -> bool:
        _, front = self._front()
        if not len(front):
            return False
        mine = signed(self.space.objectives, self.surrogate.predict([point]))[0]
        return bool(np.any(np.all(front <= mine, axis=1) & np.any(front < mine, axis=1)))

    def _can_reach_front(self, point: Point) -> bool:
        _, front = self._front()
        if not len(front):
            return True
        try:
            metrics, _, _ = analytic_metrics(self.space, point)
        except ConfigError:
            return False
        best = front.min(axis=0)
        mine = np.array([best[i] if o.name in QUALITY else signed([o], np.array([metrics[o.name]]))[0]
                         for i, o in enumerate(self.space.objectives)])
        return not bool(np.any(np.all(front <= mine, axis=1) & np.any(front < mine, axis=1)))

    def _refresh_proposals(self) -> None:
        """Refit the surface every few tells and enqueue its predicted-front points (once each)."""
        if self.surrogate.kind == "none":
            return
        waiting = self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        done = [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        if waiting or len(done) < 8 or len(done) % 4:
            return
        self.surrogate.fit([Point(**t.params) for t in done], np.array([t.values for t in done], float))
        seen = {Point(**t.params) for t in self.study.get_trials(deepcopy=False)}
        _, front = self._front()
        grid = list(self.space.grid())
        if len(grid) > 5000:
            rng = np.random.default_rng(len(done))
            grid = [grid[i] for i in rng.choice(len(grid), 5000, replace=False)]
        for point in self.surrogate.propose(grid, seen, front, limit=max(2, self.capacity())):
            self.study.enqueue_trial(point.params(), user_attrs={"proposed": "surrogate"})

    def _tell(self, future: object) -> None:
        trial = self.running.pop(future)
        try:
            result: Evaluation = future.result()  # type: ignore[attr-defined]
            error = result.error
        except Exception as err:  # an evaluation that failed (a tool error, training diverged): FAIL, told once
            error = f"{type(err).__name__}: {err}"
        if error:
            trial.set_user_attr("error", error[:500])
            self.study.tell(trial, state=TrialState.FAIL)
            self.on_event("failed", {"trial": trial.number, "error": error})
        else:
            trial.set_user_attr(CONSTRAINT_ATTR, list(result.violations))
            for i, value in enumerate(result.violations):  # the samplers prefer feasible points
                trial.set_constraint(f"c{i}", float(value))
            trial.set_user_attr("metrics", result.metrics)
            trial.set_user_attr("fidelity", result.fidelity)
            trial.set_user_attr("host", result.host)
            trial.set_user_attr("seconds", result.seconds)
            trial.set_user_attr("child_pid", result.child_pid)
            if result.notes:
                trial.set_user_attr("notes", result.notes)
            if "estimate" in result.extra:  # the analytic figures a synthesised trial was built against
                trial.set_user_attr("estimate", result.extra["estimate"])
            values = [result.metrics[o.name] for o in self.space.objectives]
            self.study.tell(trial, values)
            self.on_event("told", {"trial": trial.number, "values": values, "feasible": result.feasible})
        future.release()  # type: ignore[attr-defined]
