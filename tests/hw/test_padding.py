"""Inputs that lanes do not divide: layer 0's input is zero-padded to whole chunks inside the accelerator.

The pad columns of the weight image hold `images.PAD_CODE`; the pad slots of the x memory are never
written and read 0, so the product is 0 whatever the code (binary has no 0 code: its pad is +1). The
stream still takes exactly X beats per step.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwgen.hw import images
from hwgen.hw.config import AccelConfig
from hwgen.hw.lanes import WEIGHT_BITS, Lanes, encode_code
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack
from tests.hw.simutil import run_cycles
from tests.hw.test_accelerator import _run


@settings(deadline=None, max_examples=40)
@given(lanes=st.sampled_from([1, 2, 4, 8]), units=st.integers(1, 4), input_size=st.integers(1, 40),
       layers=st.integers(1, 3))
def test_chunks_round_the_input_up_and_nothing_else(lanes, units, input_size, layers):
    config = AccelConfig(hidden=lanes * units, input=input_size, layers=layers, lanes=lanes, acc_bits=32)
    kx = -(-input_size // lanes)
    assert config.x_chunks(0) == kx and config.padded_input() == kx * lanes
    assert input_size <= config.padded_input() < input_size + lanes
    assert all(config.x_chunks(layer) == units for layer in range(1, layers))  # deeper layers read h: no pad
    assert config.chunks(0) == kx + units >= 2  # rows keep >= 2 cycles
    assert config.weight_words == 4 * config.hidden * sum(config.chunks(layer) for layer in range(layers))
    useful = sum(4 * config.hidden * (config.layer_input(layer) + config.hidden) for layer in range(layers)) / lanes
    assert config.ideal_cycles_per_step() == useful  # pad columns are waste, not useful work
    assert (config.ideal_cycles_per_step() == config.weight_words) == (input_size % lanes == 0)
    assert config.expected_cycles(3) - config.expected_cycles(2) == config.cycles_per_step()


def test_lanes_not_dividing_hidden_still_name_the_nearest_choice():
    from hwgen.hw.config import ConfigError

    with pytest.raises(ConfigError, match=r"lanes=3 must divide hidden=8 .*nearest valid lanes: 2 or 4"):
        AccelConfig(hidden=8, input=99, lanes=3)
    with pytest.raises(ConfigError, match=r"wider than 4 SPRAMs × 16 bits; nearest valid lanes: 32"):
        AccelConfig(hidden=128, input=99, lanes=64, weight_memory="spram")


def _decode(word: int, lanes: int, kind: str) -> list[int]:
    b = WEIGHT_BITS[kind]
    fields = [(word >> (i * b)) & ((1 << b) - 1) for i in range(lanes)]
    if kind == "binary":
        return [-1 if f else 1 for f in fields]
    return [f - (1 << b) if f >> (b - 1) else f for f in fields]


@settings(deadline=None, max_examples=10)
@given(kind=st.sampled_from(["binary", "ternary", "int8"]), lanes=st.sampled_from([2, 4]),
       input_size=st.integers(1, 11), layers=st.integers(1, 2), seed=st.integers(0, 100))
def test_weight_image_pads_layer_0_input_columns_with_the_pad_code(kind, lanes, input_size, layers, seed):
    model = lower_stack(random_stack(4, input_size, layers, 2, kind=kind, seed=seed))
    config = AccelConfig.for_model(model, lanes=lanes)
    words = images.weight_words(config, model)
    assert len(words) == config.weight_words
    rows = [c for w in words for c in _decode(w, lanes, kind)]
    pos = 0
    for index, layer in enumerate(model.layers):
        width = config.padded_input(index) + layer.hidden
        block = np.array(rows[pos:pos + 4 * layer.hidden * width]).reshape(4 * layer.hidden, width)
        pos += block.size
        order = images.onnx_rows(layer.hidden)
        x_in = layer.w_codes.shape[1]
        np.testing.assert_array_equal(block[:, :x_in], layer.w_codes[order])
        assert np.all(block[:, x_in:config.padded_input(index)] == images.PAD_CODE[kind])
        np.testing.assert_array_equal(block[:, config.padded_input(index):], layer.r_codes[order])
    assert pos == len(rows)


@pytest.mark.parametrize("kind", ["binary", "ternary", "int8"])
def test_a_pad_slot_contributes_nothing_whatever_its_code(kind):
    """x = 0 in a pad slot: a binary -1 code gives ~0 = -1 plus a carry of 1, +1 gives 0 — either sums to 0."""
    codes = [-1, 1] if kind == "binary" else [-1, 0, 1] if kind == "ternary" else [-127, 0, 127]
    dut = Lanes(len(codes), 8, kind)

    def drive(c):
        return [*((v, 0) for v in dut.values), *((dut.codes[i], encode_code(w, kind)) for i, w in enumerate(codes))]

    trace = run_cycles(dut, 2, drive, [*dut.terms, dut.carries])
    assert sum(trace[1][:len(codes)]) + trace[1][len(codes)] == 0


PADDED = {  # input not a multiple of lanes: tails of 1, 2, 3 lanes, one- and two-chunk banks, deeper layers
    "x5-lanes2": dict(hidden=4, input_size=5, layers=1, classes=3, lanes=2),
    "x7-lanes4-binary": dict(hidden=4, input_size=7, layers=1, classes=2, lanes=4, kind="binary"),
    "x1-lanes4": dict(hidden=4, input_size=1, layers=1, classes=2, lanes=4),
    "x3-lanes4-hidden-out": dict(hidden=4, input_size=3, layers=1, classes=0, lanes=4),
    "x11-lanes4-two-layers": dict(hidden=8, input_size=11, layers=2, classes=3, lanes=4),
    "x9-lanes8-every-step": dict(hidden=8, input_size=9, layers=1, classes=9, lanes=8, every_step=True),
    "x6-lanes4-spram": dict(hidden=4, input_size=6, layers=1, classes=2, lanes=4, memory="spram"),
    "x5-lanes2-int8": dict(hidden=4, input_size=5, layers=1, classes=2, lanes=2, int8=True),
}


@pytest.mark.parametrize("case", sorted(PADDED))
def test_padded_accelerator_is_bit_exact_and_takes_expected_cycles(case):
    config, result, steps = _run(**PADDED[case])
    assert config.padded_input() > config.input
    assert result.cycles[0] == config.expected_cycles(steps)


@settings(deadline=None, max_examples=4)
@given(hidden=st.sampled_from([4, 8]), input_size=st.sampled_from([1, 3, 5, 6, 7, 9]), lanes=st.sampled_from([2, 4]),
       layers=st.integers(1, 2), kind=st.sampled_from(["binary", "ternary"]), every_step=st.booleans(),
       seed=st.integers(0, 1000))
def test_random_padded_accelerators(hidden, input_size, lanes, layers, kind, every_step, seed):
    config, result, steps = _run(hidden, input_size, layers, 2, lanes, kind=kind, seed=seed, steps=2,
                                 every_step=every_step)
    assert result.cycles[0] == config.expected_cycles(steps)


@pytest.mark.parametrize("pad", [-1, 1])
def test_pad_slots_read_zero_in_every_sequence(monkeypatch, pad):
    """With a nonzero code in the pad columns the outputs are bit-exact only if every pad slot reads 0: in the
    first sequence (the memory's initial contents) and in each later one, with stalled streams too."""
    monkeypatch.setitem(images.PAD_CODE, "ternary", pad)
    model = lower_stack(random_stack(4, 5, 1, 3, seed=3), options=LoweringOptions())
    config = AccelConfig.for_model(model, lanes=4)
    assert images.weight_words(config, model)[1] >> 2 & 3 == pad & 3  # row 0's second chunk: codes 4, pad, pad, pad
    rng = np.random.default_rng(3)
    from hwgen.hw.amaranth_sim import simulate

    seqs = [model.quantize_input(rng.uniform(-2, 2, (int(rng.integers(1, 4)), 5))) for _ in range(4)]
    for kw in ({}, dict(in_valid_pattern=(1, 0, 1, 1, 0), out_ready_pattern=(0, 1, 1))):
        result = simulate(config, seqs, **kw)
        for seq, out in zip(seqs, result.outputs):
            np.testing.assert_array_equal(out, config.reference(model, seq))
