"""The full fidelity end to end (slow: full training and a real yosys/nextpnr board build of one point, minutes)."""

from __future__ import annotations

import pytest

from hwgen.explore.evaluate import analytic_metrics, evaluate
from hwgen.explore.space import Point, parse_space


@pytest.mark.slow
def test_full_fidelity_synthesises_and_trains(tmp_path):
    space = parse_space({"task": "digits", "board": "icebreaker",
                         "model": {"hidden": [16], "layers": [1], "weights": ["ternary"], "act_bits": [8]},
                         "accelerator": {"lanes": [4]}, "objectives": {"accuracy": "max", "lcs": "min"}})
    point = Point("icebreaker", 16, 1, "ternary", 8, 4, "auto")
    result = evaluate(space.doc, point.params(), "full", str(tmp_path))
    assert result.metrics["synthesised"] == 1 and result.metrics["lcs"] > 1000 and result.metrics["fmax_mhz"] > 20
    # the integer model's test accuracy (act_bits=8), near the float-side one
    assert 50 < result.metrics["accuracy"] <= 100 and abs(result.metrics["accuracy"] - result.extra["float_score"]) < 5
    # the analytic figures are the board design's too (host link included): same quantity as the build
    analytic, _, _ = analytic_metrics(space, point)
    assert result.extra["estimate"] == {key: analytic[key] for key in ("lcs", "ebr", "fmax_mhz")}
    assert abs(analytic["lcs"] - result.metrics["lcs"]) / result.metrics["lcs"] < 0.10
    assert result.metrics["us_per_step"] == round(result.metrics["cycles_per_step"] / result.metrics["fmax_mhz"], 3)
