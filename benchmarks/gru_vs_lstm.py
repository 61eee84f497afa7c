"""GRU vs LSTM at equal hidden size on digits (issue 20 item 3, GRU half): accuracy, weight bytes, cycles/step.

Both cells train with the same recipe (ternary or binary weights, straight-through, in-cell
BN, fold epochs; `hwgen train lstm [--cell gru]` defaults), interleaved seed by seed, and
are scored as exported: float accuracy with the folded BN (what onnxruntime computes) and
integer accuracy of the lowered spec (`lower_fixed_point` / `lower_gru`, default options).
Cycles per step: the LSTM's from the accelerator's schedule (`AccelConfig.cycles_per_step`);
the GRU's from the analytic `gru_cycles_per_step` (3H rows per pass instead of 4H, the
LSTM schedule's per-step overhead carried over: no GRU hardware exists yet). Weight bytes:
the recurrent codes packed at 1 (binary) / 2 (ternary) bits. Targets: GRU within 0.5 points
of the LSTM at <= 0.8x its cycles per step.

    .venv/bin/python benchmarks/gru_vs_lstm.py            # H=32, 3 seeds, 30 epochs
    .venv/bin/python benchmarks/gru_vs_lstm.py --quick    # smoke test
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from hwgen.frontend import load_graph
from hwgen.hw.config import AccelConfig
from hwgen.model.gru import gru_cycles_per_step, pass_cycles
from hwgen.passes.lower_fixed_point import lower_fixed_point
from hwgen.passes.lower_gru import lower_gru
from hwgen.quant.data import digits_dataset
from hwgen.quant.export import export_model
from hwgen.quant.train import TrainConfig, train

CELLS = ("lstm", "gru")
INPUT = 8  # digits: 8 pixels per step


def integer_accuracy(model, cell: str, data, out: Path) -> float:
    """Test accuracy (%) of the exported model's integer spec."""
    path, _ = export_model(model, out / f"{cell}.onnx")
    graph = load_graph(path)
    lower = lower_gru if cell == "gru" else lower_fixed_point
    integer = lower(graph, calibration=data.x_train)
    return 100.0 * float((integer.run_real(data.x_test).argmax(1) == data.y_test).mean())


def cycles(hidden: int, lanes: int) -> dict[str, int]:
    lstm = AccelConfig(hidden=hidden, input=INPUT, lanes=lanes, outputs=10).cycles_per_step()
    overhead = lstm - pass_cycles(4, hidden, (INPUT,), lanes)
    return {"lstm": lstm, "gru": gru_cycles_per_step(hidden, (INPUT,), lanes, overhead)}


def weight_bytes(cell: str, hidden: int, kind: str) -> int:
    rows = (3 if cell == "gru" else 4) * hidden
    return rows * (INPUT + hidden) * {"binary": 1, "ternary": 2}[kind] // 8


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--weights", default="ternary", choices=("binary", "ternary"))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lanes", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="H=16, 1 seed, 3 epochs")
    p.add_argument("--out", type=Path, default=None, help="keep runs and summary.json here")
    args = p.parse_args()
    if args.quick:
        args.hidden, args.seeds, args.epochs = 16, 1, 3
    torch.set_num_threads(1)
    out = args.out or Path(tempfile.mkdtemp(prefix="gru_vs_lstm_"))
    rows: dict[str, list[dict]] = {c: [] for c in CELLS}
    print(f"digits, {args.weights} + BN, H={args.hidden}, {args.epochs} epochs, seeds 0..{args.seeds - 1} "
          f"(interleaved), 1 thread", flush=True)
    for seed in range(args.seeds):
        data = digits_dataset(seed)
        for cell in CELLS:
            cfg = TrainConfig(cell=cell, weights=args.weights, hidden=args.hidden, epochs=args.epochs, seed=seed,
                              progress=False)
            t0 = time.perf_counter()
            res = train(cfg, out / f"{cell}_{seed}", data)
            m = res.metrics
            row = {"seed": seed, "float": m["test"], "integer": integer_accuracy(res.model, cell, data, out / f"{cell}_{seed}"),
                   "train_s": time.perf_counter() - t0, "step_ms": m["step_ms"]}
            rows[cell].append(row)
            print(f"  seed {seed} {cell:4s} test {row['float']:6.2f} %  integer {row['integer']:6.2f} %  "
                  f"[{row['train_s']:.0f} s, {row['step_ms']:.1f} ms/step]", flush=True)
    cyc = cycles(args.hidden, args.lanes)
    med = {c: {k: statistics.median(r[k] for r in rows[c]) for k in ("float", "integer", "step_ms")} for c in CELLS}
    print(f"\n{'cell':5s} {'test %':>7s} {'int %':>7s} {'weight B':>9s} {'cyc/step':>9s} {'train ms/step':>14s}"
          f"   (medians over {args.seeds} seed(s); cycles: lanes={args.lanes})")
    for c in CELLS:
        print(f"{c:5s} {med[c]['float']:7.2f} {med[c]['integer']:7.2f} {weight_bytes(c, args.hidden, args.weights):9d} "
              f"{cyc[c]:9d} {med[c]['step_ms']:14.1f}")
    gap = med["gru"]["float"] - med["lstm"]["float"]
    ratio = cyc["gru"] / cyc["lstm"]
    print(f"GRU - LSTM: {gap:+.2f} points (target >= -0.5: {'met' if gap >= -0.5 else 'NOT met'}); "
          f"cycles GRU/LSTM {ratio:.3f} (target <= 0.8: {'met' if ratio <= 0.8 else 'NOT met'}; GRU cycles analytic)")
    (out / "summary.json").write_text(json.dumps({"rows": rows, "medians": med, "cycles": cyc,
                                                  "args": {k: str(v) for k, v in vars(args).items()}}, indent=2) + "\n")
    print(f"wrote {out / 'summary.json'}")


if __name__ == "__main__":
    main()
