"""Whole board designs (UART host link + accelerator) on the iCE40 UP5K: ternary vs int8-MAC.

For H = 64, 128, 256 (input = H, one layer, 10-class head), both weight kinds go through
`hwgen.fpga`'s flow exactly as `hwgen build --target fpga --board icebreaker` does (weights in
SPRAM, lanes chosen by the fit check, same seed), with the clock from the PLL at --clock MHz
so nextpnr is pushed to a real target. In the same run a 24-bit accumulator (the narrowest
thing an LSTM accelerator must clock: LFSR input, one carry chain) is built the same way;
its Fmax is the baseline for the ratio `Fmax / Fmax(acc24)`.

Placement noise moves one build's Fmax by a few MHz (5.6 MHz between seeds for one design), so `--seeds 1 2 3` builds every design (and
the accumulator) once per nextpnr seed and reports the median and the best Fmax of each; the ratios
are median ÷ median and best ÷ best against the accumulator built with the same seeds.

Lanes are printed as lanes × gate rows (four gate rows a word: 8 × 4 = 32 ternary codes a cycle, the SPRAMs' word).
Printed per design: LCs, Fmax (median, best), cycles per step, time per step at the median Fmax,
steps/s per LC, and ratios against the ternary design of the same H and against the accumulator.

    .venv/bin/python benchmarks/fpga_boards.py [--hidden 64 128 256] [--kinds ternary int8] [--seeds 1 2 3] [--clock 48]
        [--board icebreaker]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from amaranth.hdl import Elaboratable, Module, Signal, signed
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from hwgen.errors import HwgenError
from hwgen.fpga.board_top import BoardTop, add_pll_domain, plan_clock
from hwgen.fpga.link import HostLink
from hwgen.fpga.boards import get_board
from hwgen.fpga.flow import design_for
from hwgen.fpga.reports import format_report, plot_utilisation, read_report, usage_from_log
from hwgen.fpga.synth import NO_PLACEMENT
from hwgen.fpga.toolchain import ToolchainError, run_build
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack


def lfsr16(m: Module) -> Signal:
    """A 16-bit maximal LFSR stepping every cycle: test inputs that synthesis cannot fold into constants."""
    lfsr = Signal(16, init=1, name="lfsr")
    m.d.sync += lfsr.eq((lfsr << 1) | (lfsr[15] ^ lfsr[14] ^ lfsr[12] ^ lfsr[3]))
    return lfsr


class Accumulator24(Elaboratable):
    """acc += sign-extended 8-bit LFSR value, every cycle; the MSB drives an LED so nothing is removed."""

    def __init__(self, clock):
        self.clock = clock

    def elaborate(self, platform):
        m = Module()
        if self.clock.pll is not None:
            add_pll_domain(m, platform, self.clock)  # same clocking as the accelerator designs
        lfsr = lfsr16(m)
        acc = Signal(24)
        m.d.sync += acc.eq(acc + lfsr[:8].as_signed())
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += led.o.eq(acc[23])
        return m


class EchoStub(wiring.Component):
    """The smallest thing with the accelerator's ports: sums a sequence, outputs the sum.
    Building the host link around it measures the link's own LCs and Fmax."""

    def __init__(self):
        super().__init__({"in_valid": In(1), "in_ready": Out(1), "in_data": In(signed(8)), "in_last": In(1),
                          "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(24)),
                          "out_last": Out(1)})

    def elaborate(self, platform):
        m = Module()
        total = Signal(signed(24))
        m.d.comb += [self.in_ready.eq(~self.out_valid), self.out_data.eq(total), self.out_last.eq(1)]
        with m.If(self.in_valid & self.in_ready):
            m.d.sync += total.eq(total + self.in_data)
            with m.If(self.in_last):
                m.d.sync += self.out_valid.eq(1)
        with m.If(self.out_valid & self.out_ready):
            m.d.sync += [self.out_valid.eq(0), total.eq(0)]
        return m


