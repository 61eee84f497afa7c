"""`AccelOptions`: how a graph becomes an accelerator, shared by the rtl and fpga targets.

Options are typed data, checked on construction (the pattern of FINN's `DataflowBuildConfig`
and hls4ml's configs): a bad value is refused here with the allowed ones, before any lowering
runs. The CLI builds one from its flags; Python users build one directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np

from hwgen.arrays import as_array
from hwgen.errors import HwgenError
from hwgen.hw.config import EBR_TARGETS, GATE_ROWS
from hwgen.model.kinds import ACCEL_WEIGHTS, WEIGHT_MEMORIES, AccelWeights, WeightMemory, check_kind
from hwgen.passes.lower_fixed_point import LoweringOptions

#: Lanes the generic (rtl) target prefers: an 8-wide adder tree keeps a step short on any FPGA or ASIC.
RTL_PREFERRED_LANES = 8


class OptionsError(HwgenError):
    """An option value that cannot be used; the message names the option and the allowed values."""


@dataclass(frozen=True)
class AccelOptions:
    """Accelerator options for `hwgen.rtl.build` and `hwgen.fpga.build`.

    lanes          parallel accumulators (adder-tree width); must divide hidden. None: the one default
                   policy (`AccelConfig.choose_lanes`): rtl prefers 8, a board its own width.
    gate_rows      gate rows a weight word holds: 1, 2 or 4 (a unit's rows side by side, as many adder trees on
                   one vector chunk; see `AccelConfig.gate_rows`). None: 1 for rtl, the board's policy for fpga.
    weight_memory  "registers" | "ebr" | "spram"; None: "ebr" for rtl, the board's kind for fpga.
    weights        "auto": the model's binary/ternary codes (multiplier-free); "int8": the MAC baseline.
    act_bits       activation / hidden-state width.
    calibration    representative float inputs [..., X] (an array or a .npy path) that set the input format.
    device         "ice40" | "ecp5": check that device's block-RAM budget (rtl); None: generic Verilog,
                   no budget assumed. For fpga, the board decides.
    top            Verilog top module name.
    test_steps     time steps per RTL test vector (None: the model's sequence length, else 8).
    test_vectors   how many integer test vectors the RTL build writes.
    dump_ir        write each lowering stage's result as text into this folder.
    """

    lanes: Optional[int] = None
    gate_rows: Optional[int] = None
    weight_memory: Optional[WeightMemory] = None
    weights: AccelWeights = "auto"
    act_bits: int = 8
    calibration: Union[None, str, Path, np.ndarray] = field(default=None, compare=False, repr=False)
    device: Optional[str] = None
    top: str = "hwgen_accel"
    test_steps: Optional[int] = None
    test_vectors: int = 4
    dump_ir: Optional[Path] = None

    def __post_init__(self) -> None:
        if self.lanes is not None and self.lanes < 1:
            raise OptionsError(f"lanes must be >= 1, got {self.lanes}")
        if self.gate_rows is not None and self.gate_rows not in GATE_ROWS:
            raise OptionsError(f"gate_rows must be one of {', '.join(map(str, GATE_ROWS))}, got {self.gate_rows}")
        if self.weight_memory is not None:
            check_kind("weight memory", self.weight_memory, WEIGHT_MEMORIES, OptionsError)
        check_kind("accelerator weights", self.weights, ACCEL_WEIGHTS, OptionsError)
        if self.device is not None:
            check_kind("device", self.device, tuple(EBR_TARGETS), OptionsError)
        if not 3 <= self.act_bits <= 16:
            raise OptionsError(f"act_bits must be in 3..16, got {self.act_bits}")
        if self.test_steps is not None and self.test_steps < 1:
            raise OptionsError(f"test_steps must be >= 1, got {self.test_steps}")
        if self.test_vectors < 1:
            raise OptionsError(f"test_vectors must be >= 1, got {self.test_vectors}")
        if not self.top.isidentifier():
            raise OptionsError(f"top {self.top!r} is not a Verilog identifier")
        if self.dump_ir is not None:
            object.__setattr__(self, "dump_ir", Path(self.dump_ir))

    def lowering(self) -> LoweringOptions:
        return LoweringOptions(act_bits=self.act_bits, weights=self.weights)

    def calibration_data(self) -> Optional[np.ndarray]:
        """The calibration inputs as float64 (loaded when given as a path)."""
        data = as_array(self.calibration)
        return None if data is None else np.asarray(data, np.float64)


@dataclass(frozen=True)
class GateOptions:
    """A surprisal-gated pair (`hwgen.rtl.gated`): the model given to `build` is the small char-LM.

    gated_with      the big char-LM's .onnx (exported with `hwgen.quant.surprisal_gating.export_pair`, its gate in
                    metadata_props); None: an ordinary single-model build.
    gate_threshold  the gate's threshold in the small model's integer logit codes; None: from the metadata.
    """

    gated_with: str | Path | None = None
    gate_threshold: int | None = None

    def __post_init__(self) -> None:
        if self.gate_threshold is not None and self.gated_with is None:
            raise OptionsError("gate_threshold needs gated_with (the big model of the pair)")
        if self.gate_threshold is not None and self.gate_threshold < 0:
            raise OptionsError(f"gate_threshold must be >= 0 (margins are), got {self.gate_threshold}")
