import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwgen.hw.lanes import Lanes, encode_code
from tests.hw.simutil import run_cycles

CODES = {"binary": [-1, 1], "ternary": [-1, 0, 1], "int8": list(range(-127, 128))}


@pytest.mark.parametrize("kind", ["binary", "ternary", "int8"])
@settings(deadline=None, max_examples=5)
@given(data=st.data())
def test_lanes_terms_plus_carries_equal_the_dot_product(kind, data):
    lanes, bits = 4, 8
    values = data.draw(st.lists(st.integers(-128, 127), min_size=lanes, max_size=lanes))
    codes = data.draw(st.lists(st.sampled_from(CODES[kind]), min_size=lanes, max_size=lanes))
    dut = Lanes(lanes, bits, kind)

    def drive(c):
        return [*((dut.values[i], v) for i, v in enumerate(values)), *((dut.codes[i], encode_code(w, kind)) for i, w in enumerate(codes))]

    trace = run_cycles(dut, 2, drive, [*dut.terms, dut.carries])
    terms, carries = trace[1][:lanes], trace[1][lanes]
    assert sum(terms) + carries == Lanes.reference(np.array(values), np.array(codes))
    if kind != "int8":  # XOR negation: each term is v, ~v or 0, never a subtractor's -v
        for t, v, w in zip(terms, values, codes):
            assert t == {1: v, -1: ~v, 0: 0}[w]


def test_encode_code_rejects_codes_outside_the_kind():
    with pytest.raises(ValueError, match="ternary"):
        encode_code(2, "ternary")
    with pytest.raises(ValueError, match="binary"):
        encode_code(0, "binary")


@settings(deadline=None, max_examples=5)
@given(data=st.data(), lanes=st.sampled_from([2, 5, 8]))
def test_split_popcount_gives_the_carries_a_cycle_later(data, lanes):
    values = data.draw(st.lists(st.integers(-128, 127), min_size=lanes, max_size=lanes))
    codes = data.draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=lanes, max_size=lanes))
    dut = Lanes(lanes, 8, "ternary", carry_latency=2)

    def drive(c):
        return [*((dut.values[i], v) for i, v in enumerate(values)), *((dut.codes[i], encode_code(w, "ternary")) for i, w in enumerate(codes))]

    trace = run_cycles(dut, 3, drive, [*dut.terms, dut.carries])
    assert trace[2][lanes] == sum(1 for w in codes if w < 0)
    assert sum(trace[1][:lanes]) + trace[2][lanes] == Lanes.reference(np.array(values), np.array(codes))
