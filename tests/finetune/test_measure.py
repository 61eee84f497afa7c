"""The paired accuracy comparison: identical predictions differ by nothing; the sign and counts follow the data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwgen.finetune.measure import compare_paired


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_difference_counts_and_interval_follow_the_pairs(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    c = compare_paired(a, b, resamples=200)
    assert c.only_a == int((a & ~b).sum()) and c.only_b == int((b & ~a).sum())
    assert c.difference == pytest.approx(100.0 * (c.only_b - c.only_a) / len(a))
    assert c.low <= c.high and -100 <= c.low and c.high <= 100
    assert 0 <= c.p_value <= 1
    if c.only_a == c.only_b:
        assert c.p_value == 1.0


def test_identical_predictions_and_a_clear_win():
    a = np.array([True, False] * 50)
    same = compare_paired(a, a)
    assert (same.difference, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    better = compare_paired(np.zeros(100, bool), np.r_[np.ones(30, bool), np.zeros(70, bool)])
    assert better.difference == 30.0 and better.low > 0 and better.p_value < 1e-6
    with pytest.raises(ValueError, match="equal, non-empty"):
        compare_paired(np.ones(3, bool), np.ones(4, bool))
