"""Run the accelerator in `amaranth.sim`: stream sequences in, collect outputs and cycle counts.

For tests and for validating `expected_cycles()` at small sizes (amaranth.sim runs
~10-50 k cycles/s; long runs belong to the Verilator flow in `hwgen.sim`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from hwgen.hw import images
from hwgen.hw.config import AccelConfig


@dataclass(frozen=True)
class SimResult:
    outputs: list[np.ndarray]  # one [K] array per sequence ([T, K] with every-step outputs)
    cycles: list[int]  # per sequence: first input beat to last output beat, inclusive


def simulate(config: AccelConfig, sequences: list[np.ndarray], max_cycles: int = 2_000_000,
             out_ready_pattern: tuple[int, ...] = (1,), in_valid_pattern: tuple[int, ...] = (1,)) -> SimResult:
    """Feed integer sequences [T, X] back to back; with both patterns (1,) inputs are always valid
    and the output always ready, so `cycles` must equal `config.expected_cycles(T)` for the first
    sequence."""
    dut = config.create(simulate=True)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    results: list[list[int]] = [[] for _ in sequences]
    ends: list[int] = []
    starts: list[int] = []
    weights = images.weight_words(config, config.model) if config.weight_memory == "spram" else []

    async def testbench(ctx):  # type: ignore[no-untyped-def]
        for addr, word in enumerate(weights):  # SPRAM: upload weights first
            ctx.set(dut.wmem_we, 1)
            ctx.set(dut.wmem_addr, addr)
            ctx.set(dut.wmem_data, word)
            await ctx.tick()
        if weights:
            ctx.set(dut.wmem_we, 0)
        beats = [(int(v), s, t == seq.shape[0] - 1 and i == seq.shape[1] - 1)
                 for s, seq in enumerate(sequences) for t in range(seq.shape[0]) for i, v in enumerate(seq[t])]
        pos = 0
        seq_index = 0
        cycle = 0
        while seq_index < len(sequences):
            if cycle > max_cycles:
                raise RuntimeError(f"simulation did not finish in {max_cycles} cycles")
            valid = pos < len(beats) and in_valid_pattern[cycle % len(in_valid_pattern)]
            ready = out_ready_pattern[cycle % len(out_ready_pattern)]
            ctx.set(dut.in_valid, int(bool(valid)))
            if valid:
                v, s, is_last = beats[pos]
                ctx.set(dut.in_data, v)
                ctx.set(dut.in_last, int(is_last))
            ctx.set(dut.out_ready, ready)
            in_ready, out_valid, out_data, out_last = ctx.get(dut.in_ready), ctx.get(dut.out_valid), ctx.get(dut.out_data), ctx.get(dut.out_last)
            if valid and in_ready:
                if pos == 0 or beats[pos - 1][1] != beats[pos][1]:
                    starts.append(cycle)
                pos += 1
            if out_valid and ready:
                results[seq_index].append(out_data)
                if out_last:
                    ends.append(cycle)
                    seq_index += 1
            await ctx.tick()
            cycle += 1

    sim.add_testbench(testbench)
    sim.run()
    outputs = [np.array(r, np.int64) for r in results]
    if config.output_steps == "every_step":  # one burst per step, in step order
        outputs = [o.reshape(len(seq), -1) for o, seq in zip(outputs, sequences)]
    return SimResult(outputs, [e - s + 1 for s, e in zip(starts, ends)])
