"""`hwgen explore` without a cluster: space files (and their errors), the analytic fidelity, the estimators, the
surrogate, a whole run on a LocalCluster with its outputs, and resuming a study a dead driver left."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from hwgen.cli import main
from hwgen.explore.estimators import (
    LC_FEATURES,
    Design,
    board_estimate,
    design_of,
    estimate,
    fit,
    holdout_errors,
    lc_features,
    load_points,
    point_name,
)
from hwgen.explore.evaluate import analytic_metrics, evaluate
from hwgen.explore.report import commands
from hwgen.explore.space import (
    Point,
    SpaceError,
    accel_config,
    load_space,
    parse_space,
    preset_path,
)
from hwgen.explore.study import STUDY_NAME, open_study, storage_for
from hwgen.explore.surrogate import Surrogate, nondominated

SPACE = {"task": "digits", "board": "icebreaker",
         "model": {"hidden": [16, 32, 64], "layers": [1], "weights": ["binary", "ternary"], "act_bits": [8]},
         "accelerator": {"lanes": [2, 4, 8]}, "objectives": {"lcs": "min", "us_per_step": "min"}}


def _yaml(tmp_path: Path, doc: dict) -> Path:
    import yaml

    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("preset", ["digits-up5k", "charlm-ecp5"])
def test_presets_load(preset):
    space = load_space(preset_path(preset))
    assert space.size() >= 96 and space.objectives


@pytest.mark.parametrize("change, field", [
    ({"model": {**SPACE["model"], "depth": [2]}}, "model.depth"),
    ({"model": {**SPACE["model"], "hidden": []}}, "model.hidden"),
    ({"objectives": {"area": "min"}}, "objectives.area"),
    ({"board": "ulx3s-85f", "model": {**SPACE["model"], "weights": ["int8"], "hidden": [4096]},
      "accelerator": {"lanes": [1]}}, "board"),
    ({"colour": "red"}, "colour"),
    ({"accelerator": {"lanes": [4], "gate_rows": [3]}}, "accelerator.gate_rows"),
])
def test_bad_space_is_one_error_naming_the_field(tmp_path, capsys, change, field):
    path = _yaml(tmp_path, {**SPACE, **change})
    with pytest.raises(SpaceError, match=field.replace(".", r"\.")):
        load_space(path)
    assert main(["explore", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert field in err and len(err.strip().splitlines()) == 1


def test_gate_rows_default_to_one_and_reach_the_config():
    space = parse_space({**SPACE, "accelerator": {"lanes": [4], "gate_rows": [1, 4]}})
    assert space.params["gate_rows"] == (1, 4) and parse_space(SPACE).params["gate_rows"] == (1,)
    four = Point("icebreaker", 64, 1, "ternary", 8, 4, "auto", gate_rows=4)
    assert accel_config(space, four).gate_rows == 4
    assert "--gate-rows 4" in commands(space, four)


def test_analytic_metrics_and_constraints():
    space = parse_space({**SPACE, "constraints": {"max_us_per_step": 10}})
    point = Point("icebreaker", 64, 1, "ternary", 8, 2, "auto")
    metrics, violations, notes = analytic_metrics(space, point)
    config = accel_config(space, point)
    assert metrics["cycles_per_step"] == config.cycles_per_step()
    assert metrics["weight_bytes"] == config.weight_words * config.word_bits // 8
    assert violations[-1] > 0 and "us_per_step" in notes
    result = evaluate(space.doc, point.params(), "analytic", "/nonexistent")
    assert result.metrics == metrics and not result.feasible


def test_estimators_fit_and_report_held_out_error():
    points = load_points()
    boards = load_points(kind="board_points")
    assert len(boards) >= 8 and len(points) >= len(boards) + 8
    errors = holdout_errors(points)
    assert [e.quantity for e in errors] == ["LCs", "Fmax", "board LCs", "board Fmax"]
    assert [e.points for e in errors] == [len(points) - len(boards)] * 2 + [len(boards)] * 2
    assert all(0 <= e.within <= e.points and e.worst >= e.mean and e.worst_point for e in errors)
    config = accel_config(parse_space(SPACE), Point("icebreaker", 32, 1, "ternary", 8, 4, "auto"))
    assert 1000 < estimate(config, "icebreaker", fit(points)).lcs < 5280


def test_leave_one_out_never_sees_the_held_out_point():
    """A point's held-out error does not depend on its own measurement: doubling one board point's LCs moves only
    its own error (by its estimate, made without it, against the new figure)."""
    points = load_points()
    i = next(n for n, p in enumerate(points) if "board" in p)
    base = holdout_errors(points)[2]
    bumped = [dict(p, lcs=2 * p["lcs"]) if n == i else p for n, p in enumerate(points)]
    after = holdout_errors(bumped)[2]
    assert after.points == base.points and after.worst > 0.3 and points[i]["board"] in after.worst_point


def test_board_estimate_adds_the_fitted_host_link_and_per_step_stream():
    """Analytic LCs/EBR are the board design's (what a full-fidelity board build measures): the accelerator's
    features plus the host link's (and a char-LM's per-step output path), one fit over accelerators and board
    designs."""
    cal = fit(load_points())
    space = parse_space(SPACE)
    config = accel_config(space, Point("icebreaker", 32, 1, "ternary", 8, 4, "auto"))
    coef = dict(zip(LC_FEATURES, cal.lcs["ice40-up5k"]))
    accel, board = estimate(config, "icebreaker", cal), board_estimate(config, "icebreaker", cal)
    assert abs(board.lcs - accel.lcs - coef["host link"]) <= 1
    lm = parse_space({**SPACE, "task": "charlm", "objectives": {"lcs": "min"}})
    per_step = accel_config(lm, Point("icebreaker", 32, 1, "ternary", 8, 4, "auto"))
    assert Design(per_step).per_step and not Design(config).per_step
    assert lc_features(Design(per_step))[LC_FEATURES.index("per-step stream")] == 1
    four = accel_config(space, Point("icebreaker", 64, 1, "ternary", 8, 4, "auto", gate_rows=4))
    features = dict(zip(LC_FEATURES, lc_features(Design(four))))
    assert (features["accumulate lanes"], features["further gate rows"]) == (4, 12)


def test_int8_board_designs_count_their_lane_multipliers_in_dsps():
    """The board flow maps int8 lane products and the dense head's lanes to DSPs: the estimate covers every
    calibrated board design's DSPs, grows with the products, and an int8 board design with more products than the
    UP5K's 8 DSPs hold does not fit."""
    points = load_points()
    cal = fit(points)
    for row in load_points(kind="board_points"):
        assert cal.dsps_of(design_of(row), row["device"]) >= row["dsps"], point_name(row)
    space = parse_space(SPACE)
    ternary = accel_config(space, Point("icebreaker", 32, 1, "ternary", 8, 8, "auto"))
    int8 = {lanes: accel_config(space, Point("icebreaker", 32, 1, "int8", 8, lanes, "auto")) for lanes in (4, 8)}
    assert ternary.head_lanes == 4  # as the board fit: the largest divisor of 8 lanes within the UP5K's 5 spare multipliers
    assert board_estimate(ternary, "icebreaker", cal).dsps == cal.dsps["ice40-up5k"] + ternary.head_products
    assert board_estimate(int8[4], "icebreaker", cal).dsps >= 8
    assert board_estimate(int8[8], "icebreaker", cal).dsps > 8  # the UP5K has 8
    assert estimate(int8[8], "icebreaker", cal).dsps == cal.dsps["ice40-up5k"]  # the harness: multipliers in LUTs


