"""The cheap fidelity scores the integer model the accelerator computes, so the activation width counts."""

from __future__ import annotations

import pytest

from hwgen.explore.evaluate import evaluate
from hwgen.explore.quality import train_model
from hwgen.explore.space import Point, parse_space

SPACE = {"task": "digits", "board": "icebreaker",
         "model": {"hidden": [16], "layers": [1], "weights": ["ternary", "int8"], "act_bits": [3, 8]},
         "accelerator": {"lanes": [4]}, "objectives": {"accuracy": "max", "lcs": "min"}}


@pytest.fixture(scope="module")
def space():
    return parse_space(SPACE)


@pytest.mark.parametrize("weights", ["ternary", "int8"])
def test_narrow_activations_score_below_wide_ones(space, tmp_path, weights):
    """One short training (fixed seed), scored by the integer model at 3 and 8 activation bits: the 3-bit
    hidden state (two fraction bits) loses accuracy; 8 bits stays near the float-side score."""
    trained = train_model(space, Point("icebreaker", 16, 1, weights, 8, 4, "auto"), "cheap", tmp_path)
    narrow, wide = trained.score(3, weights == "int8"), trained.score(8, weights == "int8")
    assert narrow < wide
    assert abs(wide - trained.float_score) < 5


def test_cheap_evaluation_reports_the_integer_score(space, tmp_path):
    """Through the evaluation path (child process): two points differing only in act_bits get different
    accuracies, from the same training (same float-side score)."""
    results = {bits: evaluate(space.doc, Point("icebreaker", 16, 1, "ternary", bits, 4, "auto").params(), "cheap",
                              str(tmp_path / f"a{bits}"))
               for bits in (3, 8)}
    assert results[3].extra["float_score"] == results[8].extra["float_score"]
    assert results[3].metrics["accuracy"] < results[8].metrics["accuracy"]
