"""cocotb testbench: driver, monitor, model and scoreboard for a streaming design.

This module is loaded by cocotb inside the simulator process (see :mod:`hwgen.sim.cocotb_run`,
which writes the job folder named by $HWGEN_SIM_JOB: job.json + inputs.npz, and reads
result.json + outputs.npz back). Python never steps the clock itself: the clock runs in the
simulator, and the components wait on handshake signals or cycle counts, so the design
runs free between awaits (during the LSTM's compute, nothing happens in Python).

Scenarios, in order:
  1. reset in the middle of a sequence's input (after a random number of beats), then
     reset while the design computes (one cycle after `in_last`): no output may leak out;
  2. every sequence back to back (they have different lengths), with random valid/ready
     back-pressure on both streams; every output is checked against the model.
"""

from __future__ import annotations

import collections
import json
import os
import random
import time
from pathlib import Path
from typing import Any, Deque, Optional

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, Event, ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from hwgen.sim.design import ModelSpec

CLOCK_NS = 10


def _cycle() -> int:
    return int(get_sim_time("ns")) // CLOCK_NS


def _signed(value: Any, width: int) -> int:
    raw = int(value.to_unsigned()) if hasattr(value, "to_unsigned") else int(value)
    return raw - (1 << width) if raw >> (width - 1) else raw


class ReferenceModel:
    """Predicts each complete input sequence's outputs with the design's bit-exact model."""

    def __init__(self, spec: ModelSpec):
        self.model = spec.load()

    def predict(self, sequence: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.run(sequence), dtype=np.int64).reshape(-1)


class Scoreboard:
    """Pairs expected sequences (from the model, in input order) with received ones."""

    def __init__(self) -> None:
        self.expected: Deque[tuple[int, np.ndarray]] = collections.deque()
        self.checked = 0
        self.errors: list[str] = []
        self.all_done = Event()
        self.target = 0

    def expect(self, index: int, values: np.ndarray) -> None:
        self.expected.append((index, values))

    def drop_pending(self) -> None:
        """After a reset, outputs of interrupted sequences must never appear."""
        self.expected.clear()

    def receive(self, values: list[int]) -> None:
        if not self.expected:
            self.errors.append(f"unexpected output sequence {values[:8]}... (nothing was pending)")
        else:
            index, want = self.expected.popleft()
            got = np.asarray(values, dtype=np.int64)
            if got.shape != want.shape or not np.array_equal(got, want):
                bad = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                           min(len(got), len(want)))
                self.errors.append(
                    f"sequence {index}: output {bad}: expected "
                    f"{want[bad] if bad < len(want) else 'nothing'}, got {got[bad] if bad < len(got) else 'nothing'} "
                    f"({len(want)} outputs expected, {len(got)} received)")
        self.checked += 1
        if self.checked >= self.target:
            self.all_done.set()


class StreamDriver:
    """Drives in_valid/in_data/in_last; holds valid until the beat moves (stream rule)."""

    def __init__(self, dut: Any, width: int, stall: float, rng: random.Random):
        self.dut, self.mask, self.stall, self.rng = dut, (1 << width) - 1, stall, rng
        self.first_in: dict[int, int] = {}
        self.idle()

    def idle(self) -> None:
        self.dut.in_valid.value = 0
        self.dut.in_last.value = 0

    async def send(self, index: int, sequence: np.ndarray, limit: Optional[int] = None) -> int:
        """Send a sequence's beats (only `limit` of them, for the reset scenario); returns beats sent."""
        flat = sequence.reshape(-1)
        count = len(flat) if limit is None else min(limit, len(flat))
        dut = self.dut
        for k in range(count):
            if self.stall and self.rng.random() < self.stall:
                self.idle()
                await ClockCycles(dut.clk, self.rng.randint(1, 4))
            dut.in_data.value = int(flat[k]) & self.mask
            dut.in_last.value = int(k == len(flat) - 1)
            dut.in_valid.value = 1
            await ReadOnly()
            while not int(dut.in_ready.value):
                await RisingEdge(dut.in_ready)
                await ReadOnly()
            if k == 0:
                self.first_in[index] = _cycle()
            await RisingEdge(dut.clk)  # the beat moves on this edge
        self.idle()
        return count


