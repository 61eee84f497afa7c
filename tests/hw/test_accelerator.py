"""The whole accelerator in amaranth.sim: bit-exact against the integer model, cycles == expected_cycles."""

import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

from hwgen.hw.amaranth_sim import simulate
from hwgen.hw.config import AccelConfig, ConfigError
from hwgen.hw.synthetic import random_gru_stack, random_stack
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack
from hwgen.passes.lower_gru import lower_gru


def _run(hidden, input_size, layers, classes, lanes, kind="ternary", memory="ebr", int8=False, steps=3, seed=0,
         every_step=False, gate_rows=1, head_lanes=0, cell="lstm", **sim_kw):
    options = LoweringOptions(weights="int8" if int8 else "auto")
    if cell == "gru":
        model = lower_gru(random_gru_stack(hidden, input_size, layers, classes, kind=kind, seed=seed,
                                           every_step=every_step), options=options)
    else:
        model = lower_stack(random_stack(hidden, input_size, layers, classes, kind=kind, seed=seed,
                                         every_step=every_step), options=options)
    config = AccelConfig.for_model(model, lanes=lanes, weight_memory=memory, gate_rows=gate_rows, head_lanes=head_lanes)
    rng = np.random.default_rng(seed)
    seqs = [model.quantize_input(rng.uniform(-2, 2, (steps, input_size))) for _ in range(2)]
    result = simulate(config, seqs, **sim_kw)
    for seq, out in zip(seqs, result.outputs):
        np.testing.assert_array_equal(out, config.reference(model, seq))
    return config, result, steps


