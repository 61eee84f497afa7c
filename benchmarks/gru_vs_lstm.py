"""GRU vs LSTM at equal hidden size (issue 20 item 3, GRU half): accuracy / BPC, weight bytes, cycles/step.

Both cells train with the same recipe (ternary or binary weights, straight-through, in-cell
BN, fold epochs; `hwgen train lstm [--cell gru]` defaults), interleaved seed by seed, and
are scored as exported: float accuracy with the folded BN (what onnxruntime computes) and
integer accuracy of the lowered spec (`lower_fixed_point` / `lower_gru`, default options).
Cycles per step and per sequence: both from the accelerator's schedule (`AccelConfig(cell=...)`:
`cycles_per_step`, `expected_cycles`), which the RTL meets exactly in simulation (tests/hw,
tests/rtl); the GRU has 3H rows a pass to the LSTM's 4H and a shorter state update. Weight
bytes: the recurrent codes packed at 1 (binary) / 2 (ternary) bits. `--synth` adds both
accelerators at equal H through yosys `synth_ice40` + nextpnr (UP5K, seed 1, EBR weights,
random weights of the same shape, `accel_vs_int8`'s two-pin harness): logic cells, DSPs,
EBR, Fmax. Targets: GRU within 0.5 points (digits) / 0.03 BPC (char-LM) of the LSTM at
<= 0.8x its cycles per step.

`--cycles-only` skips training (cycles, and with `--synth` the synthesis, need no weights).

`--lm-steps N` adds a char-LM pair (the trainer's charlm recipe: Adam 2e-3 cosine, no fold
epochs; 1 MB of text, seq 100, batch 32) at `--lm-hidden`, seed 0, scored by test BPC with
the folded BN in PyTorch (the integer char-LM would need every-step outputs over the whole
test split: not run here).

    .venv/bin/python benchmarks/gru_vs_lstm.py                   # digits: H=32, 3 seeds, 30 epochs
    .venv/bin/python benchmarks/gru_vs_lstm.py --lm-steps 300    # + char-LM at H=128, 300 steps
    .venv/bin/python benchmarks/gru_vs_lstm.py --quick           # smoke test
    .venv/bin/python benchmarks/gru_vs_lstm.py --cycles-only --synth   # cycles and LCs at H=32, no training
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
from hwgen.hw.synthetic import random_gru_stack, random_stack
from hwgen.passes.lower_fixed_point import lower_fixed_point
from hwgen.passes.lower_fixed_point import lower_stack
from hwgen.passes.lower_gru import lower_gru
from hwgen.quant.data import build_corpus, corpus_from_bytes, digits_dataset
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


def accel_config(cell: str, hidden: int, lanes: int, head_lanes: int) -> AccelConfig:
    """The digits classifier's accelerator (INPUT features a step, 10 logits) for `cell`, with random weights of the
    trained models' shape (cycles and logic do not depend on the weights' values)."""
    stack = (random_gru_stack if cell == "gru" else random_stack)(hidden, INPUT, classes=10, seed=0)
    model = lower_gru(stack) if cell == "gru" else lower_stack(stack)  # type: ignore[arg-type]
    return AccelConfig.for_model(model, lanes=lanes, head_lanes=head_lanes)


def cycles(hidden: int, lanes: int, head_lanes: int, steps: int = 8) -> dict[str, dict[str, int]]:
    """Cycles per step and per digits sequence (8 steps), both from the accelerator's schedule."""
    out = {}
    for cell in CELLS:
        cfg = accel_config(cell, hidden, lanes, head_lanes)
        out[cell] = {"step": cfg.cycles_per_step(), "sequence": cfg.expected_cycles(steps)}
    return out


