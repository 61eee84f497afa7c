"""`hwgen export RUN/ -o model.onnx`: LSTM runs (freeze weights, fold batch norm) and transformer runs, checked in onnxruntime."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trained RUN/ to ONNX (int8 codes + DequantizeLinear, BN folded)",
                       description="Freeze one weight sample, fold each batch norm into per-row affines shared over "
                                   "time, write ONNX and check it against PyTorch in onnxruntime (1e-5).")
    p.add_argument("run", type=Path, help="a run directory written by `hwgen train`")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write")
    p.add_argument("--sample", type=int, default=None, metavar="SEED",
                   help="freeze one stochastic weight sample drawn with SEED (default: the deterministic weights)")
    p.add_argument("--no-eval", action="store_true", help="skip the task metric (folded vs per-step BN statistics)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwgen.quant.transformer_checkpoint import is_transformer_run

    if is_transformer_run(args.run):
        return run_transformer(args)
    from hwgen.quant.export import export_run

    r = export_run(args.run, args.output, sample_seed=args.sample, evaluate_metric=not args.no_eval)
    print(f"wrote {r.path}: {r.weights} weights ({r.frozen}), batch norm {'folded' if r.bn else 'none'}; "
          f"onnxruntime vs PyTorch max |diff| = {r.max_abs_diff:.2e}")
    if r.folded is not None:
        unit = "%" if r.metric == "accuracy" else " BPC"
        line = f"test {r.metric}: {r.folded:.3f}{unit} with folded (time-shared) BN"
        if r.per_step is not None:
            line += f", {r.per_step:.3f}{unit} with per-step statistics (change {r.folded - r.per_step:+.3f})"
        print(line)
    return 0


def run_transformer(args: argparse.Namespace) -> int:
    from hwgen.quant.transformer_export import export_transformer_run

    r = export_transformer_run(args.run, args.output)
    print(f"wrote {r.path}: {r.weights} encoder weights, {r.embeddings} embeddings, heads per layer {list(r.heads)}, "
          f"FFN width {list(r.ffn)}; onnxruntime vs PyTorch max |diff| = {r.max_abs_diff:.2e} "
          f"({r.default_ort_diff:.2e} with onnxruntime's default int8-activation MatMulNBits fusion)")
    return 0
