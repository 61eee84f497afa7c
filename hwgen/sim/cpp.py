"""Run sequences through a design with the compiled C++ harness (see :mod:`hwgen.sim.harness`)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from hwgen.sim.design import Design
from hwgen.sim.harness import build_harness
from hwgen.sim.verilator import SimulatorError, find_verilator

OUT_BEAT = np.dtype([("value", "<i8"), ("cycle", "<i8"), ("sequence", "<i4"), ("last", "<i4")])


@dataclass(frozen=True)
class Stalls:
    """Per-mille probabilities of a cycle without input valid / output ready, and the seed."""

    input: int = 0
    output: int = 0
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("input", "output"):
            value = getattr(self, name)
            if not 0 <= value < 1000:
                raise SimulatorError(f"Stalls.{name} must be per mille in [0, 999], not {value}")


@dataclass(frozen=True)
class SimRun:
    """What came out of one simulation: every output beat and each sequence's timing.

    outputs[i]: the output values of sequence i in arrival order; out_cycles[i] the cycle
    of each. first_in/last_in/last_out: cycle of the first and last input beat and of the
    `out_last` beat (-1 where it never happened). cycles: simulated cycles after reset.
    """

    outputs: tuple[np.ndarray, ...]
    out_cycles: tuple[np.ndarray, ...]
    first_in: np.ndarray
    last_in: np.ndarray
    last_out: np.ndarray
    cycles: int
    seconds: float
    status: str
    engine: str
    cpu_seconds: float = 0.0

    @property
    def sequence_cycles(self) -> np.ndarray:
        """Cycles from each sequence's first input beat to its last output beat, inclusive."""
        return self.last_out - self.first_in + 1

    @property
    def cycles_per_second(self) -> float:
        """Simulated cycles per wall-clock second of the simulation loop."""
        return self.cycles / self.seconds if self.seconds > 0 else float("inf")

    @property
    def cycles_per_cpu_second(self) -> float:
        """Simulated cycles per CPU second (what the simulator reaches on an unloaded core)."""
        return self.cycles / self.cpu_seconds if self.cpu_seconds > 0 else self.cycles_per_second


def write_inputs(path: Path, sequences: list[np.ndarray], elements: int) -> None:
    header = np.array([1, len(sequences), elements], dtype="<u4")
    with open(path, "wb") as handle:
        handle.write(b"HWGI")
        handle.write(header.tobytes())
        for seq in sequences:
            handle.write(np.array([seq.shape[0]], dtype="<u4").tobytes())
            handle.write(np.ascontiguousarray(seq, dtype="<i4").tobytes())


def split_beats(beats: np.ndarray, count: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Group output beat records by sequence index (beats arrive in sequence order)."""
    bounds = np.searchsorted(beats["sequence"], np.arange(count + 1), side="left")
    values = tuple(beats["value"][bounds[i]:bounds[i + 1]].copy() for i in range(count))
    cycles = tuple(beats["cycle"][bounds[i]:bounds[i + 1]].copy() for i in range(count))
    return values, cycles


def run_cpp(design: Design, sequences: list[np.ndarray], stalls: Stalls = Stalls(),
            idle_limit: int = 10_000_000, isolate: bool = False, vcd: Optional[Path] = None,
            vcd_window: Optional[tuple[int, int]] = None) -> SimRun:
    """Stream `sequences` (each (steps, elements) int) through `design` with the C++ harness.

    `isolate` starts each sequence only after the previous one's outputs are out (each then
    takes exactly expected_cycles); otherwise sequences follow back to back. With `vcd`, the
    tracing build dumps the cycles in `vcd_window` (default: all) and stops right after it.
    """
    design.check_inputs(sequences)
    exe = build_harness(design, trace=vcd is not None)
    with tempfile.TemporaryDirectory(prefix="hwgen-sim-") as tmp_name:
        tmp = Path(tmp_name)
        write_inputs(tmp / "inputs.bin", sequences, design.step_elements)
        upload = []
        if design.upload is not None:
            design.upload_words().astype("<u8").tofile(tmp / "upload.bin")
            upload = ["--upload", str(tmp / "upload.bin")]
        cmd = [str(exe), str(tmp / "inputs.bin"), str(tmp / "outputs.bin"), str(tmp / "timing.bin"),
               "--stall-in", str(stalls.input), "--stall-out", str(stalls.output),
               "--seed", str(stalls.seed), "--idle-limit", str(idle_limit), "--isolate", str(int(isolate)), *upload]
        if vcd is not None:
            cmd += ["--vcd", str(Path(vcd).resolve())]
            if vcd_window is not None:
                cmd += ["--vcd-from", str(vcd_window[0]), "--vcd-to", str(vcd_window[1]),
                        "--stop-at", str(vcd_window[1] + 1)]
        proc = subprocess.run(cmd, cwd=design.workdir, env=find_verilator().environment(),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SimulatorError(f"the simulation of {design.top} failed (exit {proc.returncode}): "
                                 f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        beats = np.fromfile(tmp / "outputs.bin", dtype=OUT_BEAT)
        timing = np.fromfile(tmp / "timing.bin", dtype="<i8").reshape(len(sequences), 3)
    outputs, out_cycles = split_beats(beats, len(sequences))
    return SimRun(outputs=outputs, out_cycles=out_cycles, first_in=timing[:, 0], last_in=timing[:, 1],
                  last_out=timing[:, 2], cycles=int(summary["cycles"]), seconds=float(summary["seconds"]),
                  status=summary["status"], engine="cpp", cpu_seconds=float(summary["cpu_seconds"]))
