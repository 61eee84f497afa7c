"""Per-step latency of hwgen's TVM ternary LSTM vs onnxruntime and PyTorch fp32 LSTMs, and of
the packed recurrent kernels vs hand-written C microkernels of the same layouts (gcc -O3
-march=native, compiled in this run).

Two hwgen-TVM ternary variants run on the same ONNX model: float activations (`hwgen build
--target tvm`, packed 2-bit weights, fp32 arithmetic) and int8 activations (`--tvm-activations
int8`: the RTL path's fixed-point model, bit-exact with IntegerModel.run, checked here; AVX2
u8 x s8 multiply-add kernels where the CPU has AVX2). The int8 variant takes the integer input
codes its interface defines (`IntegerModel.quantize_input`, prepared once, outside the timing).

One thread everywhere, batch 1, T = 100 steps, input size = hidden size. "per step" is the
latency of the whole sequence (input projection included) divided by T; contenders are timed
round-robin and the best round counts, so load from other processes hits all alike. Every
ratio is printed; the issue's targets: TVM ternary <= 0.5x onnxruntime at H=256 and better above,
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
from typing import Callable  # noqa: E402

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
from hwgen.passes.lower_fixed_point import lower_fixed_point  # noqa: E402
from hwgen.tvm_backend import lstm_kernels, packing, quad_kernels  # noqa: E402
from hwgen.tvm_backend.library import compile_lowered  # noqa: E402
from hwgen.tvm_backend.llvm import compile_module, llvm_target  # noqa: E402
from hwgen.tvm_backend.integer import lower_integer  # noqa: E402
from hwgen.tvm_backend.lower import lower_graph  # noqa: E402

C_SOURCES = [Path(__file__).parent / "c_microkernel" / name for name in ("ternary_matvec.c", "quad_matvec.c")]


def race(contenders: dict[str, Callable[[], object]], number: int, rounds: int = 15) -> dict[str, float]:
    """Seconds per call of each contender: the best round, with the contenders interleaved round by
    round so that load from other processes on the machine hits them all alike."""
    for fn in contenders.values():
        fn()
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / number)
    return best


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


def ort_runner(model: onnx.ModelProto, x: np.ndarray) -> Callable[[], object]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"x": x})


def torch_runner(hidden: int, x: np.ndarray) -> Callable[[], object]:
    torch.set_num_threads(1)
    lstm = torch.nn.LSTM(x.shape[2], hidden).eval()
    xt = torch.from_numpy(x)

    def run() -> object:
        with torch.inference_mode():
            return lstm(xt)

    return run


def tvm_runner(model: onnx.ModelProto, x: np.ndarray) -> tuple[Callable[[], object], str]:
    lowered = lower_graph(import_onnx(model))
    vm = relax.VirtualMachine(compile_lowered(lowered, "host"), tvm.cpu())
    main = vm["main"]
    arg = tvm.runtime.tensor(x)
    return (lambda: main(arg)), lowered.variant


def tvm_int8_runner(model: onnx.ModelProto, x: np.ndarray) -> tuple[Callable[[], object], str]:
    """The --tvm-activations int8 build of `model` on x [T, 1, X], checked bit-exact against IntegerModel.run once."""
    integer = lower_fixed_point(import_onnx(model))
    codes = np.ascontiguousarray(integer.quantize_input(x.transpose(1, 0, 2)), np.int32)  # [N, T, X]
    lowered = lower_integer(integer, codes.shape[0], codes.shape[1])
    main = relax.VirtualMachine(compile_module(lowered.module, "host"), tvm.cpu())["main"]
    arg = tvm.runtime.tensor(codes)
    if not np.array_equal(main(arg).numpy(), integer.run(codes)):
        raise AssertionError("the int8-activation TVM build differs from IntegerModel.run")
    return (lambda: main(arg)), f"{lowered.variant} ({lowered.kernel_set})"


def c_library(directory: Path) -> ctypes.CDLL:
    lib = directory / "libmicrokernels.so"
    subprocess.run(["gcc", "-O3", "-march=native", "-shared", "-fPIC", "-o", str(lib), *map(str, C_SOURCES)], check=True)
    return ctypes.CDLL(str(lib))


def kernel_race(c_repeat: Callable[[int], object], func: object, args: list, reps: int) -> tuple[float, float]:
    """(C seconds, TVM seconds) per call: both loop `reps` times inside native code (the TVM timer costs
    ~0.1 ms per call, so reps make each timed call last milliseconds), interleaved over 61 rounds."""
    name = func.attrs["global_symbol"]  # type: ignore[attr-defined]
    timer = compile_module(tvm.IRModule({name: func}), "host").mod.time_evaluator(name, tvm.cpu(), number=reps, repeat=1)
    times = race({"c": lambda: c_repeat(reps), "tvm": lambda: timer(*args)}, 1, rounds=61)
    return times["c"] / reps, times["tvm"] / reps


def shared(*arrays: np.ndarray) -> tuple[list, list[np.ndarray]]:
    """TVM tensors of `arrays` and zero-copy numpy views of them: the C kernel reads the very same bytes."""
    tensors = [tvm.runtime.tensor(np.ascontiguousarray(a)) for a in arrays]
    return tensors, [np.from_dlpack(t) for t in tensors]


def ptr(a: np.ndarray, ctype: type) -> object:
    return a.ctypes.data_as(ctypes.POINTER(ctype))


def repetitions(rows: int, hidden: int) -> int:
    return max(16, 40_000_000 // (rows * hidden))


def quad_microkernel(c: ctypes.CDLL, hidden: int, kind: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """(C seconds, TVM seconds, max |difference|) for one 4H x H packed matvec with int8 activations (quad layout)."""
    rows = 4 * hidden
    codes = rng.choice([-1, 0, 1] if kind == "ternary" else [-1, 1], (rows, hidden)).astype(np.int8)
    panels = packing.pack_quads(codes, kind)  # type: ignore[arg-type]
    x = np.zeros((1, panels.cols_padded), np.int8)
    x[0, :hidden] = rng.integers(-128, 128, hidden)
    tensors, (xv, wv, out_c, out_t) = shared(x, panels.data, np.zeros(panels.rows_padded, np.int32),
                                               np.zeros((1, panels.rows_padded), np.int32))
    c_args = (ctypes.c_int(panels.bits), ptr(xv, ctypes.c_int8), ptr(wv, ctypes.c_uint8), ptr(out_c, ctypes.c_int32),
              ctypes.c_int(panels.rows_padded), ctypes.c_int(panels.data.shape[1]), ctypes.c_int(quad_kernels.chunk_blocks(panels)))
    c_time, tvm_time = kernel_race(lambda reps: c.quad_matvec_repeat(ctypes.c_int(reps), *c_args), quad_kernels.matvec(panels),
                                   [tensors[0], tensors[1], tensors[3]], repetitions(rows, hidden))
    reference = codes.astype(np.int64) @ x[0, :hidden].astype(np.int64)
    diff = max(float(np.abs(out_c[:rows] - reference).max()), float(np.abs(out_t[0, :rows] - reference).max()))
    return c_time, tvm_time, diff


def microkernel(c: ctypes.CDLL, hidden: int, kind: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """(C seconds, TVM seconds, max |difference|) for one 4H x H packed matvec with float activations."""
    rows = 4 * hidden
    codes = rng.choice([-1, 0, 1] if kind == "ternary" else [-1, 1], (rows, hidden)).astype(np.int8)
    panels = packing.pack_codes(codes, rng.uniform(0.5, 1.5, rows).astype(np.float32), kind)  # type: ignore[arg-type]
    words = panels.data.shape[1]
    h = np.zeros(words * panels.codes_per_word, np.float32)
    h[:hidden] = rng.standard_normal(hidden)
    tensors, (hv, wv, sv, out_c, out_t) = shared(h, panels.data, panels.scale, np.zeros(panels.rows_padded, np.float32),
                                                   np.zeros(panels.rows_padded, np.float32))
    c_args = (ctypes.c_int(2 if kind == "ternary" else 1), ptr(hv, ctypes.c_float), ptr(wv, ctypes.c_int32),
              ptr(sv, ctypes.c_float), ptr(out_c, ctypes.c_float), ctypes.c_int(panels.rows_padded), ctypes.c_int(words))
    c_time, tvm_time = kernel_race(lambda reps: c.matvec_repeat(ctypes.c_int(reps), *c_args),
                                   lstm_kernels.matvec(panels.rows_padded, hidden, kind),  # type: ignore[arg-type]
                                   [tensors[0], tensors[1], tensors[2], tensors[4]], repetitions(rows, hidden))
    reference = (codes.astype(np.float64) @ h[:hidden]) * panels.scale[:rows]
    diff = max(float(np.abs(out_c[:rows] - reference).max()), float(np.abs(out_t[:rows] - reference).max()))
    return c_time, tvm_time, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--only", choices=("lstm", "kernel"), default=None, help="run one of the two tables")
    parser.add_argument("--rounds", type=int, default=15, help="round-robin rounds of the LSTM table (more on a loaded machine)")
    args = parser.parse_args()
    console = Console(width=240)  # every column of the wide LSTM table readable
    rng = np.random.default_rng(0)
    console.print(f"CPU {tvm.target.codegen.llvm_get_system_cpu()}, 1 thread, batch 1, T={args.steps}, input = hidden")

    seq = Table("H", "onnxruntime fp32", "PyTorch fp32", "hwgen-TVM fp32", "TVM ternary f32-act", "TVM ternary int8-act",
                "f32-act/ORT", "int8-act/ORT", "f32-act/PyTorch", "int8-act/PyTorch", "fp32 TVM/ORT",
                title="LSTM latency per step (us)", title_justify="left")
    kern = Table("H", "kind", "activations", "C microkernel", "hwgen-TVM", "TVM speed / C speed", "max |err|",
                 title="recurrent matvec 4H x H (us per call; each C kernel reads the same layout as the TVM one)",
                 title_justify="left")
    int8_variant = ""
    with tempfile.TemporaryDirectory() as tmp:
        c = c_library(Path(tmp))
        for hidden in args.hidden:
            us = lambda s: f"{s * 1e6:.2f}"  # noqa: E731
            if args.only != "kernel":
                x = rng.standard_normal((args.steps, 1, hidden)).astype(np.float32)
                number = max(2, int(1e6 // (hidden * hidden)))
                float_model = lstm_onnx(hidden, hidden, args.steps, "float", rng)
                ternary_model = lstm_onnx(hidden, hidden, args.steps, "ternary", rng)
                fp32_tvm, _ = tvm_runner(float_model, x)
                ternary_tvm, variant = tvm_runner(ternary_model, x)
                assert variant == "ternary-f32act", variant
                int8_tvm, int8_variant = tvm_int8_runner(ternary_model, x)
                times = race({"ort": ort_runner(float_model, x), "torch": torch_runner(hidden, x), "fp32": fp32_tvm,
                              "ternary": ternary_tvm, "int8": int8_tvm}, number, rounds=args.rounds)
                t_ort, t_torch, t_fp32, t_tern, t_int8 = (times[k] / args.steps for k in ("ort", "torch", "fp32", "ternary", "int8"))
                seq.add_row(str(hidden), us(t_ort), us(t_torch), us(t_fp32), us(t_tern), us(t_int8), f"{t_tern / t_ort:.3f}x",
                            f"{t_int8 / t_ort:.3f}x", f"{t_tern / t_torch:.3f}x", f"{t_int8 / t_torch:.3f}x", f"{t_fp32 / t_ort:.3f}x")
            if args.only != "lstm":
                for kind in ("ternary", "binary"):
                    c_time, tvm_time, err = microkernel(c, hidden, kind, rng)
                    kern.add_row(str(hidden), kind, "f32", us(c_time), us(tvm_time), f"{c_time / tvm_time:.3f}x", f"{err:.1e}")
                if quad_kernels.available(llvm_target("host")):
                    for kind in ("ternary", "binary"):
                        c_time, tvm_time, err = quad_microkernel(c, hidden, kind, rng)
                        kern.add_row(str(hidden), kind, "int8", us(c_time), us(tvm_time), f"{c_time / tvm_time:.3f}x", f"{err:.1e}")
            console.print(f"H={hidden} done")
    if args.only != "kernel":
        console.print(seq)
        console.print(f"int8-act: {int8_variant}, bit-exact with IntegerModel.run; f32-act: ternary-f32act (rtol 1e-5 tests)")
    if args.only != "lstm":
        console.print(kern)
    console.print("ratios < 1 in the first table mean hwgen-TVM is faster; > 1 in 'TVM speed / C speed' means TVM is faster")


if __name__ == "__main__":
    main()