def synth(hidden: int, lanes: int, head_lanes: int, out: Path) -> dict[str, dict]:
    """Both accelerators through yosys + nextpnr for the UP5K (seed 1), one after the other."""
    from amaranth.back import verilog

    from accel_vs_int8 import Harness  # its two-pin harness (this folder is on sys.path when run as a script)
    from hwgen.fpga.synth import SynthOptions, synthesize

    result = {}
    for cell in CELLS:
        text = verilog.convert(Harness(accel_config(cell, hidden, lanes, head_lanes)), name="bench_top", emit_src=False)
        t0 = time.perf_counter()
        s = synthesize(text, SynthOptions("ice40-up5k", seed=1), work_dir=out / f"synth_{cell}", top="bench_top")
        result[cell] = {"lcs": s.lcs, "dsps": s.dsps, "ebr": s.ebr, "fmax": round(s.fmax_mhz or 0.0, 1),
                        "seconds": round(time.perf_counter() - t0)}
        print(f"  {cell:4s} {s.lcs} LC, {s.dsps} DSP, {s.ebr} EBR, Fmax {s.fmax_mhz or 0:.1f} MHz "
              f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    print(f"LCs GRU/LSTM {result['gru']['lcs'] / result['lstm']['lcs']:.3f}")
    return result


def weight_bytes(cell: str, hidden: int, kind: str) -> int:
    rows = (3 if cell == "gru" else 4) * hidden
    return rows * (INPUT + hidden) * {"binary": 1, "ternary": 2}[kind] // 8


def charlm(args: argparse.Namespace, out: Path) -> dict[str, dict]:
    """Test BPC of an LSTM and a GRU char-LM trained alike (seed 0), one after the other."""
    text, source = build_corpus(args.lm_bytes)
    data = corpus_from_bytes(text, 100, source)
    print(f"\nchar-LM on {source} ({len(text):,} bytes), {args.weights} + BN, H={args.lm_hidden}, "
          f"{args.lm_steps} steps of batch 32 x 100 characters, seed 0", flush=True)
    result = {}
    for cell in CELLS:
        cfg = TrainConfig(task="charlm", cell=cell, weights=args.weights, hidden=args.lm_hidden, epochs=1,
                          batch_size=32, steps_per_epoch=args.lm_steps, corpus_bytes=args.lm_bytes, progress=False)
        m = train(cfg, out / f"lm_{cell}", data).metrics
        result[cell] = {"bpc": m["test"], "step_ms": m["step_ms"], "train_s": m["train_seconds"]}
        print(f"  {cell:4s} test BPC {m['test']:.3f}  [{m['train_seconds']:.0f} s, {m['step_ms']:.0f} ms/step]", flush=True)
    gap = result["gru"]["bpc"] - result["lstm"]["bpc"]
    print(f"GRU - LSTM: {gap:+.3f} BPC (target <= +0.03: {'met' if gap <= 0.03 else 'NOT met'})")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--weights", default="ternary", choices=("binary", "ternary"))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lanes", type=int, default=8)
    p.add_argument("--head-lanes", type=int, default=2,
                   help="the dense head's multipliers (2: both designs fit the UP5K's 8 DSPs beside their own)")
    p.add_argument("--lm-steps", type=int, default=0, help="char-LM training steps (0: no char-LM pair)")
    p.add_argument("--lm-hidden", type=int, default=128)
    p.add_argument("--lm-bytes", type=int, default=1_000_000)
    p.add_argument("--quick", action="store_true", help="H=16, 1 seed, 3 epochs (char-LM, if asked: H=32, 200 kB)")
    p.add_argument("--out", type=Path, default=None, help="keep runs and summary.json here")
    p.add_argument("--cycles-only", action="store_true", help="no training: cycles (and --synth) only")
    p.add_argument("--synth", action="store_true", help="logic cells of both accelerators (yosys + nextpnr, UP5K)")
    args = p.parse_args()
    if args.quick:
        args.hidden, args.seeds, args.epochs, args.lm_hidden, args.lm_bytes = 16, 1, 3, 32, 200_000
    torch.set_num_threads(1)
    out = args.out or Path(tempfile.mkdtemp(prefix="gru_vs_lstm_"))
    if args.cycles_only:
        cycles_and_logic(args, out)
        return
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
    cyc = cycles(args.hidden, args.lanes, args.head_lanes)
    med = {c: {k: statistics.median(r[k] for r in rows[c]) for k in ("float", "integer", "step_ms")} for c in CELLS}
    mean = {c: statistics.mean(r["float"] for r in rows[c]) for c in CELLS}
    print(f"\n{'cell':5s} {'test %':>7s} {'mean %':>7s} {'int %':>7s} {'weight B':>9s} {'cyc/step':>9s} "
          f"{'cyc/seq':>8s} {'train ms/step':>14s}   (medians over {args.seeds} seed(s); cycles: lanes={args.lanes})")
    for c in CELLS:
        print(f"{c:5s} {med[c]['float']:7.2f} {mean[c]:7.2f} {med[c]['integer']:7.2f} "
              f"{weight_bytes(c, args.hidden, args.weights):9d} {cyc[c]['step']:9d} {cyc[c]['sequence']:8d} "
              f"{med[c]['step_ms']:14.1f}")
    print(f"GRU - LSTM mean over seeds: {mean['gru'] - mean['lstm']:+.2f} points")
    gap = med["gru"]["float"] - med["lstm"]["float"]
    ratio = cyc["gru"]["step"] / cyc["lstm"]["step"]
    print(f"GRU - LSTM medians: {gap:+.2f} points (target >= -0.5: {'met' if gap >= -0.5 else 'NOT met'}); "
          f"cycles GRU/LSTM {ratio:.3f} (target <= 0.8: {'met' if ratio <= 0.8 else 'NOT met'})")
    lm = charlm(args, out) if args.lm_steps else None
    logic = synth(args.hidden, args.lanes, args.head_lanes, out) if args.synth else None
    (out / "summary.json").write_text(json.dumps({"rows": rows, "medians": med, "cycles": cyc, "charlm": lm,
                                                  "logic": logic,
                                                  "args": {k: str(v) for k, v in vars(args).items()}}, indent=2) + "\n")
    print(f"wrote {out / 'summary.json'}")


def cycles_and_logic(args: argparse.Namespace, out: Path) -> None:
    """The hardware half alone: cycles per step and per sequence (and with --synth the logic) at args.hidden."""
    cyc = cycles(args.hidden, args.lanes, args.head_lanes)
    print(f"digits classifier, H={args.hidden}, X={INPUT}, 10 logits, lanes={args.lanes}, head lanes {args.head_lanes}: "
          f"{'cell':5s} {'cyc/step':>9s} {'cyc/seq':>8s} {'weight B':>9s}")
    for c in CELLS:
        print(f"  {c:5s} {cyc[c]['step']:9d} {cyc[c]['sequence']:8d} {weight_bytes(c, args.hidden, args.weights):9d}")
    ratio = cyc["gru"]["step"] / cyc["lstm"]["step"]
    print(f"cycles GRU/LSTM {ratio:.3f} (target <= 0.8: {'met' if ratio <= 0.8 else 'NOT met'})")
    logic = synth(args.hidden, args.lanes, args.head_lanes, out) if args.synth else None
    (out / "summary.json").write_text(json.dumps({"cycles": cyc, "logic": logic,
                                                  "args": {k: str(v) for k, v in vars(args).items()}}, indent=2) + "\n")
    print(f"wrote {out / 'summary.json'}")


if __name__ == "__main__":
    main()
