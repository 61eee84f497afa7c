"""`explore(ExploreOptions(...))`: the one library entry point `hwgen explore` calls.

Opens (or resumes) the journal study in the output folder, connects to Dask (a LocalCluster on 127.0.0.1 or a
scheduler), runs the driver loop with a live rich display, then writes the outputs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hwgen.errors import HwgenError
from hwgen.explore.dask_runner import Driver, RunOptions, connect
from hwgen.explore.estimators import holdout_errors
from hwgen.explore.evaluate import FIDELITIES, QUALITY, TEST_FIDELITIES
from hwgen.explore.report import Outputs, write_outputs
from hwgen.explore.space import Space
from hwgen.explore.study import open_study, storage_for


class ExploreError(HwgenError):
    """Options that cannot run (a fidelity that cannot give an objective, a bad job count)."""


@dataclass(frozen=True)
class ExploreOptions:
    """What `hwgen explore` does.

    out_dir    where the study journal and outputs go
    trials     evaluations in the study (a resumed study runs until it has this many)
    jobs       local worker processes (ignored with `scheduler`)
    scheduler  a Dask scheduler address (tcp://HOST:PORT); None: a LocalCluster on 127.0.0.1
    resume     continue the study in out_dir (its RUNNING trials re-queued)
    fidelity   the highest fidelity: analytic | cheap | full (`standin`: tests)
    sampler    override the space's sampler (nsga2 | tpe | random)
    surrogate  use the space's response surface to propose and filter candidates
    dashboard  serve the study with optuna-dashboard on 127.0.0.1:PORT while it runs (0: off)
    progress   show the live display
    """

    out_dir: Path
    trials: int = 50
    jobs: int = 1
    scheduler: Optional[str] = None
    resume: bool = False
    fidelity: str = "analytic"
    sampler: Optional[str] = None
    surrogate: bool = True
    dashboard: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.fidelity not in FIDELITIES + TEST_FIDELITIES:
            raise ExploreError(f"fidelity {self.fidelity!r} is not one of {', '.join(FIDELITIES)}")
        if self.trials < 1:
            raise ExploreError(f"trials must be >= 1, got {self.trials}")
        if self.jobs < 1:
            raise ExploreError(f"jobs must be >= 1, got {self.jobs}")
        if self.scheduler is not None and not self.scheduler.startswith(("tcp://", "tls://", "inproc://")):
            raise ExploreError(f"scheduler {self.scheduler!r}: give an address like tcp://HOST:8786")


def check_fidelity(space: Space, fidelity: str) -> None:
    quality = [o.name for o in space.objectives if o.name in QUALITY]
    if fidelity == "analytic" and quality:
        raise ExploreError(f"objective {quality[0]} needs training: use --fidelity cheap or full, or drop it "
                           "(the analytic fidelity estimates hardware only)")


def _serve_dashboard(out_dir: Path, port: int) -> None:
    import optuna_dashboard

    thread = threading.Thread(target=optuna_dashboard.run_server, args=(storage_for(out_dir),),
                              kwargs={"host": "127.0.0.1", "port": port}, daemon=True)
    thread.start()
    print(f"optuna-dashboard: http://127.0.0.1:{port}/")


def explore(space: Space, options: ExploreOptions) -> Outputs:
    """Run (or resume) the exploration of `space` and write its outputs in `options.out_dir`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    check_fidelity(space, options.fidelity)
    out = Path(options.out_dir)
    opened = open_study(space, out, options.resume, options.sampler)
    if opened.requeued:
        print(f"resume: {len(opened.requeued)} trial(s) the last driver left running re-queued")
    if options.dashboard:
        _serve_dashboard(out, options.dashboard)
    run_options = RunOptions(options.trials, options.fidelity, out / "work", options.surrogate)
    progress = Progress(TextColumn("[bold]explore"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                        TimeElapsedColumn(), disable=not options.progress)
    with progress, connect(options.jobs, options.scheduler) as client:
        bar = progress.add_task("trials", total=options.trials, last="")

        def on_event(kind: str, info: dict) -> None:
            if kind in ("told", "failed"):
                what = info.get("values") if kind == "told" else "failed: " + info["error"][:60]
                progress.update(bar, advance=1, last=f"#{info['trial']} {what}")

        driver = Driver(space, opened.study, client, run_options, on_event)
        progress.update(bar, completed=options.trials - driver.owed())
        driver.run()
    summary = (f"{options.trials} evaluations at fidelity ≤ {options.fidelity}; "
               f"{driver.filtered} candidates filtered by the surrogate without evaluation")
    return write_outputs(space, opened.study, out, holdout_errors(), summary)
