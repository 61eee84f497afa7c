"""The board build: Amaranth's platform gives the RTLIL and the pin/clock constraints, :mod:`hwgen.fpga.synth` runs
yosys → nextpnr → icepack/ecppack on them.

``platform.prepare`` returns the build plan as data; we write its design and constraint files
into the build folder and hand them to :func:`hwgen.fpga.synth.synthesize` (the one place
that knows the tools' command lines — the same ones Amaranth's build script would run), showing
the current tool step and elapsed time while it runs. nextpnr writes a JSON report
(``--report``) that :mod:`hwgen.fpga.reports` reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hwgen.fpga.boards import Board
from hwgen.fpga.synth import SynthOptions, SynthResult, ToolchainError, device_for, synthesize

__all__ = ["TOP", "BuildProducts", "ToolchainError", "board_options", "run_build"]

TOP = "top"


@dataclass(frozen=True)
class BuildProducts:
    build_dir: Path
    bitstream: Path
    report_json: Path
    nextpnr_log: Path
    yosys_log: Path
    seconds: float
    synth: Optional[SynthResult] = None


def _write_plan(plan, build_dir: Path) -> list[Path]:
    """The plan's design and constraint files (not its build scripts: synthesize runs the tools); returns them."""
    written = []
    for name, content in plan.files.items():
        if name.startswith(f"build_{TOP}.") or name.endswith(".ys"):
            continue
        path = build_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        written.append(path)
    return written


#: Seeds a board build's placement may take in turn (`SynthOptions.placement_tries`): the H=256 ternary board top
#: (4507 of the UP5K's 5280 LCs) finds no legal placement at seed 1 and places at seed 2.
PLACEMENT_TRIES = 3


def board_options(board: Board, seed: int = 1, placement_tries: int = PLACEMENT_TRIES) -> SynthOptions:
    """The options of a board build: the board's device, multipliers in DSP blocks (synth_ice40 -dsp, synth_ecp5's
    default), the clocks from the platform's constraints."""
    return SynthOptions(device=device_for(board), seed=seed, multipliers="dsp", placement_tries=placement_tries)


def run_build(board: Board, top, build_dir: Path, *, seed: int = 1, quiet: bool = False,
              placement_tries: int = PLACEMENT_TRIES) -> BuildProducts:
    """Synthesise, place and route ``top`` for ``board`` into ``build_dir`` and pack its bitstream; placement starts
    at ``seed`` and takes up to ``placement_tries`` seeds (1: exactly ``seed``, as a per-seed measurement needs;
    ``products.synth.files.seed`` says which placed).

    Timing is checked by the caller from the report (``--timing-allow-fail``), so a
    slow design still gives its Fmax and utilisation instead of only an error.
    """
    from rich.console import Console

    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    files = _write_plan(board.platform().prepare(top, name=TOP, verbose=False), build_dir)
    design = build_dir / f"{TOP}.il"
    constraints = next(p for p in files if p.suffix in (".pcf", ".lpf"))
    console = Console(stderr=True, quiet=quiet)
    with console.status("", spinner="dots") as status:
        def progress(step: str) -> None:
            status.update(f"[bold]{board.name}[/]: {step}  [dim]{time.monotonic() - start:5.0f} s[/]")

        result = synthesize([design], board_options(board, seed, placement_tries), work_dir=build_dir, top=TOP,
                            constraints=constraints, bitstream=True, progress=progress)
    f = result.files
    assert f.bitstream and f.report_json and f.nextpnr_log
    return BuildProducts(build_dir, f.bitstream, f.report_json, f.nextpnr_log, f.yosys_log,
                         time.monotonic() - start, result)
