"""Synthesise a handful of accelerators to calibrate `hwgen.explore.estimators` (LCs, Fmax, DSP, EBR).

Each point is a whole accelerator (`benchmarks/accel_vs_int8.py`'s harness, `mixed` mapping: shared multipliers
in DSPs, int8 lane multipliers in LUTs) synthesised, placed and routed by `hwgen.fpga.synth.synthesize`;
results are cached in the accel_vs_int8 results store, so a stopped run keeps its finished points. The measured
points are written to `hwgen/explore/data/calibration.json` (the package's calibration data); the estimators fit
on the ones not held out and `benchmarks/explore_efficiency.py` reports the error on the held-out ones.

    python benchmarks/explore_calibrate.py            # synthesise what is missing, then write the json
    python benchmarks/explore_calibrate.py --dump     # only write the json from the cached results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accel_vs_int8 import FLOWS, Job, run_all  # noqa: E402

from hwgen.cache import cache_dir  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "hwgen" / "explore" / "data" / "calibration.json"

#: (fpga, design, hidden, input, lanes), interleaved so a stopped run still covers both devices and kinds.
POINTS = [
    ("ice40", "ternary", 32, 8, 4), ("ecp5", "ternary", 64, 64, 8), ("ice40", "int8", 64, 8, 4),
    ("ecp5", "ternary", 128, 16, 16), ("ice40", "ternary", 128, 8, 8), ("ecp5", "int8", 32, 8, 4),
    ("ice40", "ternary", 64, 64, 2), ("ecp5", "ternary", 32, 32, 8), ("ice40", "int8", 32, 8, 2),
    ("ecp5", "ternary", 64, 8, 4), ("ice40", "ternary", 32, 32, 8), ("ecp5", "int8", 64, 8, 8),
    ("ice40", "ternary", 64, 8, 8), ("ecp5", "ternary", 128, 128, 8), ("ice40", "ternary", 128, 16, 4),
    ("ecp5", "ternary", 32, 8, 16), ("ice40", "int8", 64, 16, 8), ("ecp5", "int8", 128, 16, 16),
]


def jobs() -> list[Job]:
    return [Job("accel", f, "mixed", d, h, x, ln) for f, d, h, x, ln in POINTS]


def dump(results: dict) -> int:
    rows = []
    for (f, d, h, x, ln), job in zip(POINTS, jobs()):
        r = results.get(job.key)
        if not r or r.get("status") != "ok":
            continue
        rows.append({"device": FLOWS[f].device, "weights_kind": d, "hidden": h, "input": x, "layers": 1, "lanes": ln,
                     "weight_memory": FLOWS[f].weight_memory, "act_bits": 8, "lcs": r["lcs"], "ebr": r["ebr"],
                     "spram": r["spram"], "dsps": r["dsps"], "fmax_mhz": r["fmax"], "clock_mhz": FLOWS[f].freq,
                     "source": r.get("source", "")})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"mapping": "mixed", "harness": "benchmarks/accel_vs_int8.py Harness", "points": rows},
                              indent=1) + "\n")
    print(f"wrote {len(rows)} points to {OUT}")
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dump", action="store_true", help="synthesise nothing; write the json from cached results")
    args = ap.parse_args()
    root = cache_dir() / "accel_vs_int8"
    results = run_all(jobs(), root / "runs", root / "results.json", False, 1, cached_only=args.dump)
    dump(results)


if __name__ == "__main__":
    main()
