"""The full fidelity end to end (slow: full training and a real yosys/nextpnr board build of one point)."""

from __future__ import annotations

import pytest

from hwgen.explore.evaluate import evaluate
from hwgen.explore.space import Point, parse_space


@pytest.mark.slow
def test_full_fidelity_synthesises_and_trains(tmp_path):
    space = parse_space({"task": "digits", "board": "icebreaker",
                         "model": {"hidden": [16], "layers": [1], "weights": ["ternary"], "act_bits": [8]},
                         "accelerator": {"lanes": [4]}, "objectives": {"accuracy": "max", "lcs": "min"}})
    point = Point("icebreaker", 16, 1, "ternary", 8, 4, "auto")
    result = evaluate(space.doc, point.params(), "full", str(tmp_path))
    assert result.metrics["synthesised"] == 1 and result.metrics["lcs"] > 1000 and result.metrics["fmax_mhz"] > 20
    assert 50 < result.metrics["accuracy"] <= 100
