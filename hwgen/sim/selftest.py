"""A tiny design with the accelerator's ports, to check the simulation stack on its own.

`StepSum` adds up each sequence's steps element-wise (acc[j] += x[t, j]), waits a fixed
latency after `in_last` (standing in for the LSTM's compute), then streams the X sums out.
It is small enough to verilate in seconds yet has everything the testbench must handle:
multi-beat steps, sequences of any length, a busy period with `in_ready` low, output
back-pressure and a synchronous reset. `hwgen sim --selftest` and tests/sim use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.errors import HwgenError
from hwgen.sim.design import Design, ModelSpec


FAULTS = ("", "output", "reset")


@dataclass(frozen=True)
class StepSumConfig:
    """elements: X beats per step; in_width/out_width: signed data widths; latency: busy cycles."""

    elements: int = 4
    in_width: int = 8
    out_width: int = 20
    latency: int = 5
    #: Deliberate bug for testing the checkers: "" (none), "output" (an odd output element 1 comes out
    #: one too high), "reset" (reset does not clear the sums).
    fault: str = ""

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise HwgenError(f"StepSumConfig.fault {self.fault!r} is not one of {FAULTS}")
        if self.elements < 1:
            raise HwgenError(f"StepSumConfig.elements must be >= 1, not {self.elements}")
        if not 2 <= self.in_width <= self.out_width <= 32:
            raise HwgenError(f"StepSumConfig needs 2 <= in_width <= out_width <= 32, "
                             f"got {self.in_width}, {self.out_width}")
        if self.latency < 1:
            raise HwgenError(f"StepSumConfig.latency must be >= 1, not {self.latency}")

    def run(self, x: np.ndarray) -> np.ndarray:
        """Bit-exact reference: element-wise sum over steps, wrapped to out_width bits."""
        total = np.asarray(x, dtype=np.int64).sum(axis=0)
        mod = 1 << self.out_width
        return ((total + (mod >> 1)) % mod) - (mod >> 1)

    def expected_cycles(self, steps: int) -> int:
        """T·X input beats, `latency` busy cycles, X output beats."""
        return steps * self.elements + self.latency + self.elements

    def create(self) -> "StepSum":
        return StepSum(self)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def load_model(argument: str) -> StepSumConfig:
    """ModelSpec entry point: rebuild the config from its JSON."""
    return StepSumConfig(**json.loads(argument))


class StepSum(wiring.Component):
    """Element-wise sum of a sequence's steps.

    Ports (besides clk/rst of the sync domain):
      in_valid  In(1), in_ready Out(1), in_data In(signed(in_width)), in_last In(1)
      out_valid Out(1), out_ready In(1), out_data Out(signed(out_width)), out_last Out(1)
    """

    def __init__(self, config: StepSumConfig):
        self.config = config
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(signed(config.in_width)), "in_last": In(1),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(config.out_width)),
            "out_last": Out(1),
        })

    def elaborate(self, platform) -> Module:
        cfg = self.config
        m = Module()
        acc = Array(Signal(signed(cfg.out_width), name=f"acc{j}", reset_less=cfg.fault == "reset")
                    for j in range(cfg.elements))
        index = Signal(range(cfg.elements))
        wait = Signal(range(cfg.latency + 1))

        with m.FSM():
            with m.State("IN"):
                m.d.comb += self.in_ready.eq(1)
                with m.If(self.in_valid):
                    m.d.sync += acc[index].eq(acc[index] + self.in_data)
                    m.d.sync += index.eq(Mux(index == cfg.elements - 1, 0, index + 1))
                    with m.If(self.in_last):
                        m.d.sync += [index.eq(0), wait.eq(cfg.latency - 1)]
                        m.next = "BUSY"
            with m.State("BUSY"):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    m.next = "OUT"
            with m.State("OUT"):
                last = index == cfg.elements - 1
                data = acc[index]
                if cfg.fault == "output":
                    data = Mux((index == min(1, cfg.elements - 1)) & data[0], data + 1, data)
                m.d.comb += [self.out_valid.eq(1), self.out_data.eq(data), self.out_last.eq(last)]
                with m.If(self.out_ready):
                    m.d.sync += acc[index].eq(0)
                    m.d.sync += index.eq(Mux(last, 0, index + 1))
                    with m.If(last):
                        m.next = "IN"
        return m


def write_design(config: StepSumConfig, directory: Path, top: str = "stepsum") -> Design:
    """Emit the Verilog of `config` into `directory` and describe it for the simulators."""
    from amaranth.back import verilog

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{top}.v"
    path.write_text(verilog.convert(config.create(), name=top, emit_src=False))
    return Design(top=top, verilog=(path,), workdir=directory, in_width=config.in_width,
                  out_width=config.out_width, step_elements=config.elements,
                  model=ModelSpec(__name__, config.to_json()))
