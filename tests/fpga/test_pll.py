import pytest
from hypothesis import given, settings, strategies as st

from hwgen.errors import HwgenError
from hwgen.fpga.pll import ecp5_pll, ice40_pll


@settings(deadline=None, max_examples=25)
@given(mhz=st.floats(20, 200))
def test_ice40_pll_within_datasheet_limits(mhz):
    pll = ice40_pll(12e6, mhz * 1e6)
    f_pfd = 12e6 / (pll.divr + 1)
    assert 10e6 <= f_pfd <= 133e6
    assert 533e6 <= f_pfd * (pll.divf + 1) <= 1066e6
    assert abs(pll.f_out - mhz * 1e6) / (mhz * 1e6) < 0.02


def test_ice40_pll_exact_when_possible():
    assert ice40_pll(12e6, 48e6).f_out == 48e6
    assert ice40_pll(12e6, 30e6).f_out == 30e6


@settings(deadline=None, max_examples=15)
@given(mhz=st.floats(20, 200))
def test_ecp5_pll_vco_in_range(mhz):
    pll = ecp5_pll(25e6, mhz * 1e6)
    assert 400e6 <= pll.f_out * pll.clkop_div <= 800e6
    assert 25e6 / pll.clki_div >= 3.125e6
    # CLKOP feedback: f_out is a multiple of a PFD >= 3.125 MHz, so not every clock is exact
    assert abs(pll.f_out - mhz * 1e6) / (mhz * 1e6) < 0.07
    assert ecp5_pll(25e6, 50e6).f_out == 50e6 and ecp5_pll(25e6, 100e6).f_out == 100e6


def test_pll_out_of_range_is_user_error():
    with pytest.raises(HwgenError, match="16..275 MHz"):
        ice40_pll(12e6, 500e6)
