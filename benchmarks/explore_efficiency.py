"""Hypervolume against evaluations: random search, plain NSGA-II and surrogate-assisted NSGA-II on an enumerated grid.

Every point of the space's grid is evaluated up front (the exhaustive front): hardware by the analytic fidelity
(`hwgen.explore.evaluate.analytic_metrics`), model quality by ``--quality``: ``cheap`` trains each point briefly
(`hwgen.explore.child.train_quality`, slow: seconds per point), ``standin`` uses the fault tests' made-up smooth
function of the point (instant; measures the search machinery, not real accuracy). Each search then runs against
that table through the same Optuna study, samplers and `Surrogate` as `hwgen explore`, and reports the hypervolume
of its feasible front (normalised objectives) as a fraction of the exhaustive one, by evaluations spent. Evaluations
count every trial evaluated, infeasible ones included; candidates the surrogate filters out are not evaluated.

    python benchmarks/explore_efficiency.py --preset digits-up5k --quality standin --budget 0.1 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import optuna
from optuna._hypervolume import compute_hypervolume
from optuna.trial import TrialState

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwgen.cache import cache_dir  # noqa: E402
from hwgen.explore.child import standin_quality, train_quality  # noqa: E402
from hwgen.explore.estimators import holdout_errors  # noqa: E402
from hwgen.explore.evaluate import QUALITY, analytic_metrics  # noqa: E402
from hwgen.explore.space import Point, Space, load_space, preset_path  # noqa: E402
from hwgen.explore.study import distributions  # noqa: E402
from hwgen.explore.surrogate import Surrogate, nondominated, signed  # noqa: E402
from hwgen.hw.config import ConfigError  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def table(space: Space, quality: str) -> dict[Point, tuple[list[float], bool]]:
    """Every valid grid point -> (objective values, feasible)."""
    out, trained = {}, {}
    for point in space.grid():
        try:
            metrics, violations, _ = analytic_metrics(space, point)
        except ConfigError:
            continue
        if any(o.name in QUALITY for o in space.objectives):
            if quality == "cheap":  # the cheap score depends on the model only (not lanes, board or act_bits)
                model = (point.hidden, point.layers, point.weights)
                if model not in trained:
                    score = train_quality(space, point, "cheap", Path(tempfile.mkdtemp()))
                    trained[model] = {k: v for k, v in score.items() if k in QUALITY}
                    print(f"cheap training {len(trained)}: {model} -> {trained[model]}", flush=True)
                metrics.update(trained[model])
            else:
                metrics.update(standin_quality(point))
        out[point] = ([float(metrics[o.name]) for o in space.objectives], all(v <= 0 for v in violations))
    return out


def hypervolume(space: Space, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    if not len(values):
        return 0.0
    costs = (signed(space.objectives, values) - lo) / np.where(hi > lo, hi - lo, 1.0)
    front = costs[nondominated(costs)]
    return float(compute_hypervolume(front, np.full(costs.shape[1], 1.1)))


def search(space: Space, lookup: dict, method: str, budget: int, seed: int, curve_at: list[int]) -> list[np.ndarray]:
    """Run one search for `budget` evaluations; the feasible values found after each count in `curve_at`."""
    sampler = (optuna.samplers.RandomSampler(seed=seed) if method == "random"
               else optuna.samplers.NSGAIISampler(population_size=space.population, seed=seed))
    study = optuna.create_study(directions=[o.direction for o in space.objectives], sampler=sampler)
    surrogate = Surrogate(space, "mlp", seed) if method == "surrogate" else None
    found, snapshots, evaluations, asked = [], [], 0, 0
    while evaluations < budget and asked < 50 * budget:
        asked += 1
        if surrogate is not None:
            _propose(space, study, surrogate, lookup, found, evaluations)
        trial = study.ask(distributions(space))
        point = Point(**trial.params)
        if surrogate is not None and surrogate.ready and "proposed" not in trial.user_attrs \
                and _dominated(space, surrogate, point, found):
            study.tell(trial, state=TrialState.PRUNED)
            continue
        evaluations += 1
        if point not in lookup:
            study.tell(trial, state=TrialState.FAIL)
        else:
            values, ok = lookup[point]
            trial.set_constraint("c0", 0.0 if ok else 1.0)
            study.tell(trial, values)
            if ok:
                found.append(values)
        if evaluations in curve_at:
            snapshots.append(np.array(found))
    while len(snapshots) < len(curve_at):
        snapshots.append(np.array(found))
    return snapshots


def _front(space: Space, found: list) -> np.ndarray:
    if not found:
        return np.empty((0, len(space.objectives)))
    costs = signed(space.objectives, np.array(found))
    return costs[nondominated(costs)]


def _dominated(space: Space, surrogate: Surrogate, point: Point, found: list) -> bool:
    front = _front(space, found)
    if not len(front):
        return False
    mine = signed(space.objectives, surrogate.predict([point]))[0]
    return bool(np.any(np.all(front <= mine, axis=1) & np.any(front < mine, axis=1)))


def _propose(space: Space, study: optuna.Study, surrogate: Surrogate, lookup: dict, found: list, n: int) -> None:
    if study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        return
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 8 or n % 4:
        return
    surrogate.fit([Point(**t.params) for t in done], np.array([t.values for t in done]))
    seen = {Point(**t.params) for t in study.get_trials(deepcopy=False)}
    for point in surrogate.propose(list(lookup), seen, _front(space, found), limit=4):
        study.enqueue_trial(point.params(), user_attrs={"proposed": "surrogate"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="digits-up5k")
    ap.add_argument("--quality", choices=("standin", "cheap"), default="standin")
    ap.add_argument("--budget", type=float, default=0.1, help="evaluations as a fraction of the valid grid")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    space = load_space(preset_path(args.preset))
    lookup = table(space, args.quality)
    feasible = np.array([v for v, ok in lookup.values() if ok])
    costs = signed(space.objectives, feasible)
    lo, hi = costs.min(axis=0), costs.max(axis=0)
    exhaustive = hypervolume(space, feasible, lo, hi)
    budget = max(int(args.budget * len(lookup)), 1)
    curve_at = sorted({max(1, int(budget * f)) for f in (0.25, 0.5, 0.75, 1.0)})
    print(f"{args.preset}: grid {space.size()} points, {len(lookup)} valid, {len(feasible)} feasible; "
          f"quality: {args.quality}; budget {budget} evaluations ({100 * budget / len(lookup):.1f} % of the valid grid)")
    results = {}
    for method in ("random", "nsga2", "surrogate"):
        ratios = np.array([[hypervolume(space, s, lo, hi) / exhaustive for s in search(space, lookup, method, budget,
                                                                                        seed, curve_at)]
                           for seed in args.seeds])
        results[method] = ratios.tolist()
        print(f"{method:10s} " + "  ".join(f"{n:3d} evals: {ratios[:, i].mean():.3f} (min {ratios[:, i].min():.3f})"
                                          for i, n in enumerate(curve_at)))
    out = cache_dir() / f"explore_efficiency-{args.quality}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"preset": args.preset, "quality": args.quality, "valid": len(lookup),
                                                  "budget": budget, "curve_at": curve_at, "seeds": args.seeds,
                                                  "hypervolume_ratio": results}, indent=1))
    _plot(results, curve_at, out / "hypervolume.png")
    for err in holdout_errors():
        print(f"estimator {err.quantity}: mean {100 * err.mean:.1f} %, worst {100 * err.worst:.1f} % on {err.points} "
              "held-out synthesised points")
    print(f"wrote {out / 'results.json'} and {out / 'hypervolume.png'}")


def _plot(results: dict, curve_at: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for method, ratios in results.items():
        ax.plot(curve_at, np.mean(ratios, axis=0), marker="o", label=method)
    ax.axhline(0.95, color="0.5", ls="--", lw=0.8)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume ÷ exhaustive")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
