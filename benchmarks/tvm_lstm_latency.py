"""Per-step latency of hwgen's TVM ternary LSTM vs onnxruntime and PyTorch fp32 LSTMs, and of
the packed ternary recurrent kernel vs a hand-written C microkernel (gcc -O3 -march=native,
compiled in this run).

One thread everywhere, batch 1, T = 100 steps, input size = hidden size. "per step" is the
latency of the whole sequence (input projection included) divided by T. Every ratio is
printed; the issue's targets: TVM ternary <= 0.5x onnxruntime at H=256 and better above,
TVM kernel >= 0.8x the speed of the C microkernel.

    .venv/bin/python benchmarks/tvm_lstm_latency.py [--hidden 128 256 512 1024] [--steps 100]
"""

from __future__ import annotations

import os

os.environ.setdefault("TVM_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import ctypes  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import tvm  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tvm import relax  # noqa: E402

from hwgen.frontend import import_onnx  # noqa: E402
from hwgen.tvm_backend import lstm_kernels, packing  # noqa: E402
from hwgen.tvm_backend.build import compile_lowered, llvm_target  # noqa: E402
from hwgen.tvm_backend.lower import lower_graph  # noqa: E402

C_SOURCE = Path(__file__).parent / "c_microkernel" / "ternary_matvec.c"


def best(fn, number: int, repeat: int = 9) -> float:
    """Seconds per call: the best over `repeat` rounds of the mean of `number` calls."""
    fn()
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - t0) / number)
    return min(rounds)


