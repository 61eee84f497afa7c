"""Accuracy of float vs binary vs ternary LSTMs, side by side in one run (issue 3 targets).

    digits (sklearn 8x8, rows as steps): test accuracy, ternary >= float - 1.0 point
    char-LM (Linux kernel source from linux-source-6.1 if installed, else Python's stdlib
    sources): test bits per character, ternary <= float + 0.05

Binary/ternary models use in-cell batch norm; the numbers are those of the exported
form (BN folded into time-shared affines, deterministic weights) — what onnxruntime and
the hardware compute — with the per-step-statistics metric alongside.

    .venv/bin/python benchmarks/quant_accuracy.py [--lm-hidden 256 --lm-bytes 2000000 --lm-steps 1500]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hwgen.quant.train import TrainConfig, train

KINDS = ("float", "binary", "ternary")


def run_task(name: str, configs: dict[str, TrainConfig], out: Path) -> dict[str, dict]:
    results = {}
    for kind, cfg in configs.items():
        t0 = time.perf_counter()
        m = train(cfg, out / f"{name}_{kind}").metrics
        m["wall_seconds"] = time.perf_counter() - t0
        results[kind] = m
        extra = f" (per-step BN statistics {m['test_per_step_bn']:.3f})" if "test_per_step_bn" in m else ""
        print(f"  {name:7s} {kind:8s} test {m['metric']} {m['test']:.3f}{extra}  "
              f"[{m['wall_seconds']:.0f} s, {m['step_ms']:.1f} ms/step]", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_quant_accuracy"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--digits-hidden", type=int, default=64)
    ap.add_argument("--digits-epochs", type=int, default=40)
    ap.add_argument("--lm-hidden", type=int, default=256)
    ap.add_argument("--lm-bytes", type=int, default=2_000_000)
    ap.add_argument("--lm-seq", type=int, default=100)
    ap.add_argument("--lm-batch", type=int, default=64)
    ap.add_argument("--lm-steps", type=int, default=1500, help="training batches per char-LM model")
    ap.add_argument("--lm-epochs", type=int, default=4, help="the char-LM steps are split into this many epochs")
    ap.add_argument("--skip-lm", action="store_true")
    ap.add_argument("--skip-digits", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    common = dict(seed=args.seed, threads=args.threads, progress=False)

    digits = {}
    if not args.skip_digits:
        print(f"digits: hidden {args.digits_hidden}, {args.digits_epochs} epochs", flush=True)
        digits = run_task("digits", {k: TrainConfig(task="digits", weights=k, hidden=args.digits_hidden,
                                                    epochs=args.digits_epochs, lr=5e-3, **common) for k in KINDS},
                          args.out)
    lm = {}
    if not args.skip_lm:
        print(f"char-LM: hidden {args.lm_hidden}, seq {args.lm_seq}, batch {args.lm_batch}, "
              f"{args.lm_steps} steps, corpus {args.lm_bytes} bytes", flush=True)
        per_epoch = max(1, args.lm_steps // args.lm_epochs)
        lm = run_task("charlm", {k: TrainConfig(task="charlm", weights=k, hidden=args.lm_hidden, seq_len=args.lm_seq,
                                                batch_size=args.lm_batch, epochs=args.lm_epochs,
                                                steps_per_epoch=per_epoch, corpus_bytes=args.lm_bytes,
                                                lr=2e-3, fold_epochs=1, **common) for k in KINDS}, args.out)

    print("\nside by side (exported form: BN folded, deterministic weights)")
    print(f"  {'task':8s} {'metric':9s} {'float':>8s} {'binary':>8s} {'ternary':>8s}  target")
    if digits:
        f, b, t = (digits[k]["test"] for k in KINDS)
        ok = t >= f - 1.0
        print(f"  {'digits':8s} {'acc %':9s} {f:8.2f} {b:8.2f} {t:8.2f}  ternary >= float - 1.0: "
              f"{'met' if ok else 'NOT met'} (ternary - float = {t - f:+.2f})")
    if lm:
        f, b, t = (lm[k]["test"] for k in KINDS)
        ok = t <= f + 0.05
        print(f"  {'char-LM':8s} {'BPC':9s} {f:8.3f} {b:8.3f} {t:8.3f}  ternary <= float + 0.05: {'met' if ok else 'NOT met'} "
              f"(ternary - float = {t - f:+.3f}); corpus: {lm['float']['data']}")
    summary = {"digits": digits, "charlm": lm, "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out / 'summary.json'}")


if __name__ == "__main__":
    main()
