"""Synthesise accelerators (and a few whole board designs) to calibrate `hwgen.explore.estimators`.

Accelerator points are whole accelerators in `benchmarks/accel_vs_int8.py`'s two-pin harness (`mixed` mapping:
shared multipliers in DSPs, int8 lane multipliers in LUTs), of random stacks (`hwgen.hw.synthetic.random_stack`)
lowered with the point's activation width, synthesised, placed and routed by `hwgen.fpga.synth.synthesize` (nextpnr
seed 1) one at a time. Board points are random ONNX models built for a board through the library
(`hwgen.compile(..., "fpga", board=...)`: the accelerator plus the UART host link and its buffers); they calibrate
the host link's share (`HOST_LINK`) and check the board-level figures the fit constraint uses.

Results are cached (`.hwgen-cache/explore_calibrate/results.json`, keyed by the Verilog and options), and the json
written (`hwgen/explore/data/calibration.json`, the package's calibration data) keeps every point it already held
that this run did not re-measure, so a stopped run loses nothing.

    python benchmarks/explore_calibrate.py             # synthesise what is missing, write the json, print LOO errors
    python benchmarks/explore_calibrate.py --dump      # only write the json from the cached results
    python benchmarks/explore_calibrate.py --only 3    # at most 3 new syntheses this run
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accel_vs_int8 import FLOWS, SOURCE, Harness, Job, lane_prepass  # noqa: E402

from hwgen.cache import ResultStore, cache_dir  # noqa: E402
from hwgen.explore.estimators import CALIBRATION, holdout_errors  # noqa: E402
from hwgen.fpga.synth import cache_key, synthesize  # noqa: E402
from hwgen.hw.config import AccelConfig  # noqa: E402
from hwgen.hw.synthetic import random_stack  # noqa: E402
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack  # noqa: E402

#: (fpga, weights, hidden, input, layers, act_bits, lanes): the first 17 (one layer, 8-bit activations, ternary and
#: int8) were the first calibration; the rest add two layers, 4- and 6-bit activations, binary weights and the
#: char-LM sizes (96 inputs, up to H=256 and 32 lanes on the ECP5).
POINTS = [
    ("ice40", "ternary", 32, 8, 1, 8, 4), ("ecp5", "ternary", 64, 64, 1, 8, 8), ("ice40", "int8", 64, 8, 1, 8, 4),
    ("ecp5", "ternary", 128, 16, 1, 8, 16), ("ice40", "ternary", 128, 8, 1, 8, 8), ("ecp5", "int8", 32, 8, 1, 8, 4),
    ("ice40", "ternary", 64, 64, 1, 8, 2), ("ecp5", "ternary", 32, 32, 1, 8, 8), ("ice40", "int8", 32, 8, 1, 8, 2),
    ("ecp5", "ternary", 64, 8, 1, 8, 4), ("ice40", "ternary", 32, 32, 1, 8, 8), ("ecp5", "int8", 64, 8, 1, 8, 8),
    ("ice40", "ternary", 64, 8, 1, 8, 8), ("ecp5", "ternary", 128, 128, 1, 8, 8), ("ice40", "ternary", 128, 16, 1, 8, 4),
    ("ecp5", "ternary", 32, 8, 1, 8, 16), ("ice40", "int8", 64, 16, 1, 8, 8),
    ("ice40", "ternary", 32, 8, 2, 8, 4), ("ecp5", "binary", 64, 96, 2, 6, 16), ("ice40", "binary", 64, 8, 1, 8, 8),
    ("ecp5", "ternary", 64, 8, 1, 4, 8), ("ice40", "ternary", 32, 8, 1, 6, 4), ("ice40", "ternary", 64, 8, 1, 4, 8),
    ("ecp5", "int8", 32, 8, 1, 6, 4), ("ice40", "binary", 32, 16, 2, 6, 8), ("ecp5", "binary", 256, 96, 1, 8, 32),
    ("ecp5", "ternary", 128, 96, 2, 8, 8), ("ecp5", "int8", 128, 16, 1, 8, 16),
]
#: (board, weights, hidden, layers, act_bits, lanes) built as whole board designs (digits-sized: 8 inputs).
BOARD_POINTS = [("icebreaker", "ternary", 32, 1, 8, 4), ("ulx3s-85f", "binary", 64, 1, 6, 8),
                ("ulx3s-85f", "ternary", 32, 1, 8, 4), ("icebreaker", "binary", 64, 1, 6, 8)]


def point_key(p: tuple) -> str:
    f, d, h, x, layers, act, ln = p
    return f"accel/{f}/{d}/H{h}X{x}L{layers}A{act}/lanes{ln}"


def point_config(p: tuple) -> AccelConfig:
    """The accelerator of a random stack of `p`'s size, lowered with its activation width (int8: int8 codes)."""
    f, d, h, x, layers, act, ln = p
    stack = random_stack(h, x, layers, 10, kind="ternary" if d == "int8" else d, seed=0)
    model = lower_stack(stack, options=LoweringOptions(act_bits=act, weights="int8" if d == "int8" else "auto"))
    return AccelConfig.for_model(model, lanes=ln, weight_memory=FLOWS[f].weight_memory, ebr_target=f)


