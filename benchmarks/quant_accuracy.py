"""Accuracy of float vs binary vs ternary LSTMs, side by side in one run (issue 3 targets).

    digits (sklearn 8x8, rows as steps): test accuracy, ternary >= float - 1.0 point
    char-LM (Linux kernel source from linux-source-6.1 if installed, else Python's stdlib
    sources; train/valid/test are interleaved chunks of it): test bits per character,
    ternary <= float + 0.05

Binary/ternary models use in-cell batch norm; the numbers are those of the exported
form (BN folded into time-shared affines, deterministic weights) — what onnxruntime and
the hardware compute — with the per-step-statistics metric alongside. BPC is the mean
cross-entropy / ln 2 over every character of the split, in windows of --lm-seq
characters that each start from a zero state (as training does).

The char-LM recipe is the trainer's charlm default (Adam 2e-3, cosine decay) at a
CPU-sized setting: H=256, batch 32 (on one CPU core a batch of 32 processes more
characters per second than 64, and gives twice the updates), 3 MB of text, 500 steps
(--lm-steps: the budget a shared CPU affords; the models are not converged). Writes
OUT/summary.json and OUT/charlm_valid_bpc.png (valid BPC vs step, the learning curves).

    .venv/bin/python benchmarks/quant_accuracy.py --jobs 3   # 500 steps: ~20-35 min on a busy 2-core machine
    .venv/bin/python benchmarks/quant_accuracy.py --quick    # smoke test, ~1 min
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hwgen.quant.data import build_corpus, corpus_from_bytes
from hwgen.quant.train import TrainConfig, train

KINDS = ("float", "binary", "ternary")
#: --quick: every size small enough for a smoke test of the whole benchmark.
QUICK = dict(digits_hidden=16, digits_epochs=3, lm_hidden=32, lm_bytes=200_000, lm_seq=50, lm_batch=16,
             lm_steps=40, lm_eval_every=10)


def _train_one(name: str, kind: str, cfg: TrainConfig, out: Path, data) -> tuple[str, str, dict]:
    t0 = time.perf_counter()
    m = train(cfg, out / f"{name}_{kind}", data).metrics
    m["wall_seconds"] = time.perf_counter() - t0
    extra = f" (per-step BN statistics {m['test_per_step_bn']:.3f})" if "test_per_step_bn" in m else ""
    print(f"  {name:7s} {kind:8s} test {m['metric']} {m['test']:.3f}{extra}  "
          f"[{m['wall_seconds']:.0f} s, {m['step_ms']:.1f} ms/step]", flush=True)
    return name, kind, m


def run_all(jobs: list[tuple[str, str, TrainConfig, object]], out: Path, workers: int) -> dict[str, dict[str, dict]]:
    """Train every (task, kind, config, data) job, `workers` at a time (each single-threaded, deterministic)."""
    results: dict[str, dict[str, dict]] = {}
    if workers <= 1:
        done = [_train_one(name, kind, cfg, out, data) for name, kind, cfg, data in jobs]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = [f.result() for f in [pool.submit(_train_one, name, kind, cfg, out, data)
                                         for name, kind, cfg, data in jobs]]
    for name, kind, m in done:
        results.setdefault(name, {})[kind] = m
    return {name: {k: results[name][k] for k in KINDS} for name in results}


def plot_curves(lm: dict[str, dict], path: Path, title: str) -> None:
    """Valid BPC vs training step for each weight kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, m in lm.items():
        steps = [h["step"] for h in m["history"]]
        ax.plot(steps, [h["valid_bpc"] for h in m["history"]], marker="o", label=f"{kind} (test {m['test']:.3f})")
    ax.set_xlabel("training step")
    ax.set_ylabel("valid BPC (BN folded)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_quant_accuracy"))
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the benchmark, not a result")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--digits-hidden", type=int, default=64)
    ap.add_argument("--digits-epochs", type=int, default=40)
    ap.add_argument("--lm-hidden", type=int, default=256)
    ap.add_argument("--lm-bytes", type=int, default=3_000_000)
    ap.add_argument("--lm-seq", type=int, default=100)
    ap.add_argument("--lm-batch", type=int, default=32)
    ap.add_argument("--lm-steps", type=int, default=500, help="training batches per char-LM model")
    ap.add_argument("--lm-eval-every", type=int, default=100, help="char-LM steps per epoch (valid BPC after each)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="models trained at once, each in its own single-threaded process")
    ap.add_argument("--skip-lm", action="store_true")
    ap.add_argument("--skip-digits", action="store_true")
    args = ap.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    args.out.mkdir(parents=True, exist_ok=True)
    common = dict(seed=args.seed, threads=args.threads, progress=False)

    jobs: list[tuple[str, str, TrainConfig, object]] = []
    if not args.skip_lm:
        text, source = build_corpus(args.lm_bytes)
        corpus = corpus_from_bytes(text, args.lm_seq, source)  # read once, shared by the three models
        epochs = max(1, args.lm_steps // args.lm_eval_every)
        print(f"char-LM: hidden {args.lm_hidden}, seq {args.lm_seq}, batch {args.lm_batch}, "
              f"{epochs * args.lm_eval_every} steps, corpus {len(text)} bytes "
              f"(train/valid/test {len(corpus.train)}/{len(corpus.valid)}/{len(corpus.test)}) from {source}", flush=True)
        jobs += [("charlm", k, TrainConfig(task="charlm", weights=k, hidden=args.lm_hidden, seq_len=args.lm_seq,
                                           batch_size=args.lm_batch, epochs=epochs, steps_per_epoch=args.lm_eval_every,
                                           corpus_bytes=args.lm_bytes, **common), corpus) for k in KINDS]
    if not args.skip_digits:
        print(f"digits: hidden {args.digits_hidden}, {args.digits_epochs} epochs", flush=True)
        jobs += [("digits", k, TrainConfig(task="digits", weights=k, hidden=args.digits_hidden,
                                           epochs=args.digits_epochs, **common), None) for k in KINDS]
    results = run_all(jobs, args.out, args.jobs)
    digits, lm = results.get("digits", {}), results.get("charlm", {})

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
        print("  valid BPC by step:  " + "  ".join(
            f"{k} " + " ".join(f"{h['valid_bpc']:.3f}" for h in lm[k]["history"]) for k in KINDS))
        plot = args.out / "charlm_valid_bpc.png"
        plot_curves(lm, plot, f"char-LM H={args.lm_hidden}, batch {args.lm_batch}, seq {args.lm_seq}, "
                              f"{len(text) / 1e6:.1f} MB {'(quick)' if args.quick else ''}")
        print(f"wrote {plot}")
    summary = {"digits": digits, "charlm": lm, "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"wrote {args.out / 'summary.json'}")


if __name__ == "__main__":
    main()
