"""A random sweep of the whole accelerator in amaranth.sim over models × configurations: cell (LSTM or GRU), hidden,
input, layers,
weight kind, lanes (up to 16: the output unit walks an h word of up to 16 lanes through its shift register),
gate rows a word (1, 2 or 4), weight memory, output mode, dense-head size and head lanes. Every case: outputs bit-exact with the integer reference and cycles ==
`expected_cycles()`. A few cases run by default, more with the slow marker."""

import pytest
from hypothesis import HealthCheck, given, reject, settings, strategies as st

from hwgen.hw.config import GATE_ROWS, UNIT_MIN_CYCLES, ConfigError

from tests.hw.test_accelerator import _run


@st.composite
def cases(draw, max_hidden=16, max_input=19):
    cell = draw(st.sampled_from(["lstm", "gru"]))
    lanes = draw(st.sampled_from([d for d in (1, 2, 4, 8, 16) if d <= max_hidden]))
    hidden = lanes * draw(st.integers(1, max(1, max_hidden // lanes)))
    kind = draw(st.sampled_from(["binary", "ternary", "int8"]))
    memory = draw(st.sampled_from(["registers", "ebr", "spram"]))
    input_size, layers = draw(st.integers(1, max_input)), draw(st.integers(1, 2))
    # R gate rows a word need units of 4 · chunks / R >= UNIT_MIN_CYCLES cycles in every layer (else the config
    # refuses them); a GRU reads one row a word
    chunks = min([-(-input_size // lanes)] + [hidden // lanes] * (layers - 1)) + hidden // lanes
    valid_rows = [r for r in GATE_ROWS if r == 1 or (cell == "lstm" and 4 * chunks // r >= UNIT_MIN_CYCLES)]
    gate_rows = draw(st.sampled_from(valid_rows))
    if memory == "spram" and lanes * gate_rows * {"binary": 1, "ternary": 2, "int8": 8}[kind] > 64:
        memory = "ebr"  # wider than the UP5K's four SPRAMs side by side
    # classes up to 40: a dense head whose every-step burst may outlast a step (the controller HOLDs for it)
    classes = draw(st.one_of(st.integers(0, 4), st.integers(5, 40)))
    head_lanes = draw(st.sampled_from([0] + [d for d in range(1, lanes + 1) if lanes % d == 0]))
    return dict(hidden=hidden, input_size=input_size, layers=layers, classes=classes, lanes=lanes, head_lanes=head_lanes,
                kind=kind, memory=memory, gate_rows=gate_rows, every_step=draw(st.booleans()),
                seed=draw(st.integers(0, 10_000)), cell=cell)


def _check(case):
    try:
        config, result, steps = _run(steps=2, **case)
    except ConfigError:  # e.g. too many weight bits for weight_memory='registers'
        reject()
    assert result.cycles[0] == config.expected_cycles(steps)  # the second sequence overlaps the first's output


@settings(deadline=None, max_examples=4, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(max_hidden=8, max_input=9))
def test_random_accelerator_configurations(case):
    _check(case)


@pytest.mark.slow
@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_random_accelerator_configurations_long(case):
    _check(case)
