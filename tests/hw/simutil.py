"""A tiny driver for unit tests: set inputs each cycle, record outputs each cycle."""

from __future__ import annotations

from typing import Callable

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator


def run_cycles(dut: object, cycles: int, drive: Callable[[int], list], watch: list) -> list[list[int]]:
    """For each cycle c: set drive(c) ((signal, value) pairs), then sample `watch` (after settling)."""
    top = Module()  # wrapper with a sync domain, so purely combinational units simulate too
    top.submodules.dut = dut
    tick = Signal()
    top.d.sync += tick.eq(~tick)
    sim = Simulator(top)
    sim.add_clock(1e-8)
    trace: list[list[int]] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for c in range(cycles):
            for sig, value in drive(c):
                ctx.set(sig, value)
            trace.append([ctx.get(s) for s in watch])
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return trace
