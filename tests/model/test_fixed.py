import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwgen.errors import HwgenError
from hwgen.model.fixed import ActivationTable, FixedFormat, bits_for, shift_round


@settings(deadline=None, max_examples=30)
@given(x=st.floats(-100, 100), bits=st.integers(4, 16), frac=st.integers(0, 10))
def test_quantize_rounds_to_nearest_and_saturates(x, bits, frac):
    f = FixedFormat(bits, frac)
    q = int(f.quantize(np.array(x)))
    assert f.min <= q <= f.max
    if f.min * f.step <= x <= f.max * f.step:
        assert abs(q * f.step - x) <= f.step / 2 + 1e-12


@settings(deadline=None, max_examples=30)
@given(x=st.integers(-(1 << 40), 1 << 40), shift=st.integers(0, 20))
def test_shift_round_is_round_half_up(x, shift):
    assert int(shift_round(np.int64(x), shift)) == int(np.floor(x / 2**shift + 0.5))


def test_bits_for_holds_the_bound():
    for bound in (0, 1, 127, 128, 1000, 1 << 20):
        b = bits_for(bound)
        assert -(1 << (b - 1)) <= -bound and bound <= (1 << (b - 1)) - 1
        assert b == 2 or bound > (1 << (b - 2)) - 1


@pytest.mark.parametrize("name,fn", [("sigmoid", lambda v: 1 / (1 + np.exp(-v))), ("tanh", np.tanh)])
@pytest.mark.parametrize("index,sample", [(9, 9), (11, 9), (11, 11)])
def test_tables_track_the_function_within_half_a_sample(name, fn, index, sample):
    gate, act = FixedFormat(12, 8), FixedFormat(8, 7)
    table = ActivationTable.build(name, gate, act, index, sample)
    assert len(table.values) == 1 << index and table.sample_shift == index - sample
    g = np.arange(gate.min, gate.max + 1)
    err = np.abs(table.lookup(g) * act.step - fn(g * gate.step))
    slope = 0.25 if name == "sigmoid" else 1.0
    assert err.max() <= slope * 2.0 ** (12 - sample - 8) / 2 + act.step  # half a sample of slope, plus rounding/clipping
    assert np.all(np.diff(table.values) >= 0)
    assert np.all(table.values.reshape(-1, 1 << table.sample_shift) == table.values[::1 << table.sample_shift, None])


def test_finer_tanh_samples_cut_the_error_near_zero():
    gate, act = FixedFormat(12, 8), FixedFormat(8, 7)
    g = np.arange(-256, 256)  # |x| < 1, where tanh is steepest; each code stands for [g, g+1) gate steps
    err = {s: np.abs(ActivationTable.build("tanh", gate, act, 11, s).lookup(g) * act.step - np.tanh((g + 0.5) * gate.step)).mean()
           for s in (9, 10)}
    assert err[10] < 0.6 * err[9]


def test_tables_are_symmetric_about_zero():
    """values[~k] = -values[k] (tanh) and 2**frac - values[k] (σ, unless clipped at 1.0): what the hardware folds."""
    gate, act = FixedFormat(12, 8), FixedFormat(8, 7)
    tanh = ActivationTable.build("tanh", gate, act, 11, 10).values
    sig = ActivationTable.build("sigmoid", gate, act, 11, 9).values
    np.testing.assert_array_equal(tanh[::-1], -tanh)
    assert tanh.min() == -act.max
    unclipped = (sig < act.max) & (sig[::-1] < act.max)
    np.testing.assert_array_equal(sig[unclipped], (1 << act.frac) - sig[::-1][unclipped])


def test_unknown_table_and_bad_widths():
    with pytest.raises(HwgenError, match="no activation table 'relu'"):
        ActivationTable.build("relu", FixedFormat(12, 8), FixedFormat(8, 7), 9)
    with pytest.raises(HwgenError, match="wider than the 12-bit gate"):
        ActivationTable.build("tanh", FixedFormat(12, 8), FixedFormat(8, 7), 13)
    with pytest.raises(HwgenError, match="sample_bits 10 must be in 1..9"):
        ActivationTable.build("tanh", FixedFormat(12, 8), FixedFormat(8, 7), 9, 10)
    with pytest.raises(HwgenError, match="2..48 bits"):
        FixedFormat(1, 0)
