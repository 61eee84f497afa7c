"""Latency of all-MiniLM-L6-v2 classifiers built by `hwgen build --target tvm` (ternary / int8 / fp32)
against onnxruntime fp32, onnxruntime int8 (`quantize_dynamic` of the same float model) and PyTorch
fp32, batch 1, one thread, in one run (issue 17).

The models: hwgen's `TextClassifier` over all-MiniLM-L6-v2 (3 classes, head initialised with seed
0), exported by hwgen's own exporter (`hwgen.quant.transformer_export.to_onnx`). The ternary and
int8 encoders are quantized post-training with hwgen's quantizers (`quantize_encoder`, int8
embeddings), without any training: the latency does not depend on the weight values, the accuracy
of such untrained models is not the point here (see transformer_compression for trained ones).

    hwgen-TVM fp32      --tvm-activations f32 (default): float Linear panels, logits ~1e-7 from onnxruntime
    hwgen-TVM int8      --tvm-activations int8: per-token int8 activations x int8 weight codes, int32 sums
    hwgen-TVM ternary   --tvm-activations int8: per-token int8 activations x packed 2-bit codes (u8 x s8: AVX2
                        `vpmaddubsw`, or AVX-512 VNNI `vpdpbusd` where the host has it)

Each round runs every contender once per sequence length (interleaved, so load from other processes
hits all alike); the table shows medians over the rounds and each as a multiple of onnxruntime
fp32 and int8. Model bytes: the ONNX files (the ternary ONNX stores its codes as int8, 1 byte per
weight) and the TVM libraries (model.so: the Linear weights packed, 2 bits per ternary weight, plus
code and the float LayerNorm / embedding tables), and the Linear weight bytes alone.

    PYTHONPATH=. .venv/bin/python benchmarks/transformer_latency.py [--quick] [--rounds 15] [--profile]
"""

from __future__ import annotations

import os

