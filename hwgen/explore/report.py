"""The exploration's outputs: trials.csv, pareto.csv, pareto.png (2-D projections of the front), a self-contained
report.html (plots inline as base64, no network) and each Pareto point's `hwgen train` / `hwgen build` commands."""

from __future__ import annotations

import base64
import csv
import html
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from hwgen.explore.estimators import EstimatorError
from hwgen.explore.space import Point, Space
from hwgen.explore.study import CONSTRAINT_ATTR
from hwgen.explore.surrogate import nondominated, signed


@dataclass(frozen=True)
class Outputs:
    trials_csv: Path
    pareto_csv: Path
    pareto_png: Path
    report_html: Path
    pareto: tuple[dict[str, Any], ...]
    trials: int


def feasible(trial: FrozenTrial) -> bool:
    return all(v <= 0 for v in trial.user_attrs.get(CONSTRAINT_ATTR, (0,)))


def pareto_trials(space: Space, study: optuna.Study) -> list[FrozenTrial]:
    """The feasible complete trials no other feasible complete trial dominates (in the space's directions)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if feasible(t)]
    if not done:
        return []
    keep = nondominated(signed(space.objectives, np.array([t.values for t in done], float)))
    return sorted((t for t, k in zip(done, keep) if k), key=lambda t: t.values[0])


def commands(space: Space, point: Point) -> str:
    """How to make the design: train the model, export it, build the bitstream (`hwgen train` / `export` / `build`)."""
    weights = "float" if point.weights == "int8" else point.weights
    name = f"{space.task}-{point.weights}-h{point.hidden}-l{point.layers}"
    build = (f"hwgen build {name}.onnx --target fpga --board {point.board} --lanes {point.lanes} "
             f"--gate-rows {point.gate_rows} --act-bits {point.act_bits}"
             + (" --accel-weights int8" if point.weights == "int8" else "")
             + f" -o build/{name}-lanes{point.lanes}x{point.gate_rows}")
    return (f"hwgen train lstm --task {space.task} --weights {weights} --hidden {point.hidden} --layers {point.layers} "
            f"-o runs/{name} && hwgen export runs/{name} -o {name}.onnx && {build}")


def row(space: Space, trial: FrozenTrial) -> dict[str, Any]:
    metrics = trial.user_attrs.get("metrics", {})
    out: dict[str, Any] = {"trial": trial.number, "state": trial.state.name, **trial.params,
                           "fidelity": trial.user_attrs.get("fidelity", ""),
                           "feasible": trial.state == TrialState.COMPLETE and feasible(trial)}
    out.update({k: metrics.get(k, "") for k in ("accuracy", "bpc", "lcs", "ebr", "spram", "dsps", "fmax_mhz",
                                                "cycles_per_step", "us_per_step", "weight_bytes")})
    estimate = trial.user_attrs.get("estimate", {})
    out.update({f"estimated_{k}": estimate.get(k, "") for k in ("lcs", "fmax_mhz")})
    out["notes"] = trial.user_attrs.get("notes", trial.user_attrs.get("error", ""))
    out["host"] = trial.user_attrs.get("host", "")
    return out


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot_front(space: Space, study: optuna.Study, path: Path) -> bytes:
    """Every pair of objectives: all feasible trials in grey, the Pareto points in colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = space.objectives
    pairs = list(itertools.combinations(range(len(objectives)), 2)) or [(0, 0)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.6), squeeze=False)
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if feasible(t)]
    front = pareto_trials(space, study)
    for ax, (i, j) in zip(axes[0], pairs):
        ax.scatter([t.values[i] for t in done], [t.values[j] for t in done], s=10, c="0.75", label="feasible")
        ax.scatter([t.values[i] for t in front], [t.values[j] for t in front], s=24, c="C3", label="Pareto")
        ax.set_xlabel(f"{objectives[i].name} ({objectives[i].unit}, {objectives[i].direction[:3]})")
        ax.set_ylabel(f"{objectives[j].name} ({objectives[j].unit}, {objectives[j].direction[:3]})")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_html(path: Path, space: Space, png: bytes, pareto: Sequence[dict], trials: Sequence[dict],
               errors: Sequence[EstimatorError], summary: str) -> None:
    image = base64.b64encode(png).decode()
    errs = [{"estimate": e.quantity, "held-out points": e.points, "mean error": f"{100 * e.mean:.1f} %",
             "worst": f"{100 * e.worst:.1f} % ({e.worst_point})",
             "within target": f"{e.within} of {e.points} within {100 * e.target:.0f} %"} for e in errors]
    path.write_text(f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>hwgen explore</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px}}code{{font-size:11px}}</style></head><body>
<h1>hwgen explore: {html.escape(space.source or space.task)}</h1><p>{html.escape(summary)}</p>
<h2>Pareto front</h2><img alt="Pareto front projections" src="data:image/png;base64,{image}">
{_table(pareto)}<h2>Estimators against yosys/nextpnr (held-out synthesised points)</h2>{_table(errs)}
<h2>All trials</h2>{_table(trials)}</body></html>
""")


def write_outputs(space: Space, study: optuna.Study, out_dir: Path, errors: Sequence[EstimatorError],
                  summary: str = "") -> Outputs:
    trials = [row(space, t) for t in study.get_trials(deepcopy=False)]
    front = pareto_trials(space, study)
    pareto = [{**row(space, t), "command": commands(space, Point(**t.params))} for t in front]
    paths = [out_dir / n for n in ("trials.csv", "pareto.csv", "pareto.png", "report.html")]
    _write_csv(paths[0], trials)
    _write_csv(paths[1], pareto)
    png = plot_front(space, study, paths[2])
    write_html(paths[3], space, png, pareto, trials, errors, summary)
    (out_dir / "build_commands.sh").write_text("#!/bin/sh\n# one line per Pareto point\n" +
                                               "".join(p["command"] + "\n" for p in pareto))
    return Outputs(*paths, tuple(pareto), len(trials))
