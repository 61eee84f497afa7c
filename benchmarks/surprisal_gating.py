"""Surprisal-gated small/big char-LMs against always running the big one (issue 20 target).

Trains a small and a big binary/ternary LSTM char-LM on the same corpus (the trainer's charlm
recipe), lowers both to integer models through hwgen's own export → import → lowering, and
measures everything through the integer gate of `hwgen.model.surprisal_gate` — the arithmetic the
accelerator implements:

* the threshold is chosen on the validation text: the fewest big-network steps whose BPC stays
  within --tolerance of always-big (the independent big model's, for both variants), else the most
  accurate threshold;
* on the test text: BPC and the fraction of big steps for always-big, always-small, and the gate
  at the chosen threshold, plus the whole trade-off (BPC against big fraction, OUT/gating.png);
* cycles per character of the gated hardware (`hwgen.hw.gated.GatedTop`, both accelerators at the RTL
  default lanes): `GatedConfig.expected_cycles` of each test window under the gate's measured decisions
  (exact: Verilator checks it, tests/rtl/test_gated.py), against the big accelerator alone streaming the same
  windows (`expected_cycles(T) / T`, its pipelined rate). The gated top runs one step at a time (the small
  and the big accelerator side by side within it), so a step costs its slower accelerator's whole latency
  plus the logits' readout; the baseline overlaps its dense head with the next step.

Two big models are trained from the same seed on the same batches: "independent" (every step, as a
plain char-LM) and "gate-aware" (the big model trains under the small model's gate: skipped steps hold
its state and leave the loss; `hwgen.quant.surprisal_gating.MarginGate`). Both are gated with the same
small model and measured the same way; the target compares against the independent always-big BPC (the
best big model on its own), and the gate-aware model's own always-big BPC is reported too.
--gate-aware on/off trains only one of them; --random-skips adds the ablation (`RandomSkips`: the same
held state and loss, skips at random at the same rates).

Target: the gate at always-big BPC + 0.01 with >= 20 % fewer cycles per character.

    .venv/bin/python benchmarks/surprisal_gating.py            # H 64 / 256, 400 steps each: ~50 min on a loaded 2-core box
    .venv/bin/python benchmarks/surprisal_gating.py --small-hidden 32 --big-hidden 128 --steps 200 --random-skips
    .venv/bin/python benchmarks/surprisal_gating.py --quick    # smoke test, a few minutes
    .venv/bin/python benchmarks/surprisal_gating.py --from RUN --gate-aware off   # RUN/small, RUN/big: no training
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hwgen.hw.gated_config import GatedConfig
from hwgen.model.integer_model import IntegerModel
from hwgen.model.surprisal_gate import SurprisalGatedPair
from hwgen.quant.checkpoint import load_checkpoint
from hwgen.quant.data import build_corpus, corpus_from_bytes
from hwgen.quant.surprisal_gating import (SKIP_RANGE, GatePoint, MarginGate, RandomSkips, candidate_thresholds,
                                          choose_threshold, integer_pair, measure, sweep, windows)
from hwgen.quant.train import TrainConfig, train
from hwgen.rtl.lowering import accel_config
from hwgen.rtl.options import AccelOptions

QUICK = dict(small_hidden=16, big_hidden=48, bytes=200_000, seq=50, batch=16, steps=40, eval_windows=30)


def alone_cycles_per_char(model: IntegerModel, seq: int) -> float:
    """One accelerator streaming windows of `seq` characters: expected_cycles(seq) / seq at the RTL default lanes."""
    return accel_config(model, AccelOptions()).expected_cycles(seq) / seq


def gated_cycles_per_char(pair: SurprisalGatedPair, text: np.ndarray) -> tuple[float, GatedConfig]:
    """The gated top's exact cycles per character over windows [N, T + 1] (inputs and next characters, as
    `measure` reads them) under the gate's decisions on their inputs."""
    config = GatedConfig(accel_config(pair.small, AccelOptions()), accel_config(pair.big, AccelOptions()), pair.threshold)
    ran = pair.run(text[:, :-1]).big_ran
    return sum(config.expected_cycles(d) for d in ran) / ran.size, config


VARIANTS = ("independent", "gate-aware")


