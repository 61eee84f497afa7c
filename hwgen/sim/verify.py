"""Verify a design against its bit-exact model: stream sequences, compare every output.

`verify()` is what `hwgen sim` calls. It runs the C++ harness (fast, whole test sets) or
the cocotb bench (back-pressure, mid-sequence resets), compares every output element of
every sequence with the model, measures cycles against `expected_cycles()`, and on the
first mismatch re-runs the tracing build to write a VCD waveform around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from hwgen.errors import HwgenError
from hwgen.sim.cpp import SimRun, Stalls, run_cpp
from hwgen.sim.design import Design, SequenceModel

ENGINES = ("cpp", "cocotb")
#: Cycles of waveform kept before and after a mismatching output beat.
VCD_BEFORE, VCD_AFTER = 400, 40
#: A full-run waveform (--vcd without a mismatch) stops after this many cycles.
VCD_FULL_LIMIT = 200_000


@dataclass(frozen=True)
class Mismatch:
    """The first output that differs: where, what was expected, what came out, and when."""

    sequence: int
    step: int
    neuron: int
    index: int
    expected: Optional[int]
    actual: Optional[int]
    cycle: int
    vcd: Optional[Path] = None

    def describe(self) -> str:
        exp = "no output" if self.expected is None else str(self.expected)
        act = "no output" if self.actual is None else str(self.actual)
        where = f" (waveform around cycle {self.cycle}: {self.vcd})" if self.vcd else ""
        return (f"mismatch in sequence {self.sequence}, step {self.step}, neuron {self.neuron} "
                f"(output element {self.index}): expected {exp}, RTL gave {act} at cycle {self.cycle}{where}")


@dataclass(frozen=True)
class Verification:
    """Outcome of one verification run."""

    design: str
    engine: str
    run: SimRun
    expected: tuple[np.ndarray, ...]
    steps: np.ndarray
    expected_cycles: np.ndarray
    mismatch: Optional[Mismatch]
    bench_errors: tuple[str, ...] = field(default=())
    resets_checked: tuple[str, ...] = field(default=())
    stalls: Stalls = field(default=Stalls())
    isolated: bool = False

    @property
    def passed(self) -> bool:
        return self.mismatch is None and not self.bench_errors and self.run.status == "ok"

    @property
    def outputs_checked(self) -> int:
        return int(sum(len(e) for e in self.expected))

    @property
    def measured_cycles(self) -> np.ndarray:
        return self.run.sequence_cycles

    @property
    def cycles_compared(self) -> int:
        """How many sequences' cycle counts are comparable with expected_cycles: all when run
        isolated, else only the first (later ones overlap with their predecessor)."""
        return len(self.steps) if self.isolated else 1

    @property
    def cycles_match(self) -> bool:
        """Those sequences took exactly expected_cycles(steps) (meaningful without back-pressure)."""
        n = self.cycles_compared
        return bool(np.array_equal(self.measured_cycles[:n], self.expected_cycles[:n]))

    @property
    def cycles_per_step(self) -> float:
        """Throughput: simulated cycles per time step over the whole run."""
        return self.run.cycles / float(self.steps.sum())

    def predictions(self, per_step: bool = False) -> np.ndarray:
        """argmax of the outputs as the RTL produced them: one class per sequence (classifier heads),
        or with `per_step` one per step, sequences concatenated (per-step heads, e.g. a char-LM)."""
        return argmax_classes(self.run.outputs, self.steps, per_step)


def argmax_classes(outputs: Sequence[np.ndarray], steps: np.ndarray, per_step: bool) -> np.ndarray:
    """Predicted classes of each sequence's flat outputs ([K] or, per step, [T·K]); -1 where a sequence gave none."""
    if not per_step:
        return np.array([int(np.argmax(o)) if len(o) else -1 for o in outputs])
    return np.concatenate([np.argmax(np.reshape(o, (int(t), -1)), axis=1) if len(o) else np.full(int(t), -1)
                           for o, t in zip(outputs, steps)])


