"""A graph to the integer model and its accelerator config: what every accelerator build (rtl, gated, fpga) starts with.

`lower` recognises the LSTM (or GRU) stack and lowers it to the integer model (`hwgen.passes.pipeline`);
`accel_config` chooses the config (`AccelConfig.choose_lanes`, the one lanes policy).
"""

from __future__ import annotations

from hwgen.hw.config import AccelConfig
from hwgen.ir.graph import Graph
from hwgen.model.saved import RecurrentModel
from hwgen.passes.pipeline import lower_for_accelerator
from hwgen.rtl.options import RTL_PREFERRED_LANES, AccelOptions


def lower(graph: Graph, options: AccelOptions) -> RecurrentModel:
    """The integer model of `graph` under `options` (what the rtl and fpga targets both build)."""
    return lower_for_accelerator(graph, options.calibration_data(), options.lowering(), dump=options.dump_ir)


def accel_config(model: RecurrentModel, options: AccelOptions) -> AccelConfig:
    """The accelerator config for `model`: the given lanes, or the default policy's."""
    def make(lanes: int) -> AccelConfig:
        return AccelConfig.for_model(model, lanes=lanes, weight_memory=options.weight_memory or "ebr", top=options.top,
                                     weights_kind="int8" if options.weights == "int8" else None,
                                     ebr_target=options.device, gate_rows=options.gate_rows or 1)

    if options.lanes is not None:
        return make(options.lanes)
    return AccelConfig.choose_lanes(model.hidden, make, prefer=RTL_PREFERRED_LANES)