class StreamMonitor:
    """Drains the output stream with random out_ready, reassembling sequences at out_last."""

    def __init__(self, dut: Any, width: int, stall: float, rng: random.Random, scoreboard: Scoreboard):
        self.dut, self.width, self.stall, self.rng = dut, width, stall, rng
        self.scoreboard = scoreboard
        self.sequences: list[list[int]] = []
        self.cycles: list[list[int]] = []
        self.current: list[int] = []
        self.current_cycles: list[int] = []
        dut.out_ready.value = 0

    def clear(self) -> None:
        self.current, self.current_cycles = [], []

    async def run(self) -> None:
        dut = self.dut
        while True:
            if self.stall and self.rng.random() < self.stall:
                dut.out_ready.value = 0
                await ClockCycles(dut.clk, self.rng.randint(1, 4))
            dut.out_ready.value = 1
            await ReadOnly()
            while not int(dut.out_valid.value):
                await RisingEdge(dut.out_valid)
                await ReadOnly()
            self.current.append(_signed(dut.out_data.value, self.width))
            self.current_cycles.append(_cycle())
            last = int(dut.out_last.value)
            await RisingEdge(dut.clk)  # the beat moves on this edge
            if last:
                self.sequences.append(self.current)
                self.cycles.append(self.current_cycles)
                self.scoreboard.receive(self.current)
                self.clear()


async def _reset(dut: Any, cycles: int = 2) -> None:
    dut.rst.value = 1
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0


@cocotb.test()
async def check_design(dut: Any) -> None:
    """Run the job's scenarios; write result.json and outputs.npz for the caller."""
    job_dir = Path(os.environ["HWGEN_SIM_JOB"])
    job = json.loads((job_dir / "job.json").read_text())
    data = np.load(job_dir / "inputs.npz")
    sequences = [data[f"s{i}"] for i in range(int(data["count"]))]
    rng = random.Random(job["seed"])
    model = ReferenceModel(ModelSpec(job["model_module"], job["model_argument"]))
    scoreboard = Scoreboard()

    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    driver = StreamDriver(dut, job["in_width"], job["stall_in"], rng)
    monitor = StreamMonitor(dut, job["out_width"], job["stall_out"], rng, scoreboard)
    await _reset(dut)
    for address, word in enumerate(job["upload"]):  # SPRAM weights: written before the first sequence
        dut.wmem_we.value, dut.wmem_addr.value, dut.wmem_data.value = 1, address, word
        await RisingEdge(dut.clk)
    if job["upload"]:
        dut.wmem_we.value = 0
        await RisingEdge(dut.clk)
    monitor_task = cocotb.start_soon(monitor.run())
    resets: list[str] = []

    if job["reset_mid_sequence"] and sequences:
        victim = max(range(len(sequences)), key=lambda i: sequences[i].size)
        beats = sequences[victim].size
        cut = rng.randint(1, max(1, beats - 1))
        await driver.send(-1, sequences[victim], limit=cut)
        await _reset(dut)
        resets.append(f"reset after {cut} of {beats} input beats")
        await driver.send(-1, sequences[victim])
        await _reset(dut)  # the cycle after in_last moved: while computing
        scoreboard.drop_pending()
        monitor.clear()
        await ClockCycles(dut.clk, job["drain_cycles"])
        resets.append("reset while computing")
        leaked = len(monitor.sequences)
        if leaked:
            scoreboard.errors.append(f"{leaked} output sequence(s) appeared after a reset")
        monitor.sequences.clear()
        monitor.cycles.clear()
        scoreboard.checked = 0

    scoreboard.target = len(sequences)
    start_cycle, start_wall, start_cpu = _cycle(), time.perf_counter(), time.process_time()
    for index, sequence in enumerate(sequences):
        await driver.send(index, sequence)
        scoreboard.expect(index, model.predict(sequence))
    if sequences and not scoreboard.all_done.is_set():
        try:
            await with_timeout(scoreboard.all_done.wait(), job["drain_cycles"] * CLOCK_NS, "ns")
        except SimTimeoutError:
            scoreboard.errors.append(f"stalled: {scoreboard.checked} of {len(sequences)} output sequences "
                                     f"after {job['drain_cycles']} idle cycles")
    await RisingEdge(dut.clk)
    cycles, seconds = _cycle() - start_cycle, time.perf_counter() - start_wall
    cpu_seconds = time.process_time() - start_cpu
    monitor_task.cancel()

    out: dict[str, np.ndarray] = {"count": np.array(len(monitor.sequences))}
    for i, (values, cyc) in enumerate(zip(monitor.sequences, monitor.cycles)):
        out[f"v{i}"] = np.asarray(values, dtype=np.int64)
        out[f"c{i}"] = np.asarray(cyc, dtype=np.int64)
    out["first_in"] = np.array([driver.first_in.get(i, -1) for i in range(len(sequences))], dtype=np.int64)
    np.savez(job_dir / "outputs.npz", **out)
    (job_dir / "result.json").write_text(json.dumps({
        "cycles": cycles, "seconds": seconds, "cpu_seconds": cpu_seconds, "start_cycle": start_cycle, "errors": scoreboard.errors,
        "resets": resets, "checked": scoreboard.checked}))
    assert not scoreboard.errors, "; ".join(scoreboard.errors[:5])