def synth_point(p: tuple, work: Path, store: ResultStore) -> Optional[dict]:
    """Synthesise, place and route point `p` in the harness (or take it from the store); its calibration row."""
    from amaranth.back import verilog

    f, d, h, x, layers, act, ln = p
    config = point_config(p)
    options = FLOWS[f].options("mixed", lane_prepass(Job("accel", f, "mixed", d, h, x, ln)))
    text = verilog.convert(Harness(config), name="bench_top", emit_src=False)
    digest = cache_key([text], options, top="bench_top", extra=["explore_calibrate"])
    hit = store.get(point_key(p), digest)
    if hit:
        return hit
    t0 = time.time()
    synth = synthesize(text, options, work_dir=work / point_key(p).replace("/", "_"), top="bench_top")
    lc = next(u for u in synth.usage if u.name == "LC")
    row = {"device": FLOWS[f].device, "weights_kind": d, "hidden": h, "input": x, "layers": layers, "lanes": ln,
           "weight_memory": FLOWS[f].weight_memory, "act_bits": act, "lcs": lc.used, "ebr": synth.ebr,
           "spram": synth.spram, "dsps": synth.dsps, "fmax_mhz": round(synth.fmax_mhz or 0, 2),
           "clock_mhz": FLOWS[f].freq, "source": SOURCE, "seconds": round(time.time() - t0, 1)}
    return store.put(point_key(p), row, digest)


def board_key(b: tuple) -> str:
    return "board/trained/{}/{}/H{}L{}A{}/lanes{}".format(*b)


def build_board(b: tuple, work: Path, store: ResultStore) -> dict:
    """Build a digits model trained for one epoch (`hwgen.quant.pipeline`: in-cell batch norm, as every model the
    search trains) for board `b` through `hwgen.compile` (the host link included). Not a random ONNX model
    (`hwgen.hw.synthetic.write_onnx`): it has no cell affine, and its UP5K board design measured 2906 LCs at H=32
    against 3387 for a trained H=16 one."""
    from hwgen.api import compile as hwgen_compile
    from hwgen.fpga.boards import BOARDS
    from hwgen.fpga.synth import device_for
    from hwgen.quant.pipeline import train_and_export_digits

    board, d, h, layers, act, ln = b
    hit = store.get(board_key(b))
    if hit and hit.get("source") == SOURCE:
        return hit
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = train_and_export_digits(tmp, weights=d, hidden=h, epochs=1, layers=layers)
        report = hwgen_compile(onnx_path, "fpga", work / board_key(b).replace("/", "_"), board=board, lanes=ln,
                               act_bits=act).report
    used = {u.name: u.used for u in report.usage}
    row = {"device": device_for(board), "board": board, "weights_kind": d, "hidden": h, "input": 8, "layers": layers,
           "lanes": ln, "weight_memory": BOARDS[board].weight_memory, "act_bits": act, "lcs": used.get("LC", 0),
           "ebr": used.get("EBR", 0), "spram": used.get("SPRAM", 0), "dsps": used.get("DSP", 0),
           "fmax_mhz": round(float(report.fmax_mhz), 2), "source": SOURCE, "seconds": round(time.time() - t0, 1)}
    return store.put(board_key(b), row)


def row_key(row: dict) -> str:
    """A calibration row's identity (the store key of the point it measures)."""
    if "board" in row:
        return board_key((row["board"], row["weights_kind"], row["hidden"], row["layers"], row["act_bits"],
                          row["lanes"]))
    fpga = next(f for f, flow in FLOWS.items() if flow.device == row["device"])
    return point_key((fpga, row["weights_kind"], row["hidden"], row["input"], row.get("layers", 1),
                      row.get("act_bits", 8), row["lanes"]))


def write_json(measured: dict[str, dict]) -> dict:
    """The json's rows, updated with `measured` (rows it held and this run did not measure stay)."""
    old = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else {}
    rows = {row_key(r): r for r in old.get("points", []) + old.get("board_points", [])}
    rows.update({k: {n: v for n, v in r.items() if n != "hash"} for k, r in measured.items()})
    doc = {"mapping": "mixed", "harness": "benchmarks/accel_vs_int8.py Harness; board points: hwgen.compile fpga",
           "points": [r for k, r in rows.items() if k.startswith("accel/")],
           "board_points": [r for k, r in rows.items() if k.startswith("board/trained/")]}
    CALIBRATION.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(doc['points'])} accelerator and {len(doc['board_points'])} board points to {CALIBRATION}")
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dump", action="store_true", help="synthesise nothing; write the json from cached results")
    ap.add_argument("--only", type=int, default=None, help="at most this many new syntheses")
    args = ap.parse_args()
    root = cache_dir() / "explore_calibrate"
    store = ResultStore(root / "results.json")
    have = {row_key(r) for r in (json.loads(CALIBRATION.read_text()).get("points", []) if CALIBRATION.exists() else [])}
    have |= {row_key(r) for r in (json.loads(CALIBRATION.read_text()).get("board_points", [])
                                  if CALIBRATION.exists() else [])}
    todo = [("board", b, board_key(b)) for b in BOARD_POINTS] + [("accel", p, point_key(p)) for p in POINTS]
    todo = [t for t in todo if t[2] not in have]
    budget = 0 if args.dump else len(todo) if args.only is None else args.only
    for n, (kind, p, key) in enumerate(todo[:budget], 1):
        run = synth_point if kind == "accel" else build_board
        row = run(p, root / "runs", store)
        print(f"[{n}/{budget}] {key}: {row['lcs']} LCs, {row['ebr']} EBR, {row['dsps']} DSP, {row['fmax_mhz']} MHz "
              f"({row.get('seconds', 0)} s)", flush=True)
    measured = {k: r for k, r in store.records().items()}
    doc = write_json(measured)
    for err in holdout_errors(doc["points"]):
        print(f"leave-one-out {err.quantity}: mean {100 * err.mean:.1f} %, worst {100 * err.worst:.1f} % "
              f"over {err.points} points")


if __name__ == "__main__":
    main()
