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
    float+cont       control: the float fine-tune continued for --qat-steps with no compression, so a
                     compressed row's loss can be split into the restarted schedule's and the compression's
    pruned50+KD      50 % of heads and FFN units cut out, float, KD from the float fine-tune
    TF-IDF + LR      word 1-2-grams + logistic regression on the same training texts

Columns: test accuracy (%), ECE (%, 15 bins), trained parameters, exported ONNX bytes, the
encoder Linear weights as stored (int8 1 B, ternary 2 bit, + per-row scales) vs float32,
and training wall time. QAT rows start from the float run (`--init`): they cost their own
steps plus the float run's. The issue's targets are then checked text by text on the test split: each
accuracy target as a paired bootstrap interval (and McNemar's test) against the float fine-tune or
vanilla KD, each ECE target as a paired bootstrap interval, met only where the whole interval is on
its side (OUT/ROW/test_probs.npy keeps each row's re-scored probabilities). Runs are kept in OUT/ and reused on a rerun (delete a RUN to
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

ROWS = ("float", "int8", "pruned50+KD", "ternary", "ternary+KD", "ternary+BD-KD", "ternary+CES-KD", "float+cont")


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
        "float+cont": TransformerTrainConfig(weights="float", **qat),
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


def test_probs(out: Path, name: str, m: dict[str, Any], base: dict[str, Any]) -> Any:
    """The row's class probabilities on the test texts (OUT/ROW/test_probs.npy), re-scored from its checkpoint and
    checked against the run's own test accuracy, so rows can be compared text by text."""
    import numpy as np
    import torch

    from hwgen.quant.transformer_checkpoint import load_transformer
    from hwgen.quant.transformer_teachers import encode
    from hwgen.quant.transformer_train import load_splits, predict_probs

    path = out / name / "test_probs.npy"
    test = load_splits(TransformerTrainConfig(**base), tuple(m["classes"])).test
    if not path.exists():  # the checkpoint is loaded only to re-score
        ckpt = load_transformer(out / name)
        torch.set_num_threads(base["threads"])
        ids, mask = encode(ckpt.tokenizer, test.texts, base["max_len"])
        np.save(path, predict_probs(ckpt.model, ids, mask))
    probs = np.load(path)
    if abs(100.0 * np.mean(probs.argmax(1) == test.labels) - m["test_accuracy"]) > 1e-6:
        raise RuntimeError(f"{name}: re-scored test accuracy differs from the run's {m['test_accuracy']:.3f} %")
    return probs, test.labels


def paired_ece(a: Any, b: Any, labels: Any, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """ECE of b minus ECE of a (percentage points, as `ece` gives them) and its 95 % paired bootstrap interval."""
    import numpy as np

    from hwgen.quant.calibration import ece

    idx = np.random.default_rng(seed).integers(0, len(labels), (resamples, len(labels)))
    diffs = [ece(b[i], labels[i]) - ece(a[i], labels[i]) for i in idx]
    low, high = np.percentile(diffs, [2.5, 97.5])
    return ece(b, labels) - ece(a, labels), float(low), float(high)


def _interval(diff: float, low: float, high: float) -> str:
    return f"{diff:+.2f} [95 % {low:+.2f}, {high:+.2f}]"


def _verdict(low: float, high: float, floor: float) -> str:
    """"≥ floor": decided only where the whole interval is on one side of it."""
    return "met" if low >= floor else "not met" if high < floor else f"undecided (the interval straddles {floor:+.1f})"


def targets(out: Path, results: dict[str, dict[str, Any]], base: dict[str, Any]) -> list[str]:
    """The issue's targets, each as a paired comparison on the same test texts (accuracy points, ECE points)."""
    from hwgen.finetune.measure import compare_paired

    if "float" not in results:
        return []
    probs = {name: test_probs(out, name, m, base) for name, m in results.items()}
    labels = probs["float"][1]
    correct = {name: p.argmax(1) == labels for name, (p, _) in probs.items()}

    def acc(a: str, b: str, floor: float, what: str) -> str:
        c = compare_paired(correct[a], correct[b])
        return (f"{what}: {b} − {a} {_interval(c.difference, c.low, c.high)} points, {c.only_a} vs {c.only_b} texts "
                f"only one gets right, McNemar p {c.p_value:.2g} → {_verdict(c.low, c.high, floor)}")

    lines = []
    if "int8" in correct:
        lines.append(acc("float", "int8", -0.5, "int8 within 0.5 points of float"))
    kds = [r for r in ("ternary+KD", "ternary+BD-KD", "ternary+CES-KD") if r in results]
    if kds:
        best = max(kds, key=lambda r: results[r]["test_accuracy"])
        lines.append(acc("float", best, -1.5, f"ternary with its best KD ({best}) within 1.5 points"))
    if "pruned50+KD" in correct:
        lines.append(acc("float", "pruned50+KD", -1.0, "50 % structured pruning + KD within 1.0 point"))
    for r in ("ternary+BD-KD", "ternary+CES-KD"):
        if r in correct and "ternary+KD" in correct:
            lines.append(acc("ternary+KD", r, 0.0, f"{r} at or above vanilla KD in accuracy"))
            d, low, high = paired_ece(probs["ternary+KD"][0], probs[r][0], labels)
            lines.append(f"{r} below vanilla KD in ECE: {_interval(d, low, high)} ECE points → "
                         f"{'met' if high < 0 else 'not met' if low >= 0 else 'undecided (the interval straddles 0)'}")
    if "float+cont" in correct:
        for r in ("int8", "ternary+KD", "pruned50+KD"):
            if r in correct:
                c = compare_paired(correct["float+cont"], correct[r])
                lines.append(f"(control) {r} − float+cont {_interval(c.difference, c.low, c.high)} points: the compression's "
                             "share, with the restarted schedule on both sides")
    if "ternary" in results:
        m = results["ternary"]
        ratio = m["encoder_weight_bytes"] / m["encoder_weight_bytes_float32"]
        lines.append(f"ternary encoder weights {ratio:.3f} of float32 (≤ 1/12 = 0.083) → {'met' if ratio <= 1 / 12 else 'not met'}")
    return lines


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
    verdicts = targets(args.out, results, base)
    print("\nTargets (paired on the test texts; a target counts as met only where the whole 95 % interval is on its side):")
    for line in verdicts:
        print(f"- {line}")
    (args.out / "summary.json").write_text(json.dumps({"results": results, "exports": exports, "targets": verdicts},
                                                      indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
