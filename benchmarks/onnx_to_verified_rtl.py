"""Wall time from an ONNX file to verified RTL at H=64 (target: <= 30 s).

A ternary digits LSTM (H=64, trained here first; training is not timed) goes through
import → fixed-point lowering → Verilog + memory images → Verilator build → simulation of
the whole digits test split, every output compared bit-exactly with the integer reference.
Three cache states, side by side against the 30 s target:
  cold    empty build cache (Verilator's runtime compiled too: a fresh machine's first run)
  warm    runtime objects cached, this design new (the usual case after any earlier build)
  cached  the same Verilog again (only simulation)
plus the same flow through the command line (`hwgen build` + `hwgen sim` subprocesses).
Wall seconds depend on what else runs on the machine; "CPU s" (this process and its
compilers) says what the flow costs on an unloaded one.

    .venv/bin/python benchmarks/onnx_to_verified_rtl.py
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_S = 30.0


def flow(onnx_path: Path, x: np.ndarray, out: Path) -> dict[str, float]:
    """One in-process run; returns seconds per stage."""
    from hwgen.frontend import load_graph
    from hwgen.hw.config import AccelConfig
    from hwgen.passes.pipeline import lower_for_accelerator
    from hwgen.rtl.emit import RtlBuild, emit
    from hwgen.sim.artifact_model import design_from_artifact
    from hwgen.sim.design import as_sequences
    from hwgen.sim.harness import build_harness
    from hwgen.sim.verify import verify

    times: dict[str, float] = {}
    cpu0 = time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    t = time.perf_counter()
    graph = load_graph(str(onnx_path))
    times["import ONNX"] = time.perf_counter() - t
    t = time.perf_counter()
    model = lower_for_accelerator(graph, x)
    config = AccelConfig.for_model(model, lanes=8)
    emit(RtlBuild(config, model, model.quantize_input(x[:4])), out)
    times["lower + emit Verilog"] = time.perf_counter() - t
    t = time.perf_counter()
    design, sim_model = design_from_artifact(out)
    build_harness(design)
    times["Verilator build"] = time.perf_counter() - t
    t = time.perf_counter()
    result = verify(design, as_sequences(model.quantize_input(x), design.step_elements), model=sim_model)
    times["simulate + check"] = time.perf_counter() - t
    assert result.passed, result.mismatch
    times["cpu"] = time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu0
    times["sequences"] = len(result.run.outputs)
    times["cycles"] = result.run.cycles
    return times


def cli_flow(onnx_path: Path, x_path: Path, out: Path, env: dict[str, str]) -> float:
    hwgen = str(Path(sys.executable).parent / "hwgen")
    t = time.perf_counter()
    subprocess.run([hwgen, "build", str(onnx_path), "--target", "rtl", "-o", str(out), "--calibrate", str(x_path)],
                   check=True, env=env, capture_output=True)
    proc = subprocess.run([hwgen, "sim", str(out), "--input", str(x_path)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return time.perf_counter() - t


def main() -> None:
    from hwgen.quant.data import digits_split
    from hwgen.quant.pipeline import train_and_export_digits

    root = Path(tempfile.mkdtemp(prefix="hwgen-bench-"))
    try:
        onnx_path = train_and_export_digits(root / "model", weights="ternary", hidden=64, epochs=5)
        x, _ = digits_split(0)
        np.save(root / "x.npy", x)
        cache = root / "cache"
        os.environ["HWGEN_CACHE"] = str(cache)
        rows = []
        rows.append(("cold", flow(onnx_path, x, root / "cold")))
        shutil.rmtree(cache / "harness")  # keep the runtime objects, forget the design
        rows.append(("warm", flow(onnx_path, x, root / "warm")))
        rows.append(("cached", flow(onnx_path, x, root / "cached")))
        shutil.rmtree(cache / "harness")
        cli = cli_flow(onnx_path, root / "x.npy", root / "cli", dict(os.environ))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    stages = ["import ONNX", "lower + emit Verilog", "Verilator build", "simulate + check"]
    print(f"\nONNX -> verified RTL, ternary digits LSTM H=64 X=8, 8 lanes; "
          f"{int(rows[0][1]['sequences'])} test sequences, {int(rows[0][1]['cycles']):,} cycles, all bit-exact")
    print(f"{'cache':<8}" + "".join(f"{s:>22}" for s in stages) + f"{'total s':>10}{'vs 30 s target':>16}"
          f"{'CPU s':>8}")
    for label, times in rows:
        total = sum(times[s] for s in stages)
        print(f"{label:<8}" + "".join(f"{times[s]:>22.2f}" for s in stages) + f"{total:>10.2f}{total / TARGET_S:>15.2f}x"
              f"{times['cpu']:>8.1f}")
    print(f"{'CLI':<8}{'hwgen build + hwgen sim (warm cache; includes the CLI start-up)':>88}{cli:>10.2f}"
          f"{cli / TARGET_S:>15.2f}x")


if __name__ == "__main__":
    main()
