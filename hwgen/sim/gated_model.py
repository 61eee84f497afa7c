"""Describe a gated build folder (`hwgen build small.onnx --gated-with big.onnx --target rtl`) for the simulators.

The same harness as a single accelerator's (:mod:`hwgen.sim.verify`): a step is one input beat (the
character id) and 1 + 2V output beats (decision, used logits, small logits), checked bit-exactly against
`hwgen.model.surprisal_gate` through `GatedConfig.reference`. Cycles depend on the gate's decisions, so the
model gives each sequence's exact count (`sequence_cycles`) as well as a bound for its length alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen.errors import HwgenError
from hwgen.rtl.gated import GatedArtifact, load_gated
from hwgen.sim.artifact_model import port_widths
from hwgen.sim.design import PORTS, Design, ModelSpec


@dataclass(frozen=True)
class GatedModel:
    """The gated pair's reference as a SequenceModel: inputs [T, 1] character ids."""

    artifact: GatedArtifact

    def _ids(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[-1] != 1:
            raise HwgenError(f"a gated pair takes one character id per step ([..., T, 1]), got shape {list(x.shape)}")
        return x[..., 0]

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.artifact.config.reference(self._ids(x))[0].reshape(-1)

    def run_batch(self, xs: np.ndarray) -> np.ndarray:
        return self.artifact.config.reference(self._ids(xs))[0].reshape(xs.shape[0], -1)

    def sequence_cycles(self, x: np.ndarray) -> int:
        """The exact cycles of one sequence, from the gate's decisions on it."""
        return self.artifact.config.expected_cycles(self.artifact.config.pair().run(self._ids(x)).big_ran[0])

    def expected_cycles(self, steps: int) -> int:
        """Without the data only a bound: every step at the slower of running and skipping the big model."""
        return self.artifact.config.worst_cycles(steps)

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        raise HwgenError("a gated pair takes integer character ids [N, T, 1], not float inputs")


def load_model(argument: str) -> GatedModel:
    """ModelSpec entry point (also used inside the cocotb simulator process)."""
    return GatedModel(load_gated(Path(argument)))


def design_from_gated(out: Path) -> tuple[Design, GatedModel]:
    """The Design of a gated build folder and its model."""
    out = Path(out).resolve()
    model = load_model(str(out))
    artifact = model.artifact
    verilog = artifact.verilog
    if not verilog.is_file():
        raise HwgenError(f"{out}: the Verilog {verilog.name} named by the manifest is missing")
    widths = port_widths(verilog.read_text(), artifact.config.top)
    missing = [p for p in PORTS if p not in widths]
    if missing:
        raise HwgenError(f"{out}: top module {artifact.config.top!r} lacks the contract ports {', '.join(missing)}")
    design = Design(top=artifact.config.top, verilog=(verilog,), workdir=out, in_width=widths["in_data"],
                    out_width=widths["out_data"], step_elements=1, model=ModelSpec(__name__, str(out)),
                    output_steps="every_step", outputs_per_step=artifact.config.outputs_per_step)
    return design, model
