"""The Optuna study of an exploration: a journal file in the output folder (no database server), its samplers,
and resuming after the driver died.

Only the driver writes the journal. Optuna's heartbeat works only inside ``study.optimize`` with an RDB storage,
so a driver killed mid-study leaves its in-flight trials RUNNING forever; :func:`open_study` with ``resume``
marks them FAIL and enqueues their parameters again, so the study finishes with none lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import warnings
from typing import Any, Optional

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from hwgen.errors import HwgenError
from hwgen.explore.space import Space

JOURNAL = "study.journal"
STUDY_NAME = "hwgen-explore"
CONSTRAINT_ATTR = "constraint"
optuna.logging.set_verbosity(optuna.logging.WARNING)


class StudyError(HwgenError):
    """The output folder's study cannot be used as asked (exists without --resume, missing with it)."""


@dataclass(frozen=True)
class OpenedStudy:
    study: optuna.Study
    journal: Path
    requeued: tuple[dict[str, Any], ...]  # params of trials a dead driver left RUNNING, enqueued again


def distributions(space: Space) -> dict[str, CategoricalDistribution]:
    """Every parameter as a categorical over its listed values (small discrete spaces; the grid stays enumerable)."""
    return {name: CategoricalDistribution(list(values)) for name, values in space.params.items()}


def sampler_for(space: Space, name: Optional[str] = None) -> optuna.samplers.BaseSampler:
    name = name or space.sampler
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=space.seed, n_startup_trials=10)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=space.seed)
    return optuna.samplers.NSGAIISampler(population_size=space.population, seed=space.seed)


def storage_for(out_dir: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(out_dir / JOURNAL)))


def open_study(space: Space, out_dir: Path, resume: bool, sampler: Optional[str] = None) -> OpenedStudy:
    """Create the study in `out_dir` (refused when one is there), or with `resume` reopen it and re-queue the
    trials a dead driver left RUNNING (marked FAIL, their params enqueued)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    journal = out_dir / JOURNAL
    if journal.exists() and not resume:
        raise StudyError(f"{journal} exists: pass --resume to continue that study, or choose another -o")
    if resume and not journal.exists():
        raise StudyError(f"--resume: no study in {out_dir} ({JOURNAL} is missing)")
    storage = storage_for(out_dir)
    directions = [o.direction for o in space.objectives]
    study = optuna.create_study(storage=storage, study_name=STUDY_NAME, directions=directions,
                                sampler=sampler_for(space, sampler), load_if_exists=resume)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([o.name for o in space.objectives])
    requeued = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_system_attr(trial._trial_id, "fail_reason", "driver died; re-queued on resume")
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        study.enqueue_trial(dict(trial.params), user_attrs={"requeued_from": trial.number})
        requeued.append(dict(trial.params))
    return OpenedStudy(study, journal, tuple(requeued))


def finished(study: optuna.Study) -> list[FrozenTrial]:
    """Trials told COMPLETE, FAIL or PRUNED (each evaluation told once); RUNNING and WAITING ones are still owed,
    and so are the ones a dead driver left (marked FAIL on resume, their params enqueued again)."""
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))
            if "fail_reason" not in t.system_attrs]
