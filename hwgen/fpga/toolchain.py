"""Run the open toolchain (yowasp yosys → nextpnr → icepack/ecppack) through Amaranth's build plan.

The plan is data (``platform.prepare`` returns the files and the script); we write its
files into the build folder ourselves and run its script there with the yowasp tools
in the environment, showing the current tool step and elapsed time while it runs.
nextpnr writes a JSON report (``--report``) that :mod:`hwgen.fpga.reports` reads.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hwgen.errors import HwgenError
from hwgen.fpga.boards import Board

TOP = "top"

#: (file that appears when the step starts, what the step is), latest first.
_STEPS = (
    ("{top}.bin", "pack: done"),
    ("{top}.bit", "pack: done"),
    ("{top}.asc", "icepack: bitstream"),
    ("{top}.config", "ecppack: bitstream"),
    ("{top}.tim", "nextpnr: place and route"),
    ("{top}.rpt", "yosys: synthesis"),
)


class ToolchainError(HwgenError):
    """yosys or nextpnr failed (the message carries the tail of the tool's log)."""


@dataclass(frozen=True)
class BuildProducts:
    build_dir: Path
    bitstream: Path
    report_json: Path
    nextpnr_log: Path
    yosys_log: Path
    seconds: float


def _write_plan(plan, build_dir: Path) -> None:
    for name, content in plan.files.items():
        path = build_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def _current_step(build_dir: Path) -> str:
    for pattern, label in _STEPS:
        path = build_dir / pattern.format(top=TOP)
        if path.exists():
            if label.startswith("nextpnr"):
                lines = path.read_text(errors="replace").splitlines()
                phase = next((ln.split("Info:", 1)[1].strip() for ln in reversed(lines)
                              if ln.startswith("Info:") and ("Running" in ln or "placer" in ln or "router" in ln)), "")
                return f"{label} — {phase[:60]}" if phase else label
            return label
    return "amaranth: elaborate"


def _log_tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


def run_build(board: Board, top, build_dir: Path, *, seed: int = 1, quiet: bool = False) -> BuildProducts:
    """Synthesise, place and route ``top`` for ``board`` into ``build_dir``.

    Timing is checked by the caller from the report (``--timing-allow-fail``), so a
    slow design still gives its Fmax and utilisation instead of only an error.
    """
    from rich.console import Console

    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    env = board.toolchain_env()
    platform = board.platform()
    start = time.monotonic()
    # iCE40: map multipliers to SB_MAC16 (synth_ice40 leaves them in LUTs without -dsp).
    synth_opts = "-dsp" if board.family == "ice40" else ""
    plan = platform.prepare(top, name=TOP, synth_opts=synth_opts,
                            nextpnr_opts=f"--report {TOP}.report.json --timing-allow-fail --seed {seed}",
                            verbose=False)
    _write_plan(plan, build_dir)
    for stale in build_dir.glob(f"{TOP}.*"):
        if stale.suffix in (".bin", ".bit", ".asc", ".config", ".tim", ".rpt") or stale.name.endswith(".report.json"):
            stale.unlink()
    log_path = build_dir / "toolchain.log"
    console = Console(stderr=True, quiet=quiet)
    with open(log_path, "w") as log, console.status("", spinner="dots") as status:
        proc = subprocess.Popen(["sh", f"{plan.script}.sh"], cwd=build_dir, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        while proc.poll() is None:
            status.update(f"[bold]{board.name}[/]: {_current_step(build_dir)}  "
                          f"[dim]{time.monotonic() - start:5.0f} s[/]")
            time.sleep(0.5)
    seconds = time.monotonic() - start
    nextpnr_log, yosys_log = build_dir / f"{TOP}.tim", build_dir / f"{TOP}.rpt"
    if proc.returncode != 0:
        failed = nextpnr_log if nextpnr_log.exists() else yosys_log if yosys_log.exists() else log_path
        raise ToolchainError(f"the {board.family} toolchain failed in {build_dir} (see {failed.name}):\n"
                             f"{_log_tail(failed)}\n{_log_tail(log_path, 5)}")
    bitstream = build_dir / (f"{TOP}.bin" if board.family == "ice40" else f"{TOP}.bit")
    return BuildProducts(build_dir, bitstream, build_dir / f"{TOP}.report.json", nextpnr_log, yosys_log, seconds)