def lstm_onnx(hidden: int, size: int, steps: int, kind: str, rng: np.random.Generator) -> onnx.ModelProto:
    """An ONNX LSTM, fp32 weights or QCDQ ternary codes with per-row scales (what hwgen's export writes)."""
    nodes, inits = [], []
    for name, cols in (("W", size), ("R", hidden)):
        codes = rng.integers(-1, 2, (1, 4 * hidden, cols)).astype(np.int8)
        scale = (rng.uniform(0.5, 1.5, 4 * hidden) / np.sqrt(cols)).astype(np.float32)
        if kind == "float":
            inits.append(numpy_helper.from_array((codes * scale[None, :, None]).astype(np.float32), name))
        else:
            inits += [numpy_helper.from_array(codes, f"{name}_q"), numpy_helper.from_array(scale, f"{name}_s")]
            nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s"], [name], axis=1))
    inits.append(numpy_helper.from_array(rng.normal(0, 0.1, (1, 8 * hidden)).astype(np.float32), "B"))
    nodes.append(helper.make_node("LSTM", ["x", "W", "R", "B"], ["y", "y_h"], hidden_size=hidden))
    graph = helper.make_graph(nodes, f"lstm_{kind}_{hidden}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, size])],
                              [helper.make_tensor_value_info("y_h", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def ort_step(model: onnx.ModelProto, x: np.ndarray, number: int) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return best(lambda: session.run(None, {"x": x}), number) / x.shape[0]


def torch_step(hidden: int, x: np.ndarray, number: int) -> float:
    torch.set_num_threads(1)
    lstm = torch.nn.LSTM(x.shape[2], hidden).eval()
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        return best(lambda: lstm(xt), number) / x.shape[0]


def tvm_step(model: onnx.ModelProto, x: np.ndarray, number: int) -> tuple[float, str]:
    lowered = lower_graph(import_onnx(model))
    vm = relax.VirtualMachine(compile_lowered(lowered, "host"), tvm.cpu())
    args = [tvm.runtime.tensor(x)]
    timer = vm.time_evaluator("main", tvm.cpu(), number=number, repeat=9)
    return min(timer(*args).results) / x.shape[0], lowered.variant


def c_library(directory: Path) -> ctypes.CDLL:
    lib = directory / "libternary_matvec.so"
    subprocess.run(["gcc", "-O3", "-march=native", "-shared", "-fPIC", "-o", str(lib), str(C_SOURCE)], check=True)
    return ctypes.CDLL(str(lib))


def microkernel(c: ctypes.CDLL, hidden: int, kind: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """(C seconds, TVM seconds, max |difference|) for one 4H x H packed matvec."""
    rows = 4 * hidden
    codes = rng.choice([-1, 0, 1] if kind == "ternary" else [-1, 1], (rows, hidden)).astype(np.int8)
    panels = packing.pack_codes(codes, rng.uniform(0.5, 1.5, rows).astype(np.float32), kind)  # type: ignore[arg-type]
    per = panels.codes_per_word
    words = panels.data.shape[1]
    h = np.zeros(words * per, np.float32)
    h[:hidden] = rng.standard_normal(hidden)
    out_c = np.zeros(panels.rows_padded, np.float32)
    ptr = lambda a, t: a.ctypes.data_as(ctypes.POINTER(t))  # noqa: E731
    c_args = (ctypes.c_int(2 if kind == "ternary" else 1), ptr(h, ctypes.c_float), ptr(panels.data, ctypes.c_int32),
              ptr(panels.scale, ctypes.c_float), ptr(out_c, ctypes.c_float), ctypes.c_int(panels.rows_padded), ctypes.c_int(words))
    reps = max(10, 2_000_000 // (rows * hidden) * 10)
    c_time = best(lambda: c.matvec_repeat(ctypes.c_int(reps), *c_args), 1) / reps

    func = lstm_kernels.matvec(panels.rows_padded, hidden, kind)  # type: ignore[arg-type]
    lib = tvm.compile(tvm.IRModule({func.attrs["global_symbol"]: func}), target=tvm.target.Target(llvm_target("host")))
    out_t = tvm.runtime.tensor(np.zeros(panels.rows_padded, np.float32))
    args = [tvm.runtime.tensor(h), tvm.runtime.tensor(panels.data), tvm.runtime.tensor(panels.scale), out_t]
    timer = lib.mod.time_evaluator(func.attrs["global_symbol"], tvm.cpu(), number=reps, repeat=9)
    tvm_time = min(timer(*args).results)
    reference = (codes.astype(np.float64) @ h[:hidden]) * panels.scale[:rows]
    diff = max(float(np.abs(out_c[:rows] - reference).max()), float(np.abs(out_t.numpy()[:rows] - reference).max()))
    return c_time, tvm_time, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    console = Console()
    rng = np.random.default_rng(0)
    console.print(f"CPU {tvm.target.codegen.llvm_get_system_cpu()}, 1 thread, batch 1, T={args.steps}, input = hidden")

    seq = Table("H", "onnxruntime fp32", "PyTorch fp32", "hwgen-TVM fp32", "hwgen-TVM ternary", "ternary/ORT",
                "ternary/PyTorch", "fp32 TVM/ORT", title="LSTM latency per step (us)", title_justify="left")
    kern = Table("H", "kind", "C microkernel", "hwgen-TVM", "TVM speed / C speed", "max |err|",
                 title="recurrent matvec 4H x H (us per call)", title_justify="left")
    with tempfile.TemporaryDirectory() as tmp:
        c = c_library(Path(tmp))
        for hidden in args.hidden:
            x = rng.standard_normal((args.steps, 1, hidden)).astype(np.float32)
            number = max(3, int(4e6 // (hidden * hidden)))
            float_model = lstm_onnx(hidden, hidden, args.steps, "float", rng)
            ternary_model = lstm_onnx(hidden, hidden, args.steps, "ternary", rng)
            t_ort = ort_step(float_model, x, number)
            t_torch = torch_step(hidden, x, number)
            t_fp32, _ = tvm_step(float_model, x, number)
            t_tern, variant = tvm_step(ternary_model, x, number)
            assert variant == "ternary-f32act", variant
            us = lambda s: f"{s * 1e6:.2f}"  # noqa: E731
            seq.add_row(str(hidden), us(t_ort), us(t_torch), us(t_fp32), us(t_tern), f"{t_tern / t_ort:.3f}x",
                        f"{t_tern / t_torch:.3f}x", f"{t_fp32 / t_ort:.3f}x")
            for kind in ("ternary", "binary"):
                c_time, tvm_time, err = microkernel(c, hidden, kind, rng)
                kern.add_row(str(hidden), kind, us(c_time), us(tvm_time), f"{c_time / tvm_time:.3f}x", f"{err:.1e}")
            console.print(f"H={hidden} done")
    console.print(seq)
    console.print(kern)
    console.print("ratios < 1 in the first table mean hwgen-TVM is faster; > 1 in 'TVM speed / C speed' means TVM is faster")


if __name__ == "__main__":
    main()
