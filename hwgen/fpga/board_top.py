"""The design a board carries: clocking (oscillator or PLL), reset, UART pins, LED, HostLink.

:func:`plan_clock` decides the clock the board will really run at (the oscillator, or
the nearest PLL output to ``--clock``), so the UART divisor and the timing check both use
that number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Instance, Module, ResetSignal, Signal
from amaranth.lib import io

from hwgen.errors import HwgenError
from hwgen.fpga.boards import Board
from hwgen.fpga.link import HostLink
from hwgen.fpga.pll import ECP5PLL, ICE40PLL, ecp5_pll, ice40_pll

DEFAULT_BAUD = 115200


@dataclass(frozen=True)
class ClockPlan:
    hz: float                                   # the frequency the design runs at
    pll: Optional[Union[ICE40PLL, ECP5PLL]]     # None: straight from the oscillator
    baud: int = DEFAULT_BAUD

    @property
    def divisor(self) -> int:
        return round(self.hz / self.baud)


def plan_clock(board: Board, mhz: Optional[float], baud: int = DEFAULT_BAUD) -> ClockPlan:
    """The oscillator when ``mhz`` is None or equal to it, else the nearest PLL output."""
    if mhz is not None and mhz <= 0:
        raise HwgenError(f"--clock {mhz:g}: a clock must be a positive number of MHz")
    if mhz is None or abs(mhz * 1e6 - board.osc_hz) < 1:
        plan = ClockPlan(board.osc_hz, None, baud)
    else:
        pll = (ice40_pll if board.family == "ice40" else ecp5_pll)(board.osc_hz, mhz * 1e6)
        plan = ClockPlan(pll.f_out, pll, baud)
    if plan.divisor < 4:
        raise HwgenError(f"a {plan.hz / 1e6:g} MHz clock is too slow for {baud} baud; use a faster clock")
    return plan


class BoardTop(Elaboratable):
    """Pins and clocks around a :class:`HostLink` whose divisor matches ``clock``."""

    def __init__(self, board: Board, link: HostLink, clock: ClockPlan):
        if link.divisor != clock.divisor:
            raise ValueError(f"link divisor {link.divisor} does not match the clock plan's {clock.divisor}")
        self.board, self.link, self.clock = board, link, clock

    def elaborate(self, platform):
        m = Module()
        if self.clock.pll is not None:
            add_pll_domain(m, platform, self.clock)
        m.submodules.link = link = self.link
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += [link.rx.eq(rx.i), tx.o.eq(link.tx), led.o.eq(link.busy)]
        return m


def add_pll_domain(m: Module, platform, clock: ClockPlan) -> None:
    """A sync domain on the PLL output, held in reset until the PLL locks and ~15 us after."""
    pll = clock.pll
    clk_in = platform.request(platform.default_clk, dir="-")
    clk = Signal()
    lock = Signal()
    if isinstance(pll, ICE40PLL):
        m.submodules.pll = Instance(
            "SB_PLL40_PAD", p_FEEDBACK_PATH="SIMPLE", p_DIVR=pll.divr, p_DIVF=pll.divf, p_DIVQ=pll.divq,
            p_FILTER_RANGE=pll.filter_range, i_PACKAGEPIN=clk_in.io, i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=clk, o_LOCK=lock)
    else:
        m.submodules.clk_buf = clk_buf = io.Buffer("i", clk_in)
        m.submodules.pll = Instance(
            "EHXPLLL", p_CLKI_DIV=pll.clki_div, p_CLKFB_DIV=pll.clkfb_div, p_CLKOP_DIV=pll.clkop_div,
            p_CLKOP_CPHASE=pll.clkop_cphase, p_CLKOP_FPHASE=0, p_CLKOP_ENABLE="ENABLED",
            p_FEEDBK_PATH="CLKOP", p_OUTDIVIDER_MUXA="DIVA", p_PLLRST_ENA="DISABLED",
            p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
            i_CLKI=clk_buf.i, i_CLKFB=clk, i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
            i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0,
            o_CLKOP=clk, o_LOCK=lock)
    # Block RAM on iCE40 reads as zero for ~3 us after configuration: count past it.
    delay = int(15e-6 * clock.hz)
    timer = Signal(range(delay + 1))
    m.domains.sync = ClockDomain("sync")
    m.domains.por = ClockDomain("por", reset_less=True, local=True)
    in_reset = Signal(init=1)  # registered: the reset's fanout starts at a flop, not at a compare
    m.d.por += in_reset.eq(timer != delay)
    m.d.comb += [ClockSignal("sync").eq(clk), ClockSignal("por").eq(clk), ResetSignal("sync").eq(in_reset)]
    with m.If(~lock):
        m.d.por += timer.eq(0)
    with m.Elif(timer != delay):
        m.d.por += timer.eq(timer + 1)
    platform.add_clock_constraint(clk, clock.hz)