def expected_outputs(model: SequenceModel, sequences: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The model's outputs per sequence; equal-length sequences go through in one batch when the
    model says it takes batches (`run_batch`) — guessing from `run`'s output shape once mistook a
    sum over sequences for a batch of sums."""
    lengths = {s.shape[0] for s in sequences}
    run_batch = getattr(model, "run_batch", None)
    if run_batch is not None and len(lengths) == 1 and len(sequences) > 1:
        batch = np.asarray(run_batch(np.stack(sequences)), dtype=np.int64)
        return tuple(row.reshape(-1) for row in batch)
    return tuple(np.asarray(model.run(s), dtype=np.int64).reshape(-1) for s in sequences)


def sequence_cycles(model: SequenceModel, sequence: np.ndarray) -> int:
    """The exact cycles of one sequence: `model.sequence_cycles(x)` where they depend on the data (a gated pair,
    `hwgen.sim.gated_model`), else `expected_cycles(steps)`."""
    exact = getattr(model, "sequence_cycles", None)
    return int(exact(sequence)) if exact is not None else int(model.expected_cycles(int(sequence.shape[0])))


def first_mismatch(design: Design, sequences: list[np.ndarray], expected: tuple[np.ndarray, ...],
                   run: SimRun) -> Optional[Mismatch]:
    """Compare bit-exactly, sequence by sequence; the first differing (or missing) element."""
    for i, (want, got) in enumerate(zip(expected, run.outputs)):
        if len(got) == len(want) and np.array_equal(got, want):
            continue
        n = min(len(got), len(want))
        diff = np.nonzero(got[:n] != want[:n])[0]
        k = int(diff[0]) if len(diff) else n
        cycles = run.out_cycles[i]
        if k < len(cycles):
            cycle = int(cycles[k])
        else:  # missing output: point at the last thing that happened in that sequence
            cycle = int(max(run.last_out[i], run.last_in[i], run.first_in[i], cycles[-1] if len(cycles) else 0))
        step, neuron = design.locate(k, sequences[i].shape[0])
        return Mismatch(sequence=i, step=step, neuron=neuron, index=k,
                        expected=int(want[k]) if k < len(want) else None,
                        actual=int(got[k]) if k < len(got) else None, cycle=max(cycle, 0))
    return None


def verify(design: Design, sequences: list[np.ndarray], engine: str = "cpp", stalls: Stalls = Stalls(),
           vcd: Optional[Path] = None, reset_mid_sequence: bool = False,
           model: Optional[SequenceModel] = None, isolate: bool = False) -> Verification:
    """Stream `sequences` through `design` and check every output against its model.

    `stalls` adds random back-pressure (per mille) on both streams; `isolate` (cpp engine)
    starts each sequence after the previous one's outputs, so every sequence's cycle count
    is checked against expected_cycles (otherwise only the first one's). With `vcd`, a waveform
    is written there (around the first mismatch if there is one, else from the start);
    on a mismatch without `vcd`, it goes to `<workdir>/mismatch.vcd`.
    """
    if engine not in ENGINES:
        raise HwgenError(f"unknown simulation engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not sequences:
        raise HwgenError("no input sequences to simulate")
    design.check_inputs(sequences)
    model = model or design.model.load()
    expected = expected_outputs(model, sequences)
    steps = np.array([s.shape[0] for s in sequences])
    idle_limit = 20 * max(model.expected_cycles(int(t)) for t in set(steps.tolist())) + 10_000
    bench_errors: tuple[str, ...] = ()
    resets: tuple[str, ...] = ()
    if engine == "cpp":
        run = run_cpp(design, sequences, stalls, idle_limit=idle_limit, isolate=isolate)
    else:
        from hwgen.sim.cocotb_run import CocotbOptions, run_cocotb

        options = CocotbOptions(stall_in=stalls.input / 1000, stall_out=stalls.output / 1000, seed=stalls.seed,
                                reset_mid_sequence=reset_mid_sequence, drain_cycles=idle_limit,
                                waves=vcd is not None)
        run, report = run_cocotb(design, sequences, options, vcd=vcd)
        bench_errors, resets = tuple(report["errors"]), tuple(report["resets"])
    mismatch = first_mismatch(design, sequences, expected, run)
    if (mismatch is not None or bench_errors) and engine == "cocotb" and vcd is None:
        # the bench's waveform of the whole (short) run, replayed with the same seed
        path = design.workdir / "mismatch.vcd"
        run_cocotb(design, sequences, replace(options, waves=True), vcd=path)
        mismatch = replace(mismatch, vcd=path) if mismatch is not None else None
    elif mismatch is not None and engine == "cocotb":
        mismatch = replace(mismatch, vcd=Path(vcd))
    if mismatch is not None and engine == "cpp":
        path = Path(vcd) if vcd is not None else design.workdir / "mismatch.vcd"
        window = (max(0, mismatch.cycle - VCD_BEFORE), mismatch.cycle + VCD_AFTER)
        run_cpp(design, sequences, stalls, idle_limit=idle_limit, isolate=isolate, vcd=path,
                vcd_window=window)
        mismatch = replace(mismatch, vcd=path)
    elif vcd is not None and engine == "cpp":
        run_cpp(design, sequences, stalls, idle_limit=idle_limit, isolate=isolate, vcd=Path(vcd),
                vcd_window=(0, min(run.cycles + 2, VCD_FULL_LIMIT)))
    exp_cycles = np.array([sequence_cycles(model, s) for s in sequences])
    return Verification(design=design.top, engine=engine, run=run, expected=expected, steps=steps,
                        expected_cycles=exp_cycles, mismatch=mismatch, bench_errors=bench_errors,
                        resets_checked=resets, stalls=stalls, isolated=isolate and engine == "cpp")
