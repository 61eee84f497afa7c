"""Simulated cycles per second: C++ Verilator harness vs the cocotb testbench (and amaranth.sim).

The same generated accelerator, the same integer sequences, every output checked
bit-exactly against the IntegerModel in each engine. Baseline: cocotb on Verilator (Python
drives the streams, the design runs free between awaits). Rates are given per wall second
and per CPU second of the simulating process (the machine may be shared; CPU-seconds say
what one unloaded core reaches). Builds are excluded (they are cached by content).

    .venv/bin/python benchmarks/sim_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hwgen.hw.config import AccelConfig
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import lower_stack
from hwgen.rtl.emit import RtlBuild, emit
from hwgen.sim.artifact_model import design_from_artifact
from hwgen.sim.cocotb_run import build_cocotb
from hwgen.sim.harness import build_harness
from hwgen.sim.verify import verify


def build_rtl(hidden: int, input_size: int, lanes: int, memory: str, steps: int, folder: Path) -> Path:
    model = lower_stack(random_stack(hidden, input_size, 1, 10, seed=1))
    config = AccelConfig.for_model(model, lanes=lanes, weight_memory=memory)
    rng = np.random.default_rng(0)
    emit(RtlBuild(config, model, model.quantize_input(rng.uniform(-1, 1, (2, steps, input_size)))), folder)
    return folder


def amaranth_rate(out: Path, sequences: list[np.ndarray]) -> tuple[float, float]:
    from hwgen.hw.amaranth_sim import simulate
    from hwgen.rtl.artifact import load

    artifact = load(out)
    wall, cpu = time.perf_counter(), time.process_time()
    result = simulate(artifact.config, sequences)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert all(np.array_equal(o, artifact.model.run(s)) for o, s in zip(result.outputs, sequences))
    cycles = int(max(result.cycles)) if len(result.cycles) else 0
    return cycles / wall, cycles / cpu


def measure(label: str, hidden: int, input_size: int, lanes: int, memory: str, steps: int,
            cpp_sequences: int, slow_sequences: int, with_amaranth: bool) -> list[tuple[str, str, float, float, int]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = build_rtl(hidden, input_size, lanes, memory, steps, Path(tmp) / "rtl")
        design, model = design_from_artifact(out)
        rng = np.random.default_rng(1)
        x = model.quantize_input(rng.uniform(-1, 1, (cpp_sequences, steps, input_size)))
        sequences = list(x)
        t = time.perf_counter()
        build_harness(design)
        build_cocotb(design)
        print(f"{label}: builds ready in {time.perf_counter() - t:.1f} s "
              f"({model.expected_cycles(steps):,} cycles per {steps}-step sequence)")
        cocotb = verify(design, sequences[:slow_sequences], engine="cocotb", model=model)
        assert cocotb.passed
        rows.append((label, "cocotb + Verilator (baseline)", cocotb.run.cycles_per_second,
                     cocotb.run.cycles_per_cpu_second, cocotb.run.cycles))
        cpp = verify(design, sequences, engine="cpp", model=model)
        assert cpp.passed
        rows.append((label, "C++ harness + Verilator", cpp.run.cycles_per_second, cpp.run.cycles_per_cpu_second,
                     cpp.run.cycles))
        if with_amaranth:
            wall, cpu = amaranth_rate(out, sequences[:1])
            rows.append((label, "amaranth.sim (Python)", wall, cpu, model.expected_cycles(steps)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="H=32 only")
    args = parser.parse_args()
    rows = measure("H=32 X=8 ebr", 32, 8, 8, "ebr", 8, 400, 4, with_amaranth=True)
    if not args.quick:
        rows += measure("H=128 X=64 spram", 128, 64, 8, "spram", 16, 48, 1, with_amaranth=False)
    print()
    print(f"{'design':<18} {'engine':<30} {'cycles':>12} {'cycles/s wall':>14} {'cycles/s CPU':>13} {'x cocotb (CPU)':>15}")
    base: dict[str, float] = {}
    for label, engine, wall, cpu, cycles in rows:
        if engine.startswith("cocotb"):
            base[label] = cpu
        print(f"{label:<18} {engine:<30} {cycles:>12,} {wall:>14,.0f} {cpu:>13,.0f} {cpu / base[label]:>14.3g}x")
    h128 = [r for r in rows if r[0].startswith("H=128") and r[1].startswith("C++")]
    if h128:
        print(f"\nH=128 C++ harness: {h128[0][3] / 1e6:.2f} M simulated cycles per CPU second "
              f"({h128[0][2] / 1e6:.2f} M per wall second on this machine) — target >= 1 M")


if __name__ == "__main__":
    main()
