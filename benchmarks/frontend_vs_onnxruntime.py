"""Import + verify + interpret a 2-layer H=512 LSTM (T=100, batch 1) with hwgen, against onnxruntime
session creation + run, on the same torch-exported ONNX file, in one run.

    .venv/bin/python benchmarks/frontend_vs_onnxruntime.py [--hidden 512] [--steps 100] [--repeats 5]

Prints the median of each phase over the repeats and hwgen's time as a multiple of onnxruntime's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
import torch

from hwgen.frontend import load_graph
from hwgen.ir import verify
from hwgen.reference import run


def export_lstm(path: Path, hidden: int, steps: int, inp: int, layers: int) -> np.ndarray:
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(inp, hidden, num_layers=layers, batch_first=True).eval()
    x = torch.randn(1, steps, inp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(lstm, (x,), str(path), dynamo=False, input_names=["x"], output_names=["y", "h", "c"])
    model = onnx.load(path)
    model.ir_version = min(model.ir_version, 10)
    onnx.save(model, path)
    return x.numpy()


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lstm.onnx"
        x = export_lstm(path, args.hidden, args.steps, args.input, args.layers)
        print(f"model: {args.layers}-layer LSTM, H={args.hidden}, input {args.input}, T={args.steps}, batch 1 "
              f"({path.stat().st_size / 1e6:.1f} MB ONNX); median of {args.repeats}")

        t_import, graph = median_time(lambda: load_graph(path), args.repeats)
        t_verify, _ = median_time(lambda: verify(graph), args.repeats)  # type: ignore[arg-type]
        t_run, ours = median_time(lambda: run(graph, {"x": x}), args.repeats)  # type: ignore[arg-type]

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        t_session, session = median_time(lambda: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]),
                                         args.repeats)
        t_ort_run, theirs = median_time(lambda: session.run(None, {"x": x}), args.repeats)  # type: ignore[attr-defined]

    error = max(float(np.max(np.abs(ours[name] - ref))) for name, ref in zip(("y", "h", "c"), theirs))  # type: ignore[index]
    hw_total = t_import + t_verify + t_run
    ort_total = t_session + t_ort_run
    rows = [("load (import / session)", t_import, t_session), ("verify", t_verify, None),
            ("run", t_run, t_ort_run), ("total", hw_total, ort_total)]
    print(f"{'phase':<26}{'hwgen [ms]':>12}{'onnxruntime [ms]':>18}{'ratio':>9}")
    for name, ours_t, theirs_t in rows:
        ratio = f"{ours_t / theirs_t:8.2f}x" if theirs_t else ""
        theirs_s = f"{theirs_t * 1e3:18.1f}" if theirs_t is not None else f"{'-':>18}"
        print(f"{name:<26}{ours_t * 1e3:12.1f}{theirs_s}{ratio:>9}")
    print(f"max |hwgen - onnxruntime| over y, h, c: {error:.2e}  (onnxruntime on 1 thread; hwgen: numpy)")


if __name__ == "__main__":
    main()