CASES = {
    "ternary-logits": dict(hidden=4, input_size=4, layers=1, classes=3, lanes=2),
    "two-layers": dict(hidden=8, input_size=4, layers=2, classes=3, lanes=4),
    "hidden-out": dict(hidden=4, input_size=8, layers=1, classes=0, lanes=4),
    "binary-registers": dict(hidden=4, input_size=4, layers=1, classes=2, lanes=2, kind="binary", memory="registers"),
    "spram-upload": dict(hidden=4, input_size=4, layers=1, classes=2, lanes=4, memory="spram"),
    "int8-baseline": dict(hidden=4, input_size=4, layers=1, classes=2, lanes=2, int8=True),
    "int8-weights": dict(hidden=4, input_size=4, layers=1, classes=2, lanes=2, kind="int8"),
    "one-lane-hazards": dict(hidden=2, input_size=2, layers=1, classes=2, lanes=1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_accelerator_is_bit_exact_and_takes_expected_cycles(case):
    config, result, steps = _run(**CASES[case])
    assert result.cycles[0] == config.expected_cycles(steps)


@settings(deadline=None, max_examples=3, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(hidden=st.sampled_from([2, 4]), input_size=st.sampled_from([2, 4, 6]), layers=st.integers(1, 2),
       classes=st.integers(0, 3), kind=st.sampled_from(["binary", "ternary"]), seed=st.integers(0, 1000),
       every_step=st.booleans(), data=st.data())
def test_random_tiny_accelerators(hidden, input_size, layers, classes, kind, seed, every_step, data):
    lanes = data.draw(st.sampled_from([d for d in (1, 2) if hidden % d == 0 and input_size % d == 0]))
    config, result, steps = _run(hidden, input_size, layers, classes, lanes, kind=kind, seed=seed, steps=2,
                                 every_step=every_step)
    assert result.cycles[0] == config.expected_cycles(steps)


@pytest.mark.parametrize("every_step", [False, True])
def test_stalled_streams_change_timing_not_results(every_step):
    _run(4, 4, 1, 3, 2, every_step=every_step, in_valid_pattern=(1, 0, 0, 1, 1), out_ready_pattern=(0, 1, 0, 0))


def test_last_step_head_with_fewer_lanes_reads_the_vector_memory():
    config, result, steps = _run(8, 4, 1, 5, 4, head_lanes=1)
    assert config.head_products == 1 and result.cycles[0] == config.expected_cycles(steps)


def test_stalled_output_holds_a_head_longer_than_a_step():
    """Back-pressure fills the head's FIFO and stops its issue; the steps wait for it (HOLD), nothing is lost."""
    _run(4, 2, 1, 12, 4, every_step=True, out_ready_pattern=(0, 0, 1, 0, 0, 0, 1))


EVERY_STEP_CASES = {
    "logits-every-step": dict(hidden=4, input_size=4, layers=1, classes=3, lanes=2),
    "hidden-every-step": dict(hidden=4, input_size=8, layers=1, classes=0, lanes=4),
    "two-layers-every-step": dict(hidden=4, input_size=2, layers=2, classes=2, lanes=2),
    # the head's K·H/lanes cycles outlast a step (24 cycles): each step's end HOLDs until the head frees the bank
    "head-longer-than-a-step": dict(hidden=2, input_size=1, layers=1, classes=40, lanes=1),
    # fewer head lanes than vector lanes: an h word serves three head cycles through the shift register
    "head-lanes-a-third": dict(hidden=12, input_size=5, layers=2, classes=7, lanes=6, head_lanes=2),
}


@pytest.mark.parametrize("case", sorted(EVERY_STEP_CASES))
def test_every_step_outputs_are_bit_exact_and_take_expected_cycles(case):
    """A char-LM's shape: logits (or h) after every step, one out_last per sequence."""
    config, result, steps = _run(**EVERY_STEP_CASES[case], every_step=True, steps=3)
    assert config.output_steps == "every_step"
    k = config.outputs or config.hidden
    assert all(out.shape == (steps, k) for out in result.outputs)
    assert result.cycles[0] == config.expected_cycles(steps)


GATE_ROW_CASES = {  # a unit's rows in one word: R trees and accumulators, the row serialiser
    # four rows (i, f, g, o)
    "4-logits": dict(hidden=8, input_size=8, layers=1, classes=3, lanes=2),
    "4-hidden-out-odd-input": dict(hidden=4, input_size=30, layers=1, classes=0, lanes=4),
    "4-two-layers-one-lane": dict(hidden=8, input_size=5, layers=2, classes=2, lanes=1),
    "4-every-step": dict(hidden=8, input_size=8, layers=1, classes=3, lanes=2, every_step=True),
    "4-spram-binary": dict(hidden=8, input_size=12, layers=1, classes=2, lanes=2, memory="spram", kind="binary"),
    "4-one-unit": dict(hidden=1, input_size=9, layers=1, classes=2, lanes=1),
    # two rows (i, f, then g, o); the shortest unit: 4 chunks a row, 8 cycles a unit
    "2-logits-shortest-unit": dict(hidden=4, input_size=4, layers=1, classes=3, lanes=2),
    "2-two-layers-one-lane": dict(hidden=4, input_size=5, layers=2, classes=2, lanes=1),
    "2-every-step": dict(hidden=8, input_size=8, layers=1, classes=3, lanes=4, every_step=True),
    "2-one-unit": dict(hidden=1, input_size=3, layers=1, classes=2, lanes=1),
}


@pytest.mark.parametrize("case", sorted(GATE_ROW_CASES))
def test_gate_rows_a_word_are_bit_exact_and_take_expected_cycles(case):
    rows = int(case.split("-")[0])
    config, result, steps = _run(**GATE_ROW_CASES[case], gate_rows=rows)
    assert config.gate_rows == rows and config.word_bits == rows * config.lanes * config.weight_bits
    assert result.cycles[0] == config.expected_cycles(steps)


def test_gate_rows_refuses_units_too_short_for_their_rows():
    """Two rows a word need 4 chunks a row (8 cycles a unit), four rows 8 chunks; the error names what is valid."""
    model = lower_stack(random_stack(8, 8, 1, 2, seed=0))
    assert AccelConfig.for_model(model, lanes=4, gate_rows=2).unit_cycles(0) == 8
    with pytest.raises(ConfigError, match=r"gate_rows=4 with lanes=4: a unit takes 4 cycles.*nearest valid lanes: 2 "
                                          r"\(or gate_rows 1, 2\)"):
        AccelConfig.for_model(model, lanes=4, gate_rows=4)
    with pytest.raises(ConfigError, match=r"gate_rows=2 with lanes=8: a unit takes 4 cycles.*nearest valid lanes: 4 "
                                          r"\(or gate_rows 1\)"):
        AccelConfig.for_model(model, lanes=8, gate_rows=2)