@dataclass
class Row:
    """One design over all seeds: resources from the first build (packing does not depend on the seed)."""

    name: str
    lcs: int = 0
    fmaxes: list[float] = field(default_factory=list)  # one per placed seed, in --seeds order
    unplaced: list[int] = field(default_factory=list)  # seeds at which nextpnr found no legal placement
    cycles: int = 0
    lanes: int = 0
    gate_rows: int = 1
    ebr: int = 0
    spram: int = 0
    dsp: int = 0
    seconds: float = 0.0  # all builds together
    note: str = ""

    @property
    def fmax(self) -> float:
        """The median over seeds (the figure to judge a change by)."""
        return statistics.median(self.fmaxes) if self.fmaxes else 0.0

    @property
    def fmax_best(self) -> float:
        return max(self.fmaxes, default=0.0)

    @property
    def step_us(self) -> float:
        return self.cycles / self.fmax if self.fmax and self.cycles else float("nan")

    @property
    def steps_per_s_per_lc(self) -> float:
        return 1e6 / self.step_us / self.lcs if self.lcs and self.cycles else float("nan")

    def to_json(self, acc: "Row") -> dict:
        return {**self.__dict__, "fmax_median": self.fmax, "fmax_best": self.fmax_best,
                "ratio_median": self.fmax / acc.fmax if acc.fmax else None,
                "ratio_best": self.fmax_best / acc.fmax_best if acc.fmax_best else None}


