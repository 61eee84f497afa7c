"""PLL settings for a requested clock: the nearest frequency each FPGA family can make.

Pure arithmetic (what icepll / ecppll do), so the chosen clock is known before the
build and the UART divisor is computed from the clock the board will really run at.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwgen.errors import HwgenError


@dataclass(frozen=True)
class ICE40PLL:
    """SB_PLL40 in SIMPLE feedback: f_out = f_in * (divf + 1) / ((divr + 1) * 2**divq)."""

    f_in: float
    divr: int
    divf: int
    divq: int
    filter_range: int

    @property
    def f_out(self) -> float:
        return self.f_in * (self.divf + 1) / ((self.divr + 1) * 2 ** self.divq)


@dataclass(frozen=True)
class ECP5PLL:
    """EHXPLLL with CLKOP feedback: f_out = f_in * clkfb_div / clki_div, VCO = f_out * clkop_div."""

    f_in: float
    clki_div: int
    clkfb_div: int
    clkop_div: int

    @property
    def f_out(self) -> float:
        return self.f_in * self.clkfb_div / self.clki_div

    @property
    def clkop_cphase(self) -> int:
        return self.clkop_div - 1


def _filter_range(f_pfd: float) -> int:
    for limit, value in ((17e6, 1), (26e6, 2), (44e6, 3), (66e6, 4), (101e6, 5)):
        if f_pfd < limit:
            return value
    return 6


def ice40_pll(f_in: float, f_out: float) -> ICE40PLL:
    best = None
    for divr in range(16):
        f_pfd = f_in / (divr + 1)
        if not 10e6 <= f_pfd <= 133e6:
            continue
        for divq in range(1, 7):
            for divf in range(128):
                f_vco = f_pfd * (divf + 1)
                if not 533e6 <= f_vco <= 1066e6:
                    continue
                pll = ICE40PLL(f_in, divr, divf, divq, _filter_range(f_pfd))
                if best is None or abs(pll.f_out - f_out) < abs(best.f_out - f_out):
                    best = pll
    if best is None or not 16e6 <= best.f_out <= 275e6:
        raise HwgenError(f"--clock {f_out / 1e6:g} MHz: the iCE40 PLL makes 16..275 MHz from "
                         f"{f_in / 1e6:g} MHz; choose a clock in that range")
    return best


def ecp5_pll(f_in: float, f_out: float) -> ECP5PLL:
    best = None
    for clki in range(1, 129):
        if f_in / clki < 3.125e6:
            break
        for clkfb in range(1, 81):
            out = f_in * clkfb / clki
            for clkop in range(1, 129):
                if 400e6 <= out * clkop <= 800e6:
                    pll = ECP5PLL(f_in, clki, clkfb, clkop)
                    if best is None or abs(pll.f_out - f_out) < abs(best.f_out - f_out):
                        best = pll
                    break
    if best is None or not 3.125e6 <= best.f_out <= 400e6:
        raise HwgenError(f"--clock {f_out / 1e6:g} MHz: the ECP5 PLL makes 3.125..400 MHz; choose a clock in that range")
    return best