os.environ.setdefault("TVM_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

from hwgen.frontend import load_graph  # noqa: E402
from hwgen.quant.transformer_export import ort_session, to_onnx  # noqa: E402
from hwgen.quant.transformer_model import TextClassifier, load_pretrained  # noqa: E402
from hwgen.quant.transformer_quant import quantize_encoder  # noqa: E402
from hwgen.tvm_backend import TvmOptions, build, quad_kernels, runner  # noqa: E402
from hwgen.tvm_backend.llvm import llvm_target  # noqa: E402

Feeds = dict[str, np.ndarray]


def cpu_model() -> str:
    """The host CPU's model name (Linux), so a table says which machine it came from."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown CPU"
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "unknown CPU")


def models(tmp: Path) -> tuple[dict[str, TextClassifier], dict[str, Path]]:
    """The float, int8 and ternary classifiers and their ONNX files (plus onnxruntime's quantize_dynamic one)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    encoder, _, _ = load_pretrained()
    torch.manual_seed(0)
    float_model = TextClassifier(encoder, 3).eval()
    torch_models, paths = {"fp32": float_model}, {}
    for kind in ("int8", "ternary"):
        m = copy.deepcopy(float_model)
        quantize_encoder(m.encoder, kind, embeddings="int8")
        torch_models[kind] = m.eval()
    for kind, m in torch_models.items():
        paths[kind] = tmp / f"minilm_{kind}.onnx"
        onnx.save(to_onnx(m), paths[kind])
    paths["ort-int8"] = tmp / "minilm_ort_int8.onnx"
    quantize_dynamic(str(paths["fp32"]), str(paths["ort-int8"]), weight_type=QuantType.QInt8)
    return torch_models, paths


def tvm_builds(paths: dict[str, Path], tmp: Path) -> dict[str, tuple[Any, Path]]:
    out = {}
    for kind, act in (("fp32", "f32"), ("int8", "int8"), ("ternary", "int8")):
        start = time.perf_counter()
        art = build(load_graph(paths[kind]), tmp / f"tvm_{kind}", TvmOptions(activations=act))
        print(f"built hwgen-TVM {kind} ({art.manifest['kernel_variant']}) in {time.perf_counter() - start:.0f} s")
        out[kind] = (runner.load(art.out), art.out)
    return out


def feeds(seq: int) -> Feeds:
    rng = np.random.default_rng(seq)
    return {"input_ids": rng.integers(1, 30000, (1, seq)).astype(np.int64),
            "attention_mask": np.ones((1, seq), np.int64)}


def contenders(torch_models: dict[str, TextClassifier], paths: dict[str, Path],
               builds: dict[str, tuple[Any, Path]]) -> dict[str, Callable[[Feeds], np.ndarray]]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sessions = {k: ort.InferenceSession(str(paths[k]), opts, providers=["CPUExecutionProvider"])
                for k in ("fp32", "ort-int8")}

    def torch_run(f: Feeds) -> np.ndarray:
        with torch.no_grad():
            return torch_models["fp32"](torch.from_numpy(f["input_ids"]), torch.from_numpy(f["attention_mask"])).numpy()

    runs: dict[str, Callable[[Feeds], np.ndarray]] = {
        "onnxruntime fp32": lambda f: sessions["fp32"].run(None, f)[0],
        "onnxruntime int8 (quantize_dynamic)": lambda f: sessions["ort-int8"].run(None, f)[0],
        "PyTorch fp32": torch_run,
    }
    for kind in ("fp32", "int8", "ternary"):
        runs[f"hwgen-TVM {kind}"] = lambda f, m=builds[kind][0]: m(f)["logits"]
    return runs


def race(runs: dict[str, Callable[[Feeds], np.ndarray]], f: Feeds, rounds: int) -> dict[str, float]:
    """Median seconds per call of each contender over `rounds` interleaved rounds (one warm-up call each)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():
        fn(f)
    for _ in range(rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn(f)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def accuracy(torch_models: dict[str, TextClassifier], paths: dict[str, Path], builds: dict[str, tuple[Any, Path]],
             f: Feeds) -> None:
    """max |logits - PyTorch's| of each hwgen build against the PyTorch model it was exported from."""
    print("\nmax |hwgen-TVM logits - PyTorch logits| (same quantized weights; int8/ternary: int8 activations):")
    for kind in ("fp32", "int8", "ternary"):
        with torch.no_grad():
            want = torch_models[kind](torch.from_numpy(f["input_ids"]), torch.from_numpy(f["attention_mask"])).numpy()
        got = builds[kind][0](f)["logits"]
        exact = ort_session(str(paths[kind])).run(None, f)[0]
        print(f"  {kind:<8} vs PyTorch {np.abs(got - want).max():.2e}   vs onnxruntime (exact session) "
              f"{np.abs(got - exact).max():.2e}   logits scale {np.abs(want).max():.2e}")


def sizes(paths: dict[str, Path], builds: dict[str, tuple[Any, Path]]) -> None:
    print("\n| model | ONNX bytes | ÷ fp32 | TVM model.so bytes | ÷ fp32 | Linear weights in the .so |")
    print("|---|---:|---:|---:|---:|---:|")
    base_onnx = paths["fp32"].stat().st_size
    base_so = (builds["fp32"][1] / "model.so").stat().st_size
    for kind in ("fp32", "int8", "ternary"):
        onnx_b = paths[kind].stat().st_size
        so_b = (builds[kind][1] / "model.so").stat().st_size
        weights = sum(k["weight_bytes"] for k in builds[kind][0].manifest["linear_kernels"])
        print(f"| {kind} | {onnx_b:,} | {onnx_b / base_onnx:.3f} | {so_b:,} | {so_b / base_so:.3f} | {weights:,} |")
    ort8 = paths["ort-int8"].stat().st_size
    print(f"| onnxruntime int8 | {ort8:,} | {ort8 / base_onnx:.3f} | – | – | – |")


def table(seq: int, median: dict[str, float]) -> None:
    fp32, int8 = median["onnxruntime fp32"], median["onnxruntime int8 (quantize_dynamic)"]
    print(f"\n| sequence {seq} | ms | ÷ onnxruntime fp32 | ÷ onnxruntime int8 |")
    print("|---|---:|---:|---:|")
    for name, t in median.items():
        print(f"| {name} | {t * 1e3:.1f} | {t / fp32:.2f} | {t / int8:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sequence 64 only, 5 rounds")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sequences", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--profile", action="store_true", help="per-kernel times of each hwgen build (sequence 64)")
    args = parser.parse_args()
    rounds, seqs = (5, [64]) if args.quick else (args.rounds, args.sequences)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        torch_models, paths = models(Path(tmp))
        builds = tvm_builds(paths, Path(tmp))
        runs = contenders(torch_models, paths, builds)
        simd = quad_kernels.simd_level(llvm_target("host"))
        print(f"\nall-MiniLM-L6-v2 + 3-class head, batch 1, 1 thread; median of {rounds} interleaved rounds; "
              f"this project's 2-core shared machine: {cpu_model()}, hwgen kernels for {simd}")
        for seq in seqs:
            table(seq, race(runs, feeds(seq), rounds))
        accuracy(torch_models, paths, builds, feeds(seqs[0]))
        sizes(paths, builds)
        if args.profile:
            for kind in ("fp32", "int8", "ternary"):
                rows, plain = kernel_times(builds[kind][1], feeds(64))
                total, count = sum(r[1] for r in rows), sum(r[2] for r in rows)
                print(f"\nper-kernel ms, hwgen-TVM {kind}, sequence 64 (instrumented: {total:.1f} ms over {count} calls; "
                      f"{plain:.1f} ms without the instrumentation, i.e. ~{(total - plain) / count * 1e3:.0f} us of "
                      "callback per call, which the many tiny VM builtins below mostly are):")
                for name, ms, calls in rows[:8]:
                    print(f"  {ms:7.2f} ms {calls:3d}x {name}")


def kernel_times(out: Path, f: Feeds, repeats: int = 5) -> tuple[list[tuple[str, float, int]], float]:
    """(kernel, ms per inference, calls per inference) from the Relax VM's call instrumentation, slowest first,
    and the median ms of an inference without it. The instrumentation calls back into Python before and after
    every call, which inflates the many tiny VM builtins (make_shape, alloc_tensor, ...), not the kernels: the
    difference of the two totals per call is that overhead."""
    import re
    from collections import Counter, defaultdict

    import tvm
    from tvm import relax

    vm = relax.VirtualMachine(tvm.runtime.load_module(str(out / "model.so")), tvm.cpu())
    args = [tvm.runtime.tensor(f[k]) for k in ("input_ids", "attention_mask")]
    spent: defaultdict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    started: dict[str, float] = {}

    def instrument(func: Any, symbol: str, before: bool, ret: Any, *rest: Any) -> int:
        name = re.sub(r"_?\d+$", "", symbol)
        if before:
            started[name] = time.perf_counter()
        else:
            spent[name] += time.perf_counter() - started[name]
            calls[name] += 1
        return 0

    plain = []
    for _ in range(repeats):
        start = time.perf_counter()
        vm["main"](*args)
        plain.append(time.perf_counter() - start)
    vm.set_instrument(tvm.runtime.convert(instrument))
    for _ in range(repeats):
        vm["main"](*args)
    rows = [(name, s / repeats * 1e3, calls[name] // repeats) for name, s in spent.items()]
    return sorted(rows, key=lambda r: -r[1]), statistics.median(plain) * 1e3


if __name__ == "__main__":
    main()
