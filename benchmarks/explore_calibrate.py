"""Synthesise accelerators and whole board designs to calibrate `hwgen.explore.estimators`.

Accelerator points are whole accelerators in `benchmarks/accel_vs_int8.py`'s two-pin harness (`mixed` mapping:
shared multipliers in DSPs, int8 lane multipliers in LUTs), of random stacks (`hwgen.hw.synthetic.random_stack`)
lowered with the point's activation width, synthesised, placed and routed by `hwgen.fpga.synth.synthesize` (nextpnr
seed 1) one at a time. Board points (`BOARD_POINTS`) are trained models (digits of several training lengths,
char-LMs streaming per-step logits) built for a board through the library (`hwgen.compile(..., "fpga",
board=...)`: the accelerator plus the UART host link and its buffers, with the lanes and gate rows given or the
board's own); the estimators fit both kinds together, the host link being one of their features.

Results are cached (`.hwgen-cache/explore_calibrate/results.json`; accelerators keyed by the Verilog and options,
board points by the sources that train, lower and generate them), and the json written
(`hwgen/explore/data/calibration.json`, the package's calibration data) keeps every point it already held that
this run did not re-measure, so a stopped run loses nothing.

    python benchmarks/explore_calibrate.py              # build what is missing, write the json, print LOO errors
    python benchmarks/explore_calibrate.py --dump       # only write the json from the cached results
    python benchmarks/explore_calibrate.py --only 3     # at most 3 new builds this run
    python benchmarks/explore_calibrate.py --recheck 22 # also re-synthesise the first 22 accelerators (drift)
    python benchmarks/explore_calibrate.py --recheck-boards  # also rebuild the board points whose sources changed
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accel_vs_int8 import FLOWS, SOURCE, Harness, Job, lane_prepass

from hwgen.cache import ResultStore, cache_dir, content_hash
from hwgen.explore.estimators import (
    CALIBRATION,
    FMAX_FEATURES,
    LC_FEATURES,
    holdout_errors,
)
from hwgen.fpga.fit import head_lane_choices
from hwgen.fpga.synth import cache_key, synthesize
from hwgen.hw.config import AccelConfig
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack

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


class BoardPoint(NamedTuple):
    """A whole board design: a model trained for `epochs` (digits; charlm: `epochs` × CHARLM_STEPS batches), built
    by `hwgen.compile` with `lanes` and `gate_rows` (None: the board's own policy)."""

    board: str
    task: str
    weights: str
    hidden: int
    layers: int
    act_bits: int
    lanes: int | None
    gate_rows: int | None
    epochs: int


#: The first four (one-epoch digits, one row a word) were the first board calibration; the rest add gate_rows=4 (the
#: board default), trained models of 3 to 30 epochs (their folded constants differ) and per-step char-LMs.
BOARD_POINTS = [
    BoardPoint("icebreaker", "digits", "ternary", 32, 1, 8, 4, 1, 1),
    BoardPoint("ulx3s-85f", "digits", "binary", 64, 1, 6, 8, 1, 1),
    BoardPoint("icebreaker", "digits", "ternary", 16, 1, 8, 4, 1, 30),
    BoardPoint("ulx3s-85f", "digits", "ternary", 32, 1, 8, 4, 1, 1),
    BoardPoint("icebreaker", "digits", "ternary", 64, 1, 8, None, None, 10),
    BoardPoint("ulx3s-85f", "charlm", "binary", 64, 1, 8, None, None, 1),
    BoardPoint("icebreaker", "digits", "binary", 64, 1, 6, 8, 1, 1),
    BoardPoint("ulx3s-85f", "digits", "ternary", 64, 1, 8, None, None, 10),
    BoardPoint("icebreaker", "charlm", "ternary", 32, 1, 8, None, None, 1),
    BoardPoint("icebreaker", "digits", "binary", 16, 1, 8, 4, 1, 30),
    BoardPoint("ulx3s-85f", "digits", "ternary", 16, 1, 8, 4, 1, 30),
    BoardPoint("icebreaker", "digits", "ternary", 32, 1, 8, 4, 4, 3),
    BoardPoint("ulx3s-85f", "digits", "ternary", 32, 2, 8, 4, 4, 3),
    BoardPoint("icebreaker", "digits", "binary", 32, 2, 8, None, None, 10),
    # the same shape at 1 and 30 epochs (the folded constants alone differ), one row against four rows a word,
    # int8 MAC lanes, a larger model, more char-LMs
    BoardPoint("icebreaker", "digits", "ternary", 16, 1, 8, 4, 1, 1),
    BoardPoint("ulx3s-85f", "digits", "ternary", 32, 1, 8, 4, 1, 30),
    BoardPoint("ulx3s-85f", "digits", "ternary", 16, 1, 8, 4, 1, 1),
    BoardPoint("icebreaker", "digits", "ternary", 64, 1, 8, 8, 1, 3),
    BoardPoint("icebreaker", "digits", "int8", 32, 1, 8, 2, 1, 3),  # 4 int8 lanes: DSP 9/8 since the head has lanes
    BoardPoint("ulx3s-85f", "digits", "ternary", 128, 1, 8, None, None, 3),
    BoardPoint("icebreaker", "charlm", "binary", 64, 1, 8, None, None, 3),
    BoardPoint("ulx3s-85f", "charlm", "ternary", 128, 1, 8, None, None, 1),
]
#: Char-LM board points: batches per "epoch" and corpus bytes (a short run: the board design, not its BPC, is measured).
CHARLM_STEPS = 60
CHARLM_BYTES = 300_000


def point_key(p: tuple) -> str:
    f, d, h, x, layers, act, ln = p
    return f"accel/{f}/{d}/H{h}X{x}L{layers}A{act}/lanes{ln}"


def point_config(p: tuple) -> AccelConfig:
    """The accelerator of a random stack of `p`'s size, lowered with its activation width (int8: int8 codes), its
    dense head on as many lanes as a board of the family gives it (`fit.head_lane_choices`, as the explore space
    assumes: with a head lane per gate lane, 8 lanes took 11 of the UP5K's 8 DSPs)."""
    f, d, h, x, layers, act, ln = p
    stack = random_stack(h, x, layers, 10, kind="ternary" if d == "int8" else d, seed=0)
    model = lower_stack(stack, options=LoweringOptions(act_bits=act, weights="int8" if d == "int8" else "auto"))
    config = AccelConfig.for_model(model, lanes=ln, weight_memory=FLOWS[f].weight_memory, ebr_target=f)
    return replace(config, head_lanes=head_lane_choices(f, config)[0])


def synth_point(p: tuple, work: Path, store: ResultStore) -> dict | None:
    """Synthesise, place and route point `p` in the harness (or take it from the store); its calibration row."""
    from amaranth.back import verilog

    f, d, h, x, layers, act, ln = p
    config = point_config(p)
    options = FLOWS[f].options("mixed", lane_prepass(Job("accel", f, "mixed", d, h, x, ln)))
    text = verilog.convert(Harness(config), name="bench_top", emit_src=False)
    digest = cache_key([text], options, top="bench_top", extra=["explore_calibrate"])
    hit = store.get(point_key(p), digest)
    if hit:  # the Verilog fixes the head lanes; rows stored before they were recorded get them here
        return hit if "head_lanes" in hit else store.put(point_key(p), {**hit, "head_lanes": config.head_lanes},
                                                         digest)
    t0 = time.time()
    synth = synthesize(text, options, work_dir=work / point_key(p).replace("/", "_"), top="bench_top")
    lc = next(u for u in synth.usage if u.name == "LC")
    row = {"device": FLOWS[f].device, "weights_kind": d, "hidden": h, "input": x, "layers": layers, "lanes": ln,
           "head_lanes": config.head_lanes, "weight_memory": FLOWS[f].weight_memory, "act_bits": act, "lcs": lc.used,
           "ebr": synth.ebr, "spram": synth.spram, "dsps": synth.dsps, "fmax_mhz": round(synth.fmax_mhz or 0, 2),
           "clock_mhz": FLOWS[f].freq, "source": SOURCE, "seconds": round(time.time() - t0, 1)}
    return store.put(point_key(p), row, digest)


def board_key(b: BoardPoint) -> str:
    lanes = "auto" if b.lanes is None else b.lanes
    rows = "auto" if b.gate_rows is None else b.gate_rows
    return f"board/{b.task}/{b.board}/{b.weights}/H{b.hidden}L{b.layers}A{b.act_bits}/lanes{lanes}rows{rows}/ep{b.epochs}"


def generator_digest() -> str:
    """The key of a board point's result: the sources of what trains, lowers and generates a board design (a point
    is rebuilt when any of them changes; the explore package itself is not among them)."""
    root = Path(__file__).resolve().parents[1] / "hwgen"
    return content_hash([path for part in ("quant", "passes", "model", "ir", "frontend", "hw", "rtl", "fpga")
                         for path in sorted((root / part).rglob("*.py"))])


def train_onnx(b: BoardPoint, out: Path) -> Path:
    """Train `b`'s model (in-cell batch norm, as every model the search trains) and export it to ONNX. Not a random
    ONNX model (`hwgen.hw.synthetic.write_onnx`): it has no cell affine, and its UP5K board design measured 2906 LCs
    at H=32 against 3079 for a trained one."""
    from hwgen.explore.quality import int8_lstm_weights
    from hwgen.quant.export import export_run
    from hwgen.quant.pipeline import train_and_export_digits
    from hwgen.quant.train import TrainConfig, train

    if b.task == "digits" and b.weights == "int8":  # a float model, its weights as int8 codes (as the search does)
        onnx_path = train_and_export_digits(out, weights="float", hidden=b.hidden, epochs=b.epochs, layers=b.layers)
        int8_lstm_weights(onnx_path)
        return onnx_path
    if b.task == "digits":
        return train_and_export_digits(out, weights=b.weights, hidden=b.hidden, epochs=b.epochs, layers=b.layers)
    config = TrainConfig(task="charlm", weights=b.weights, hidden=b.hidden, layers=b.layers, epochs=b.epochs,
                         steps_per_epoch=CHARLM_STEPS, lr=2e-2, corpus_bytes=CHARLM_BYTES, progress=False)
    train(config, out / "run")
    return export_run(out / "run", out / "charlm.onnx", evaluate_metric=False).path


def build_board(b: BoardPoint, work: Path, store: ResultStore) -> dict:
    """Build `b` for its board through `hwgen.compile` (the accelerator plus the UART host link and its buffers);
    the row records the config the build chose (fpga.json)."""
    from hwgen.api import compile as hwgen_compile
    from hwgen.fpga.reports import TimingError
    from hwgen.fpga.synth import device_for

    digest = generator_digest()
    hit = store.get(board_key(b), digest)
    if hit:
        return hit
    t0 = time.time()
    out = work / board_key(b).replace("/", "_")
    options = {"board": b.board, "act_bits": b.act_bits}
    options.update({k: v for k, v in (("lanes", b.lanes), ("gate_rows", b.gate_rows)) if v is not None})
    if b.weights == "int8":
        options["weights"] = "int8"
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = train_onnx(b, Path(tmp))
        try:
            hwgen_compile(onnx_path, "fpga", out, **options)
        except TimingError as err:  # the report is written before the timing check; Fmax is what is measured
            print(f"  ({err})", flush=True)
    report = json.loads((out / "report.json").read_text())
    manifest = json.loads((out / "fpga.json").read_text())
    used = {name: u["used"] for name, u in report["utilisation"].items()}
    acc = manifest["accelerator"]
    row = {"device": device_for(b.board), "board": b.board, "task": b.task, "epochs": b.epochs,
           "weights_kind": acc["weights_kind"], "hidden": acc["hidden"], "input": acc["input"],
           "layers": acc["layers"], "lanes": acc["lanes"], "gate_rows": acc.get("gate_rows", 1),
           "head_lanes": acc.get("head_lanes", 0),
           "outputs": acc.get("outputs", 10), "stream": manifest.get("stream", ""),
           "weight_memory": acc["weight_memory"], "act_bits": b.act_bits, "lcs": used.get("LC", 0),
           "ebr": used.get("EBR", 0), "spram": used.get("SPRAM", 0), "dsps": used.get("DSP", 0),
           "fmax_mhz": round(float(report["fmax_mhz"]), 2), "key": board_key(b),
           "source": SOURCE, "seconds": round(time.time() - t0, 1)}
    return store.put(board_key(b), row, digest)


def row_key(row: dict) -> str:
    """A calibration row's identity (the store key of the point it measures)."""
    if "board" in row:
        return row["key"]
    fpga = next(f for f, flow in FLOWS.items() if flow.device == row["device"])
    return point_key((fpga, row["weights_kind"], row["hidden"], row["input"], row.get("layers", 1),
                      row.get("act_bits", 8), row["lanes"]))


def write_json(measured: dict[str, dict]) -> dict:
    """The json's rows, updated with `measured` (rows it held and this run did not measure stay), for the points
    this script defines (a point dropped from POINTS / BOARD_POINTS leaves the json too)."""
    old = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else {}
    rows = {row_key(r): r for r in old.get("points", []) + old.get("board_points", [])}
    rows.update({k: {n: v for n, v in r.items() if n not in ("hash", "build")} for k, r in measured.items()})
    defined = {point_key(p) for p in POINTS} | {board_key(b) for b in BOARD_POINTS}
    rows = {k: r for k, r in rows.items() if k in defined}
    doc = {"mapping": "mixed", "harness": "benchmarks/accel_vs_int8.py Harness; board points: hwgen.compile fpga",
           "points": [r for k, r in rows.items() if k.startswith("accel/")],
           "board_points": [r for k, r in rows.items() if k.startswith("board/")]}
    CALIBRATION.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(doc['points'])} accelerator and {len(doc['board_points'])} board points to {CALIBRATION}")
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dump", action="store_true", help="synthesise nothing; write the json from cached results")
    ap.add_argument("--only", type=int, default=None, help="at most this many new syntheses")
    ap.add_argument("--recheck", type=int, default=0,
                    help="also re-synthesise the first N accelerator points the json holds (drift against main)")
    ap.add_argument("--recheck-boards", action="store_true",
                    help="also rebuild every board point the json holds whose generator sources changed since")
    args = ap.parse_args()
    root = cache_dir() / "explore_calibrate"
    store = ResultStore(root / "results.json")
    old = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else {}
    have = {row_key(r) for r in old.get("points", []) + old.get("board_points", [])}
    todo = [("board", b, board_key(b)) for b in BOARD_POINTS] + [("accel", p, point_key(p)) for p in POINTS]
    todo = [t for t in todo if t[2] not in have]
    boards = [("board", b, board_key(b)) for b in BOARD_POINTS] if args.recheck_boards else \
        [t for t in todo if t[0] == "board"]
    todo = boards + [("accel", p, point_key(p)) for p in POINTS[:args.recheck]] + [t for t in todo if t[0] == "accel"]
    budget = 0 if args.dump else len(todo) if args.only is None else args.only
    built = 0
    for kind, p, key in todo:
        if built >= budget:
            break
        before = store.records().get(key)
        row = (synth_point if kind == "accel" else build_board)(p, root / "runs", store)
        built += row != before  # a result taken from the store costs nothing
        print(f"[{built}/{budget}] {time.strftime('%H:%M:%S')} {key}: {row['lcs']} LCs, {row['ebr']} EBR, "
              f"{row['dsps']} DSP, {row['fmax_mhz']} MHz ({row.get('seconds', 0)} s)", flush=True)
    measured = {k: r for k, r in store.records().items()}
    doc = write_json(measured)
    print(f"leave-one-out over {len(doc['points'])} accelerators and {len(doc['board_points'])} board designs "
          f"({len(LC_FEATURES)} LC features, {len(FMAX_FEATURES)} Fmax features per device):")
    for err in holdout_errors(doc["points"] + doc["board_points"]):
        print(f"  {err.quantity}: mean {100 * err.mean:.1f} %, worst {100 * err.worst:.1f} % ({err.worst_point}); "
              f"{err.within} of {err.points} within {100 * err.target:.0f} %")


if __name__ == "__main__":
    main()