def _build(board, top, clock, folder: Path, row: Row, seed: int) -> Row:
    """Build `top` into `folder` at nextpnr `seed` and add it to `row`; report.txt, report.json and
    utilisation.png stay in the folder."""
    try:
        try:
            products = run_build(board, top, folder, seed=seed, quiet=True, placement_tries=1)
        except ToolchainError as err:
            if "Bus error" not in str(err):
                raise
            # yowasp's wasm runtime has crashed ("Bus error") on a loaded machine: build once more.
            print(f"{row.name} seed {seed}: the toolchain crashed (Bus error); building again", flush=True)
            products = run_build(board, top, folder, seed=seed, quiet=True, placement_tries=1)
    except ToolchainError:
        usage = usage_from_log(board, folder / "top.tim")
        over = [f"{u.name} {u.used}/{u.available}" for u in usage if u.used > u.available]
        if not over and NO_PLACEMENT in (folder / "top.tim").read_text(errors="replace"):
            print(f"{row.name} seed {seed}: nextpnr found no legal placement", flush=True)
            row.unplaced.append(seed)  # each seed is one measurement: the flow itself would try the next seed
            if not row.lcs:
                u = {x.name: x.used for x in usage}
                row.lcs, row.ebr, row.spram, row.dsp = u["LC"], u["EBR"], u.get("SPRAM", 0), u["DSP"]
            return row
        if not over:
            raise
        u = {x.name: x.used for x in usage}
        row.lcs, row.ebr, row.spram, row.dsp = u["LC"], u["EBR"], u.get("SPRAM", 0), u["DSP"]
        row.note = f"does not fit the device: {', '.join(over)}"
        return row
    report = read_report(board, products.report_json, clock.hz / 1e6, products.seconds, products.bitstream.name)
    (folder / "report.txt").write_text(format_report(report, {"design": row.name, "seed": seed}))
    (folder / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    plot_utilisation(report, folder / "utilisation.png")
    u = {x.name: x.used for x in report.usage}
    if not row.fmaxes:
        row.lcs, row.ebr, row.spram, row.dsp = u["LC"], u["EBR"], u.get("SPRAM", 0), u["DSP"]
    row.fmaxes.append(report.fmax_mhz)
    row.seconds += products.seconds
    return row


def _build_seeds(board, make_top, clock, work: Path, row: Row, seeds: list[int]) -> Row:
    """Build a fresh top from `make_top()` at each seed into work/<design>/seed<N>."""
    folder = work / row.name.replace(" ", "_").replace("=", "")
    for seed in seeds:
        _build(board, make_top(), clock, folder / f"seed{seed}", row, seed)
        if row.note:
            break
    return row


def _fmax_text(row: Row) -> str:
    runs = "/".join(f"{f:.1f}" for f in row.fmaxes)
    unplaced = f"; no legal placement at seed {', '.join(map(str, row.unplaced))}" if row.unplaced else ""
    return (f"Fmax {row.fmax:.1f} MHz" + (f" (median of {runs}; best {row.fmax_best:.1f})" if len(row.fmaxes) > 1 else "")
            + unplaced)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--clock", type=float, default=48.0, help="PLL clock the designs are constrained to")
    parser.add_argument("--board", default="icebreaker")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1],
                        help="nextpnr placement seeds: each design is built at each; median and best Fmax reported")
    parser.add_argument("--kinds", nargs="+", default=["ternary", "int8"], choices=["ternary", "int8"],
                        help="weight kinds built per hidden size (default both)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--work", type=Path, default=Path("runs/fpga_boards"),
                        help="build folders <design>/seed<N>, each with report.txt / report.json / utilisation.png "
                             "(default runs/fpga_boards)")
    args = parser.parse_args(argv)
    board = get_board(args.board)
    clock = plan_clock(board, args.clock)
    seeds = args.seeds
    rows: list[Row] = []
    start = time.monotonic()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    acc = _build_seeds(board, lambda: Accumulator24(clock), clock, work, Row("acc24"), seeds)
    print(f"acc24: {acc.lcs} LCs, {_fmax_text(acc)} ({acc.seconds:.0f} s)", flush=True)
    link = _build_seeds(board, lambda: BoardTop(board, HostLink(EchoStub(), divisor=clock.divisor, input_depth=512,
                                                                output_depth=256), clock),
                        clock, work, Row("host link only"), seeds)
    rows.append(link)
    print(f"host link + stub: {link.lcs} LCs, {link.ebr} EBR, {_fmax_text(link)}", flush=True)
    for hidden in args.hidden:
        stack = random_stack(hidden, hidden, classes=10, kind="ternary", seed=0)
        for kind in args.kinds:
            name = f"H={hidden} {kind}"
            row = Row(name)
            try:
                model = lower_stack(stack, None, LoweringOptions(weights="int8" if kind == "int8" else "auto"))
                design = design_for(model, board, clock_mhz=args.clock, weights_kind=kind)
                row.cycles, row.lanes, row.gate_rows = (design.config.cycles_per_step(), design.config.lanes,
                                                        design.config.gate_rows)
                _build_seeds(board, design.top, clock, work, row, seeds)
                row.note = row.note and f"lanes {row.lanes}, {row.note}"
            except HwgenError as err:
                row.note = f"does not fit: {str(err)[:240]}"
            rows.append(row)
            print(f"{name}: " + (row.note or f"{row.lcs} LCs, {_fmax_text(row)}, lanes {row.lanes}, "
                                 f"{row.cycles} cycles/step ({row.seconds:.0f} s)"), flush=True)

    print()
    runs = f"seeds {' '.join(map(str, seeds))}: median and best Fmax" if len(seeds) > 1 else f"seed {seeds[0]}"
    print(f"{board.description}, clock constraint {clock.hz / 1e6:g} MHz (PLL), nextpnr {runs} "
          f"({time.monotonic() - start:.0f} s). Baseline: 24-bit accumulator {_fmax_text(acc)}, {acc.lcs} LCs.")
    head = (f"{'design':<15}{'lanes':>6}{'LCs':>7}{'EBR':>5}{'SPRAM':>6}{'DSP':>5}{'Fmax med':>9}{'best':>7}"
            f"{'cyc/step':>10}{'us/step':>9}{'steps/s/LC':>12}{'÷acc24 med':>11}{'best':>6}{'LC vs tern':>11}"
            f"{'thr/LC vs tern':>15}")
    print(head)
    print("-" * len(head))
    ternary = {r.name.split()[0]: r for r in rows if r.name.endswith("ternary") and not r.note}
    for r in rows:
        if r.note:
            print(f"{r.name:<15}  {r.note}")
            continue
        base = ternary.get(r.name.split()[0])
        lc_ratio = r.lcs / base.lcs if base else float("nan")
        thr_ratio = r.steps_per_s_per_lc / base.steps_per_s_per_lc if base else float("nan")
        print(f"{r.name:<15}{f'{r.lanes}×{r.gate_rows}' if r.lanes else '-':>6}{r.lcs:>7}{r.ebr:>5}{r.spram:>6}{r.dsp:>5}{r.fmax:>9.1f}"
              f"{r.fmax_best:>7.1f}{r.cycles or '-':>10}{r.step_us:>9.2f}{r.steps_per_s_per_lc:>12.2f}"
              f"{r.fmax / acc.fmax:>11.2f}{r.fmax_best / acc.fmax_best:>6.2f}{lc_ratio:>11.2f}{thr_ratio:>15.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seeds": seeds, "acc24": acc.to_json(acc),
                                         "rows": [r.to_json(acc) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
