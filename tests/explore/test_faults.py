"""Faults with real processes on loopback: a `dask scheduler`, two `dask worker`s and the `hwgen explore` driver.

(a) a worker SIGKILLed mid-trial: the trial re-runs on the other worker, every trial is told once, none stays
RUNNING, and the killed trial's child `sleep` is gone; (b) the driver SIGKILLed mid-study: `--resume` re-queues the
trials it left RUNNING with the same parameters and finishes with none lost. Trials are stand-ins (a child
process that spawns `sleep`) through the same driver, worker and child code as real evaluations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import psutil
import pytest
from optuna.trial import TrialState

from hwgen.explore.study import STUDY_NAME, storage_for

ROOT = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).parent / "dask")
SPACE = """task: digits
board: icebreaker
model: {hidden: [16, 32, 64], layers: [1], weights: [binary, ternary], act_bits: [8]}
accelerator: {lanes: [2, 4, 8]}
objectives: {accuracy: max, lcs: min, us_per_step: min}
"""


def _env(seconds: float) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HWGEN_EXPLORE_STANDIN_SECONDS": str(seconds)}


def _wait(pred, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers, all bound to 127.0.0.1, no nanny (the worker is the process)."""
    procs = []
    sched_file = tmp_path / "scheduler.json"
    env = _env(2)
    procs.append(subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
                                   "127.0.0.1:0", "--scheduler-file", str(sched_file)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    address = _wait(lambda: sched_file.exists() and json.loads(sched_file.read_text() or "{}").get("address"), 30,
                    "the scheduler")
    assert address.startswith("tcp://127.0.0.1:")
    workers = [subprocess.Popen([DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                                 "--dashboard-address", "127.0.0.1:0"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    procs += workers
    from distributed import Client

    with Client(address, timeout=20) as client:
        client.wait_for_workers(2, timeout=30)
    yield address, workers
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _driver(space: Path, out: Path, address: str, trials: int, *extra: str) -> subprocess.Popen:
    code = "import sys; from hwgen.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, "explore", str(space), "-o", str(out), "--trials",
                             str(trials), "--scheduler", address, "--fidelity", "standin", "--quiet",
                             "--no-surrogate", *extra], env=_env(2), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _study(out: Path) -> optuna.Study:
    return optuna.load_study(study_name=STUDY_NAME, storage=storage_for(out))


def _sleep_pids(out: Path) -> dict[int, int]:
    """trial number -> pid of its stand-in's `sleep` (read from the work folders)."""
    found = {}
    for pid_file in (out / "work").glob("trial-*/sleep.pid"):
        text = pid_file.read_text().strip()
        if text:
            found[int(pid_file.parent.name.split("-")[1])] = int(text)
    return found


def _died(driver: subprocess.Popen) -> None:
    """Fail at once (with its output) when the driver exits before the test kills anything."""
    if driver.poll() is not None:
        raise AssertionError(f"the driver exited ({driver.returncode}): {driver.stdout.read()}")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_killed_worker_trial_reruns_elsewhere(cluster, tmp_path):
    address, workers = cluster
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out = tmp_path / "out"
    driver = _driver(space, out, address, 3)
    pids = _wait(lambda: _sleep_pids(out) or _died(driver), 40, "a running stand-in")
    trial, sleep_pid = next(iter(pids.items()))
    evaluator = psutil.Process(sleep_pid).parent()           # hwgen.explore.child
    worker_pid = evaluator.parent().pid                       # the dask worker running the trial
    assert worker_pid in [w.pid for w in workers]
    os.kill(worker_pid, signal.SIGKILL)
    _wait(lambda: _gone(sleep_pid) and _gone(evaluator.pid), 10, "the killed worker's children to die")
    output, _ = driver.communicate(timeout=50)
    assert driver.returncode == 0, output
    study = _study(out)
    states = [t.state for t in study.get_trials()]
    assert states.count(TrialState.COMPLETE) == 3 and TrialState.RUNNING not in states, states
    rerun = study.trials[trial]
    assert rerun.state == TrialState.COMPLETE
    assert rerun.user_attrs["child_pid"] != evaluator.pid   # evaluated again, by the surviving worker


def test_killed_driver_resumes_without_losing_trials(cluster, tmp_path):
    address, _ = cluster
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out = tmp_path / "out"
    driver = _driver(space, out, address, 3)
    _wait(lambda: len(_sleep_pids(out)) >= 2 or _died(driver), 40, "two running stand-ins")
    driver.kill()
    driver.wait()
    left = [t for t in _study(out).get_trials() if t.state == TrialState.RUNNING]
    assert left, "the driver was killed with trials in flight"
    resumed = _driver(space, out, address, 3, "--resume")
    output, _ = resumed.communicate(timeout=50)
    assert resumed.returncode == 0, output
    assert "re-queued" in output
    trials = _study(out).get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 3
    requeued = {t.user_attrs["requeued_from"]: t.params for t in complete if "requeued_from" in t.user_attrs}
    assert {t.number: t.params for t in left} == requeued


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    proc = _driver(space, tmp_path / "out", "tcp://127.0.0.1:9", 2)
    output, _ = proc.communicate(timeout=40)
    assert proc.returncode == 2, output
    assert "no Dask scheduler answered" in output