def plot(results: dict, small: GatePoint, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    base = results["independent"]["always_big"] if "independent" in results else None
    for k, (name, r) in enumerate(results.items()):
        color = f"C{k}"
        ax.plot([p.big_fraction for p in r["curve"]], [p.bpc for p in r["curve"]], "o-", color=color,
                label=f"gated, {name} big (test)")
        ax.plot([1.0], [r["always_big"].bpc], "^", color=color, label=f"always big ({name})")
        ax.plot([r["chosen"].big_fraction], [r["chosen"].bpc], "*", color=color, markersize=14,
                label=f"chosen on validation ({name})")
    ax.plot([small.big_fraction], [small.bpc], "s", color="grey", label="always small")
    if base is not None:
        ax.axhline(base.bpc + 0.01, color="grey", lw=0.8, ls="--", label="independent always big + 0.01")
    ax.set_xlabel("fraction of steps the big network runs")
    ax.set_ylabel("test BPC (integer models)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_surprisal_gating"))
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a result")
    ap.add_argument("--weights", default="ternary", choices=("binary", "ternary"))
    ap.add_argument("--small-hidden", type=int, default=64)
    ap.add_argument("--big-hidden", type=int, default=256)
    ap.add_argument("--bytes", type=int, default=3_000_000)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=400, help="training batches per model")
    ap.add_argument("--eval-windows", type=int, default=200, help="windows of --seq characters per split")
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gate-aware", default="both", choices=("both", "on", "off"),
                    help="which big models to train: both (compared), gate-aware only (on), independent only (off)")
    ap.add_argument("--skip-range", type=float, nargs=2, default=SKIP_RANGE, metavar=("LOW", "HIGH"),
                    help="gate-aware training: per-sequence skip fraction drawn from [LOW, HIGH)")
    ap.add_argument("--from", dest="from_run", type=Path, default=None, metavar="RUN",
                    help="load the models trained before (RUN/small, RUN/big-<variant> or RUN/big) instead of training")
    ap.add_argument("--random-skips", action="store_true",
                    help="also train the ablation: a big model with random skips at the same rates (RandomSkips)")
    args = ap.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    args.out.mkdir(parents=True, exist_ok=True)
    text, source = build_corpus(args.bytes)
    corpus = corpus_from_bytes(text, args.seq, source)
    variants = {"both": VARIANTS, "on": VARIANTS[1:], "off": VARIANTS[:1]}[args.gate_aware]
    if args.random_skips:
        variants = variants + ("random-skips",)
    print(f"corpus {len(text)} bytes from {source}; {args.weights}, small H={args.small_hidden}, "
          f"big H={args.big_hidden}, {args.steps} steps each (batch {args.batch}, seq {args.seq}); "
          f"big models: {', '.join(variants)} (skip range {tuple(args.skip_range)})", flush=True)
    common = dict(task="charlm", weights=args.weights, seq_len=args.seq, batch_size=args.batch, epochs=1,
                  steps_per_epoch=args.steps, corpus_bytes=args.bytes, seed=args.seed, progress=False)
    t0 = time.perf_counter()
    if args.from_run is not None:  # trained before with these arguments: RUN/small and RUN/big-<variant> (or RUN/big)
        loaded = {"small": load_checkpoint(args.from_run / "small")}
        for name in variants:
            loaded[name] = load_checkpoint(next((p for p in (args.from_run / f"big-{name}", args.from_run / "big")
                                                 if (p / "checkpoint.pt").exists()), args.from_run / f"big-{name}"))
        for name, ckpt in loaded.items():
            if ckpt.vocab != corpus.vocab:
                raise SystemExit(f"{args.from_run}: the {name} model's vocabulary is not this corpus's; give the "
                                 "arguments it was trained with")
        small, bigs = loaded["small"].model, {name: loaded[name].model for name in variants}
        print(f"loaded the models from {args.from_run} (no training)", flush=True)
    else:
        small = train(TrainConfig(hidden=args.small_hidden, **common), args.out / "small", corpus).model
        bigs = {}
        for name in variants:  # same seed: the same initial weights and the same batches
            mask = {"gate-aware": MarginGate(small, tuple(args.skip_range), seed=args.seed + 1),
                    "random-skips": RandomSkips(tuple(args.skip_range), seed=args.seed + 1)}.get(name)
            bigs[name] = train(TrainConfig(hidden=args.big_hidden, **common), args.out / f"big-{name}", corpus,
                               step_mask=mask).model
        print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
    valid = windows(np.asarray(corpus.valid), args.seq, args.eval_windows)
    test = windows(np.asarray(corpus.test), args.seq, args.eval_windows)

    results: dict = {}
    thresholds: list[int] = []
    small_only = None
    valid_base = None  # always-big validation BPC of the first big model (the independent one when trained)
    cb = 0.0
    gated: GatedConfig | None = None
    for name, big in bigs.items():
        pair = integer_pair(small, big)
        if not thresholds:  # the small model's margins only: the same candidates for every big model
            thresholds = candidate_thresholds(pair, valid, count=16)
            small_only = measure(pair.with_threshold(1 << 62), test)
            cb = alone_cycles_per_char(pair.big, args.seq)
            valid_base = measure(pair, valid, always_big=True).bpc
        # every variant's threshold is chosen against the same target: the independent always-big BPC
        chosen_th = choose_threshold(sweep(pair, valid, thresholds), valid_base, args.tolerance).threshold
        curve = sweep(pair, test, thresholds)
        chosen = next(p for p in curve if p.threshold == chosen_th)
        cycles, gated = gated_cycles_per_char(pair.with_threshold(chosen_th), test)
        # a step's cycles do not depend on its neighbours, so the fraction alone gives the same count
        assert abs(cycles - (chosen.big_fraction * gated.step_cycles(True)
                             + (1 - chosen.big_fraction) * gated.step_cycles(False))) < 1e-6 * cycles
        results[name] = {"always_big": measure(pair, test, always_big=True), "curve": curve, "chosen": chosen,
                         "cycles": cycles}
    base = results[variants[0]]["always_big"]  # the independent big model when it was trained
    assert gated is not None and small_only is not None
    run_step, skip_step = gated.step_cycles(True), gated.step_cycles(False)

    def row(label: str, p: GatePoint, cycles: float) -> str:
        return (f"  {label:40s} {p.bpc:8.3f} {p.bpc - base.bpc:+8.3f} {p.big_fraction:9.3f} "
                f"{cycles:12.1f} {cycles / cb:8.3f}")

    print(f"\ntest text ({len(test)} windows of {args.seq}); RTL default lanes: the big accelerator alone "
          f"{cb:.1f} cycles/char (its cycles/step {accel_config(gated.big.model, AccelOptions()).cycles_per_step()}); "
          f"the gated top {run_step} cycles a step the big model runs, {skip_step} a step it skips "
          f"(accelerator latencies: small {gated.small.expected_cycles(1)}, big {gated.big.expected_cycles(1)})")
    print(f"  {'':40s} {'BPC':>8s} {'vs big':>8s} {'big frac':>9s} {'cycles/char':>12s} {'÷ big':>8s}")
    print(row("always small alone", small_only, alone_cycles_per_char(gated.small.model, args.seq)))
    for name, r in results.items():
        print(row(f"always big alone ({name})", r["always_big"], cb))
        print(row(f"gated top, every step big ({name})", r["always_big"], run_step))
        print(row(f"gated top, {name} big (th. {r['chosen'].threshold})", r["chosen"], r["cycles"]))
    summary = {"always_small": small_only.__dict__,
               "cycles_per_char": {"big_alone": cb, "small_alone": alone_cycles_per_char(gated.small.model, args.seq),
                                   "gated_step_big_runs": run_step, "gated_step_big_skipped": skip_step},
               "baseline": f"always big ({variants[0]})", "args": {k: str(v) for k, v in vars(args).items()}}
    for name, r in results.items():
        chosen = r["chosen"]
        saving = 1 - r["cycles"] / cb
        ok = chosen.bpc <= base.bpc + 0.01 and saving >= 0.20
        print(f"target ({name}): BPC <= always big ({variants[0]}) + 0.01 with >= 20 % fewer cycles per character: "
              f"{'met' if ok else 'NOT met'} (BPC {chosen.bpc - base.bpc:+.3f}, cycles saved {100 * saving:.1f} %)")
        print(f"  trade-off, {name} big, on test (threshold: big fraction, BPC): "
              + "; ".join(f"{p.threshold}: {p.big_fraction:.2f}, {p.bpc:.3f}" for p in r["curve"]))
        summary[name] = {"always_big": r["always_big"].__dict__, "chosen": chosen.__dict__, "target_met": ok,
                         "cycles_saved": saving, "gated_cycles_per_char": r["cycles"], "curve": [p.__dict__ for p in r["curve"]]}
    png = args.out / "gating.png"
    plot(results, small_only, png, f"{args.weights} char-LM, small H={args.small_hidden} / big H={args.big_hidden}, "
         f"{args.steps} steps{' (quick)' if args.quick else ''}")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {png} and {args.out / 'summary.json'}")


if __name__ == "__main__":
    main()