def test_surrogate_learns_a_smooth_surface_and_proposes_the_front():
    space = parse_space(SPACE)
    points = [p for p in space.grid() if p.hidden % p.lanes == 0]
    values = np.array([[p.hidden * p.lanes, 1000 / (p.hidden * p.lanes)] for p in points], float)
    surrogate = Surrogate(space, "mlp", 0)
    assert surrogate.fit(points, values)
    assert surrogate.predict(points).shape == values.shape
    assert nondominated(np.array([[1, 2], [2, 1], [2, 2]])).tolist() == [True, True, False]
    assert len(surrogate.propose(points, set(points[:3]), np.empty((0, 2)), limit=3)) <= 3


def test_local_run_writes_outputs(tmp_path):
    out = tmp_path / "out"
    assert main(["explore", str(_yaml(tmp_path, SPACE)), "-o", str(out), "--trials", "10", "--jobs", "1",
                 "--quiet"]) == 0
    for name in ("trials.csv", "pareto.csv", "pareto.png", "report.html", "build_commands.sh", "study.journal"):
        assert (out / name).exists(), name
    rows = list(csv.DictReader(open(out / "pareto.csv")))
    assert rows and all("hwgen build" in r["command"] for r in rows)
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "http" not in html.replace("http://www.w3.org", "")
    study = optuna.load_study(study_name=STUDY_NAME, storage=storage_for(out))
    assert len([t for t in study.trials if t.state == TrialState.COMPLETE]) == 10
    assert main(["explore", str(_yaml(tmp_path, SPACE)), "-o", str(out)]) == 2  # exists: needs --resume


def test_resume_requeues_running_trials(tmp_path):
    space = parse_space(SPACE)
    opened = open_study(space, tmp_path, resume=False)
    left = opened.study.ask({"hidden": optuna.distributions.CategoricalDistribution([16, 32, 64])})
    again = open_study(space, tmp_path, resume=True)
    assert again.requeued == (left.params,)
    states = {t.number: t.state for t in again.study.get_trials()}
    assert states[left.number] == TrialState.FAIL and TrialState.WAITING in states.values()


def test_analytic_fidelity_refuses_quality_objectives(tmp_path, capsys):
    path = _yaml(tmp_path, {**SPACE, "objectives": {"accuracy": "max", "lcs": "min"}})
    assert main(["explore", str(path), "-o", str(tmp_path / "o"), "--fidelity", "analytic"]) == 2
    assert "--fidelity cheap or full" in capsys.readouterr().err
