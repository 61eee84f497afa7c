"""Compressed all-MiniLM-L6-v2 on the Debian topics task: one table, same seed and budget (issue 15).

Rows (seed 0, every student trained for the same --steps at batch --batch, --max-len tokens,
on the same --limit training texts; test accuracy and ECE on the full test split; the float
fine-tune runs --steps, each compressed row --qat-steps more from it):

    float            fine-tune all-MiniLM-L6-v2 (the teacher of every KD row)
    int8             int8 per-row QAT, starting from the float fine-tune
    ternary          ternary QAT (seed method, per-row W0), from the float fine-tune
    ternary+KD       ... + vanilla KD from the float fine-tune
    ternary+BD-KD    ... + BD-KD (entropy-balanced forward/reverse KL)
    ternary+CES-KD   ... + CES-KD over {int8, pruned, float} (smallest → easiest samples)
    pruned50+KD      50 % of heads and FFN units cut out, float, KD from the float fine-tune
    TF-IDF + LR      word 1-2-grams + logistic regression on the same training texts

Columns: test accuracy (%), ECE (%, 15 bins), trained parameters, exported ONNX bytes, the
encoder Linear weights as stored (int8 1 B, ternary 2 bit, + per-row scales) vs float32,
and training wall time. QAT rows start from the float run (`--init`): they cost their own
steps plus the float run's. Runs are kept in OUT/ and reused on a rerun (delete a RUN to
retrain it); the exports are written to OUT/onnx/.

    PYTHONPATH=. .venv/bin/python benchmarks/transformer_compression.py --steps 100 --qat-steps 20 --no-valid --limit 3200
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Optional

from hwgen.quant.transformer_train import TransformerTrainConfig, train_transformer

ROWS = ("float", "int8", "pruned50+KD", "ternary", "ternary+KD", "ternary+BD-KD", "ternary+CES-KD")


def configs(out: Path, base: dict[str, Any], qat_steps: Optional[int] = None) -> dict[str, TransformerTrainConfig]:
    f = str(out / "float")
    qat = dict(base, init=f, steps=qat_steps or base["steps"])
    return {
        "float": TransformerTrainConfig(weights="float", **base),
        "int8": TransformerTrainConfig(weights="int8", **qat),
        "pruned50+KD": TransformerTrainConfig(weights="float", prune="structured", sparsity=0.5, distill="kd",
                                              teachers=(f,), **qat),
        "ternary": TransformerTrainConfig(weights="ternary", **qat),
        "ternary+KD": TransformerTrainConfig(weights="ternary", distill="kd", teachers=(f,), **qat),
        "ternary+BD-KD": TransformerTrainConfig(weights="ternary", distill="bdkd", teachers=(f,), **qat),
        "ternary+CES-KD": TransformerTrainConfig(weights="ternary", distill="ceskd",
                                                 teachers=(str(out / "int8"), str(out / "pruned50+KD"), f), **qat),
    }


def _done(run: Path) -> Optional[dict[str, Any]]:
    path = run / "metrics.json"
    if path.exists():
        m = json.loads(path.read_text())
        if m.get("status") == "done":
            return m
    return None


def train_all(out: Path, base: dict[str, Any], only: Optional[list[str]],
              qat_steps: Optional[int] = None) -> dict[str, dict[str, Any]]:
    results = {}
    for name, config in configs(out, base, qat_steps).items():
        if only and name not in only:
            continue
        run = out / name
        m = _done(run)
        if m is None:
            t = time.perf_counter()
            m = train_transformer(config, run).metrics
            print(f"{name}: test {m['test_accuracy']:.2f} %, ECE {m['test_ece']:.2f} % ({time.perf_counter() - t:.0f} s)",
                  flush=True)
        results[name] = m
    return results


def export_all(out: Path, results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    from hwgen.quant.transformer_export import export_transformer_run

    exports = {}
    for name in results:
        record = out / "onnx" / f"{name}.json"  # reused while newer than the run's checkpoint
        if record.exists() and record.stat().st_mtime > (out / name / "checkpoint.pt").stat().st_mtime:
            exports[name] = json.loads(record.read_text())
            continue
        r = export_transformer_run(out / name, out / "onnx" / f"{name}.onnx")
        exports[name] = {"bytes": r.path.stat().st_size, "max_abs_diff": r.max_abs_diff,
                         "default_ort_diff": r.default_ort_diff}
        record.write_text(json.dumps(exports[name]) + "\n")
    return exports


def table(results: dict[str, dict[str, Any]], exports: dict[str, dict[str, Any]]) -> str:
    lines = ["| model | test acc % | ECE % | trained params | ONNX bytes | encoder weights stored (/ float32) "
             "| max abs diff ORT exact / default | train s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in results.items():
        e = exports.get(name, {})
        ratio = m["encoder_weight_bytes"] / m["encoder_weight_bytes_float32"]
        lines.append(f"| {name} | {m['test_accuracy']:.2f} | {m['test_ece']:.2f} | {m['trained_parameters']:,} | "
                     f"{e.get('bytes', 0):,} | {m['encoder_weight_bytes']:,} ({ratio:.3f}) | "
                     f"{e.get('max_abs_diff', float('nan')):.1e} / {e.get('default_ort_diff', float('nan')):.1e} | "
                     f"{m['train_seconds']:.0f} |")
    b = next(iter(results.values()))["baseline"]
    lines.append(f"| TF-IDF + LR | {b['test_accuracy']:.2f} | {b['test_ece']:.2f} | {b['features'] * len(next(iter(results.values()))['classes']):,} | - | - | - | - |")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=150, help="optimizer steps of the float fine-tune")
    p.add_argument("--qat-steps", type=int, default=None,
                   help="steps of every compressed row, each starting from the float fine-tune (default --steps)")
    p.add_argument("--limit", type=int, default=None, help="training texts (default: the whole training split)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--only", nargs="*", default=None, choices=ROWS, help="train only these rows (their teachers must exist)")
    p.add_argument("--no-export", action="store_true")
    p.add_argument("--no-valid", action="store_true", help="skip the valid split after each epoch (saves a pass over it)")
    p.add_argument("--out", type=Path, default=Path("runs/transformer_compression"))
    args = p.parse_args(argv)
    base = dict(steps=args.steps, limit=args.limit, batch_size=args.batch, max_len=args.max_len, threads=args.threads,
                lr=args.lr, epochs=1000, seed=0, progress=False, valid_each_epoch=not args.no_valid)
    t = time.perf_counter()
    results = train_all(args.out, base, args.only, args.qat_steps)
    exports = {} if args.no_export else export_all(args.out, results)
    print(f"\nDebian topics, all-MiniLM-L6-v2, seed 0, float fine-tune {args.steps} steps, then "
          f"{args.qat_steps or args.steps} steps for each compressed row (from the float run), batch {args.batch}, "
          f"{args.max_len} tokens, "
          f"{next(iter(results.values()))['train_texts']} training texts, {args.threads} threads "
          f"({time.perf_counter() - t:.0f} s this invocation)\n")
    print(table(results, exports))
    (args.out / "summary.json").write_text(json.dumps({"results": results, "exports": exports}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
