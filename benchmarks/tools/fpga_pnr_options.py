"""nextpnr-ice40 options on one board design: synthesise once, place and route at each option set and seed.

The board top of `benchmarks/fpga_boards.py` (H ternary, input = H, one layer, 10-class head, the
board default lanes × gate rows, PLL at --clock MHz) or its 24-bit accumulator (`--hidden 0`) is
synthesised by yosys once (`synth_ice40 -dsp`, plus `--synth-flags`); nextpnr then places and
routes that one netlist at every `--seeds` seed for each option set (`--options`, one quoted string
each, "" for the flow's defaults). Printed per build: LCs, Fmax and the worst clk → clk path (its
delay, how much of it is routing, and its end cells); per option set the median over the seeds.
A setting that raises the median here is one to try in `hwgen.fpga.synth` (the flow's command
lines), where `benchmarks/fpga_boards.py` builds every design and the accumulator with it.

    .venv/bin/python benchmarks/tools/fpga_pnr_options.py --hidden 256 --seeds 1 2 3 \\
        --options "" "--placer-heap-critexp 1" [--synth-flags "-device u"] [--work runs/fpga_pnr_options]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: fpga_boards

from fpga_boards import Accumulator24

from hwgen.fpga.board_top import plan_clock
from hwgen.fpga.boards import get_board
from hwgen.fpga.flow import design_for
from hwgen.fpga.synth import SynthOptions, device_for, nextpnr_args
from hwgen.fpga.toolchain import TOP, _write_plan
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack


def synthesise(hidden: int, clock_mhz: float, work: Path, synth_flags: str) -> Path:
    """The board top's netlist (top.json) and constraints (top.pcf) in `work`."""
    board = get_board("icebreaker")
    clock = plan_clock(board, clock_mhz)
    if hidden:
        stack = random_stack(hidden, hidden, classes=10, kind="ternary", seed=0)
        model = lower_stack(stack, None, LoweringOptions(weights="auto"))
        design = design_for(model, board, clock_mhz=clock_mhz, weights_kind="ternary")
        print(f"H={hidden} ternary: lanes {design.config.lanes} × {design.config.gate_rows} rows, "
              f"{design.config.cycles_per_step()} cycles/step", flush=True)
        top = design.top()
    else:
        top = Accumulator24(clock)
    work.mkdir(parents=True, exist_ok=True)
    _write_plan(board.platform().prepare(top, name=TOP, verbose=False), work)
    (work / f"{TOP}.ys").write_text(f"read_rtlil {TOP}.il\nsynth_ice40 -dsp {synth_flags} -top {TOP}\n"
                                    f"write_json {TOP}.json\n")
    env = board.toolchain_env()
    start = time.monotonic()
    subprocess.run([env["YOSYS"], "-q", "-l", f"{TOP}.rpt", f"{TOP}.ys"], cwd=work, env=env, check=True)
    print(f"yosys: {time.monotonic() - start:.0f} s", flush=True)
    return work


def worst_path(report: dict) -> str:
    """The worst clk → clk path: delay, routing share, first and last cell."""
    for path in report.get("critical_paths", []):
        steps = path["path"]
        if path["from"] == path["to"] == "posedge clk" and steps:
            total = sum(s["delay"] for s in steps)
            routing = sum(s["delay"] for s in steps if s["type"] == "routing")
            return f"{total:.2f} ns ({routing:.2f} routing) {steps[0]['from']['cell']} -> {steps[-1]['to']['cell']}"
    return "-"


def place_and_route(net: Path, out: Path, seed: int, options: list[str]) -> tuple[int, float | None, str]:
    """nextpnr on net/top.json into `out` (a folder in `net`: the yowasp tools see the folder they run in) at `seed`
    with the flow's arguments plus `options`: LCs, Fmax, worst path (Fmax None when nextpnr failed)."""
    board = get_board("icebreaker")
    env = board.toolchain_env()
    out.mkdir(parents=True, exist_ok=True)
    args = nextpnr_args(SynthOptions(device=device_for(board), seed=seed), net, TOP, net / f"{TOP}.pcf")
    args = [f"{out.name}/{a}" if a in (f"{TOP}.report.json", f"{TOP}.tim") else a for a in args]
    proc = subprocess.run([env["NEXTPNR_ICE40"], *args, *options], cwd=net, capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode:
        return 0, None, "failed: " + " ".join(proc.stderr.strip().splitlines()[-2:])
    report = json.loads((out / f"{TOP}.report.json").read_text())
    fmax = min(v["achieved"] for v in report["fmax"].values())
    return report["utilization"]["ICESTORM_LC"]["used"], fmax, worst_path(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=256, help="H of the ternary board design; 0: the accumulator")
    parser.add_argument("--clock", type=float, default=48.0, help="PLL clock the design is constrained to")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--options", nargs="+", default=[""], help="nextpnr option sets, one quoted string each")
    parser.add_argument("--synth-flags", default="", help="extra synth_ice40 flags (e.g. \"-device u\")")
    parser.add_argument("--work", type=Path, default=Path("runs/fpga_pnr_options"))
    args = parser.parse_args(argv)
    name = f"H{args.hidden}" if args.hidden else "acc24"
    net = synthesise(args.hidden, args.clock, args.work / name, args.synth_flags)
    summary = []
    for index, option in enumerate(args.options):
        fmaxes = []
        for seed in args.seeds:
            start = time.monotonic()
            lcs, fmax, worst = place_and_route(net, args.work / name / f"opt{index}_seed{seed}", seed,
                                               shlex.split(option))
            shown = f"{fmax:.2f} MHz" if fmax else "no result"
            print(f"{name} '{option}' seed {seed}: {lcs} LCs, {shown} ({time.monotonic() - start:.0f} s); "
                  f"worst {worst}", flush=True)
            if fmax:
                fmaxes.append(fmax)
        median = statistics.median(fmaxes) if fmaxes else 0.0
        summary.append(f"{name} '{option}': Fmax " + " / ".join(f"{f:.1f}" for f in fmaxes) + f", median {median:.1f}")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
