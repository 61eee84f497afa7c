"""`hwgen.rtl.build(graph, out, AccelOptions(...)) -> RtlArtifact`: a graph to verified-ready Verilog.

The pipeline: recognise the LSTM (or GRU) stack and lower it to the integer model (`hwgen.passes.pipeline`),
choose the accelerator config (`AccelConfig.choose_lanes`, the one lanes policy), draw integer test
vectors, and emit Verilog, memory images, manifest, model and vectors (`hwgen.rtl.emit`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from hwgen.ir.graph import Graph
from hwgen.model.saved import RecurrentModel
from hwgen.passes.pipeline import match_recurrent_stack
from hwgen.rtl.artifact import RtlArtifact
from hwgen.rtl.emit import RtlBuild, emit
from hwgen.rtl.gated import GatedArtifact, build_gated
from hwgen.rtl.lowering import accel_config, lower
from hwgen.rtl.options import AccelOptions, GateOptions


def _test_steps(graph: Graph, batch_first: bool, given: Optional[int]) -> int:
    if given is not None:
        return given
    shape = graph.inputs[0].type.shape
    d = shape[1 if batch_first else 0] if len(shape) == 3 else None
    return d if isinstance(d, int) else 8


def test_inputs(model: RecurrentModel, options: AccelOptions, steps: int) -> np.ndarray:
    """Integer test vectors [N, T, X]: rows of the calibration data when given, else uniform in [-1, 1)."""
    rng = np.random.default_rng(0)
    calibration = options.calibration_data()
    if calibration is not None:
        flat = calibration.reshape(-1, model.input_size)
        x = flat[rng.integers(0, len(flat), (options.test_vectors, steps))]
    else:
        x = rng.uniform(-1, 1, (options.test_vectors, steps, model.input_size))
    return model.quantize_input(x)


#: A single-model build (no gated pair).
NO_GATE = GateOptions()


def build(graph: Graph, out: Union[str, Path], options: AccelOptions = AccelOptions(),
          gate: GateOptions = NO_GATE) -> RtlArtifact | GatedArtifact:
    """Lower `graph` to the accelerator and write its RTL artifact into `out`; with `gate.gated_with`, `graph` is
    the small model of a surprisal-gated pair and the artifact the gated top's (`hwgen.rtl.gated`)."""
    if gate.gated_with is not None:
        return build_gated(graph, out, options, gate)
    model = lower(graph, options)
    config = accel_config(model, options)
    steps = _test_steps(graph, match_recurrent_stack(graph, check=False).batch_first, options.test_steps)
    manifest = emit(RtlBuild(config, model, test_inputs(model, options, steps)), Path(out))
    return RtlArtifact(config, model, manifest, Path(out))
