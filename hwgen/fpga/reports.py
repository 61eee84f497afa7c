"""Utilisation and timing from nextpnr, checked against the board and the requested clock.

nextpnr's ``--report`` JSON gives used/available per cell type and the achieved Fmax per
clock; when placement fails for lack of cells there is no JSON, so the "Device
utilisation" table of its log is read instead (it is printed before placement).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from hwgen.errors import HwgenError
from hwgen.fpga.boards import Board


class TimingError(HwgenError):
    """The design does not reach the requested clock."""


class ResourceError(HwgenError):
    """The design needs more of a resource than the board has."""


@dataclass(frozen=True)
class Usage:
    name: str          # LC, EBR, SPRAM, DSP
    used: int
    available: int

    @property
    def fraction(self) -> float:
        return self.used / self.available if self.available else 0.0


@dataclass(frozen=True)
class BuildReport:
    """What one board build gave: resources, Fmax, the clock asked for, and where the files are."""

    board: str
    clock_mhz: float
    fmax_mhz: float
    usage: tuple[Usage, ...]
    seconds: float = 0.0
    bitstream: str = ""
    details: dict = field(default_factory=dict, compare=False)

    def usage_of(self, name: str) -> Usage:
        return next(u for u in self.usage if u.name == name)

    @property
    def slack_ok(self) -> bool:
        return self.fmax_mhz >= self.clock_mhz

    def to_json(self) -> dict:
        return {"board": self.board, "clock_mhz": self.clock_mhz, "fmax_mhz": round(self.fmax_mhz, 2),
                "timing": "met" if self.slack_ok else "FAILED", "build_seconds": round(self.seconds, 1),
                "bitstream": self.bitstream,
                "utilisation": {u.name: {"used": u.used, "available": u.available} for u in self.usage},
                **self.details}


_LOG_ROW = re.compile(r"^Info:\s+([A-Z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%")


def usage_from_log(board: Board, log: Path) -> tuple[Usage, ...]:
    """The "Device utilisation" table of a nextpnr log (present even when placement fails)."""
    rows = {}
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            match = _LOG_ROW.match(line)
            if match:
                rows[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    return tuple(Usage(r.name, *rows.get(r.cell, (0, r.capacity))) for r in board.resources if r.capacity)


def check_resources(board: Board, usage: tuple[Usage, ...], hint: str = "") -> None:
    over = [u for u in usage if u.used > u.available]
    if over:
        worst = max(over, key=lambda u: u.fraction)
        listing = ", ".join(f"{u.name} {u.used}/{u.available}" for u in over)
        raise ResourceError(f"the design does not fit {board.description}: {listing} "
                            f"({worst.name} is {worst.fraction:.0%} of the device){'; ' + hint if hint else ''}")


def usage_from_report(board: Board, data: dict) -> tuple[Usage, ...]:
    """Placed cells per resource of the board from nextpnr's ``--report`` JSON (parsed)."""
    util = data.get("utilization", {})
    return tuple(Usage(r.name, int(util.get(r.cell, {}).get("used", 0)), r.capacity)
                 for r in board.resources if r.capacity)


def fmax_from_report(data: dict) -> Optional[float]:
    """The achieved Fmax of the slowest clock domain named ``sync`` (else of any clock) in nextpnr's ``--report`` JSON;
    None when nothing is clocked."""
    fmax_table = data.get("fmax", {})
    sync = [v for k, v in fmax_table.items() if "sync" in k] or list(fmax_table.values())
    return min(float(v["achieved"]) for v in sync) if sync else None


def read_report(board: Board, report_json: Path, clock_mhz: float, seconds: float = 0.0,
                bitstream: str = "") -> BuildReport:
    data = json.loads(Path(report_json).read_text())
    fmax = fmax_from_report(data)
    if fmax is None:
        raise HwgenError(f"{report_json}: nextpnr reported no clock; the design has no timed paths")
    return BuildReport(board.name, clock_mhz, fmax, usage_from_report(board, data), seconds, bitstream)


def check_timing(report: BuildReport) -> None:
    if not report.slack_ok:
        raise TimingError(f"timing fails on {report.board}: Fmax {report.fmax_mhz:.2f} MHz < requested clock "
                          f"{report.clock_mhz:.2f} MHz; build with --clock {int(report.fmax_mhz * 0.95)} or lower "
                          f"(or fewer lanes)")


def format_report(report: BuildReport, extra: Optional[dict] = None) -> str:
    """A plain-text report a person reads first."""
    lines = [f"hwgen FPGA build — {report.board}", ""]
    lines.append(f"clock      {report.clock_mhz:8.2f} MHz requested")
    lines.append(f"Fmax       {report.fmax_mhz:8.2f} MHz achieved   "
                 f"({'timing met' if report.slack_ok else 'TIMING FAILED'}, "
                 f"margin {report.fmax_mhz / report.clock_mhz - 1:+.0%})")
    lines.append(f"build time {report.seconds:8.1f} s")
    lines.append("")
    lines.append(f"{'resource':<8} {'used':>7} {'available':>10} {'share':>7}")
    for u in report.usage:
        bar = "#" * round(20 * min(u.fraction, 1.0))
        lines.append(f"{u.name:<8} {u.used:>7} {u.available:>10} {u.fraction:>7.1%}  {bar}")
    if extra:
        lines.append("")
        width = max(len(k) for k in extra)
        lines += [f"{key:<{width}}  {value}" for key, value in extra.items()]
    if report.bitstream:
        lines += ["", f"bitstream  {report.bitstream}"]
    return "\n".join(lines) + "\n"


def plot_utilisation(report: BuildReport, path: Path) -> Path:
    """A horizontal bar chart of each resource's share of the device, Fmax vs clock in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [u.name for u in report.usage]
    shares = [100 * u.fraction for u in report.usage]
    fig, ax = plt.subplots(figsize=(6, 2.6))
    bars = ax.barh(names, shares, color=["tab:red" if s > 100 else "tab:blue" for s in shares])
    for bar, u in zip(bars, report.usage):
        ax.text(min(bar.get_width(), 100) + 1, bar.get_y() + bar.get_height() / 2, f"{u.used}/{u.available}",
                va="center", fontsize=8)
    ax.set_xlim(0, 120)
    ax.axvline(100, color="grey", lw=0.8, ls="--")
    ax.invert_yaxis()
    ax.set_xlabel("% of device")
    ax.set_title(f"{report.board}: Fmax {report.fmax_mhz:.1f} MHz vs clock {report.clock_mhz:.1f} MHz", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
