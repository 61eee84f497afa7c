"""What the simulators need to know about a design: its Verilog, port widths and a model.

A :class:`Design` is plain data, so the same description drives the C++ harness, the
cocotb testbench (which runs in a separate simulator process and rebuilds the model from
:class:`ModelSpec`) and the `hwgen sim` report. Any streaming design with the ports of
docs/accelerator-interface.md can be checked: the accelerator artefact of `hwgen build
--target rtl` (:mod:`hwgen.sim.artifact_model`) or the tiny self-test design
(:mod:`hwgen.sim.selftest`) that checks the simulation stack itself.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol

import numpy as np

from hwgen.errors import HwgenError

#: The ports every simulated design has (docs/accelerator-interface.md).
PORTS = ("clk", "rst", "in_valid", "in_ready", "in_data", "in_last",
         "out_valid", "out_ready", "out_data", "out_last")


class SequenceModel(Protocol):
    """The bit-exact software side of a design: outputs and cycle count of one sequence."""

    def run(self, x: np.ndarray) -> np.ndarray:
        """Integer inputs of one sequence, shape (steps, elements) -> its output elements (1-D int64)."""

    def expected_cycles(self, steps: int) -> int:
        """Cycles from the first input beat to the last output beat, inputs always valid,
        output always ready."""


@dataclass(frozen=True)
class ModelSpec:
    """How to rebuild a model in another process: `module.load_model(argument)`."""

    module: str
    argument: str

    def load(self) -> SequenceModel:
        try:
            module = importlib.import_module(self.module)
        except ImportError as err:
            raise HwgenError(f"model module {self.module!r} cannot be imported: {err}") from None
        return module.load_model(self.argument)


@dataclass(frozen=True)
class Design:
    """A streaming design to simulate.

    `workdir` is the folder the simulation runs in, so relative `$readmemh("mem/...")`
    paths in the Verilog resolve. `output_steps` is the accelerator's
    mode (`AccelConfig.output_steps`): "last" (outputs after the last step only, e.g. classifier
    logits) or "every_step" (`outputs_per_step` outputs after every step); it serves to name the
    step and neuron of a mismatch and to score per-step labels.
    """

    top: str
    verilog: tuple[Path, ...]
    workdir: Path
    in_width: int
    out_width: int
    step_elements: int
    model: ModelSpec
    output_steps: str = "last"
    outputs_per_step: int = 0
    #: Simulation models of vendor primitives the Verilog instantiates (e.g. SB_SPRAM256KA).
    extra_sources: tuple[Path, ...] = ()
    #: Words written through wmem_we/wmem_addr/wmem_data before the first sequence (SPRAM
    #: weights, which a bitstream cannot preload); `$readmemh` format, line i = address i.
    upload: Optional[Path] = None
    upload_width: int = 0

    @property
    def sources(self) -> tuple[Path, ...]:
        return (*self.verilog, *self.extra_sources)

    def upload_words(self) -> np.ndarray:
        """The upload image as uint64 words (empty without one)."""
        if self.upload is None:
            return np.zeros(0, np.uint64)
        words: list[int] = []
        for line in self.upload.read_text().splitlines():
            line = line.split("//")[0].strip()
            if line and not line.startswith("@"):
                words += [int(token, 16) for token in line.split()]
        return np.array(words, dtype=np.uint64)

    def locate(self, index: int, steps: int) -> tuple[int, int]:
        """(step, neuron) of output element `index` of a sequence of `steps` steps."""
        if self.output_steps == "every_step" and self.outputs_per_step:
            return divmod(index, self.outputs_per_step)
        return steps - 1, index

    def check_inputs(self, sequences: list[np.ndarray]) -> None:
        """Reject sequences of the wrong element count or values that do not fit `in_width`."""
        lo, hi = -(1 << (self.in_width - 1)), (1 << (self.in_width - 1)) - 1
        for i, seq in enumerate(sequences):
            if seq.ndim != 2 or seq.shape[1] != self.step_elements or seq.shape[0] == 0:
                raise HwgenError(f"sequence {i}: shape {list(seq.shape)} is not (steps >= 1, "
                                 f"{self.step_elements}) for design {self.top}")
            if seq.size and (seq.min() < lo or seq.max() > hi):
                raise HwgenError(f"sequence {i}: integer inputs must lie in [{lo}, {hi}] "
                                 f"({self.in_width}-bit signed); got [{seq.min()}, {seq.max()}]")


def as_sequences(x: np.ndarray | list[np.ndarray], elements: int) -> list[np.ndarray]:
    """(N, T, X) array, (T, X) array (one sequence) or list of (T_i, X) -> list of int64 arrays."""
    if isinstance(x, np.ndarray):
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise HwgenError(f"inputs must be (sequences, steps, {elements}) or (steps, {elements}); "
                             f"got shape {list(x.shape)}")
        return [np.asarray(s, dtype=np.int64) for s in x]
    return [np.asarray(s, dtype=np.int64) for s in x]
