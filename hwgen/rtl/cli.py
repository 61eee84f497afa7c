"""`hwgen build model.onnx --target rtl -o out/ [--lanes N] [--weights-memory KIND] ...`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

import numpy as np

from hwgen.errors import HwgenError
from hwgen.ir.graph import Graph


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--lanes", type=int, default=None,
                       help="parallel lanes (adder-tree width); must divide hidden, the input is zero-padded to whole chunks "
                            "(default: largest of 8, 4, 2, 1 that fits)")
    group.add_argument("--weights-memory", choices=("registers", "ebr", "spram"), default="ebr",
                       help="where weights live: logic ROM, block RAM (preloaded) or SPRAM (uploaded at start-up)")
    group.add_argument("--weights-kind", choices=("auto", "int8"), default="auto",
                       help="'auto': the model's binary/ternary codes (multiplier-free); 'int8': the MAC baseline")
    group.add_argument("--calibrate", metavar="NPY", default=None,
                       help="representative float inputs [..., X] that set the input fixed-point format")
    group.add_argument("--act-bits", type=int, default=8, help="activation / hidden-state width (default 8)")
    group.add_argument("--steps", type=int, default=None, help="time steps per test vector (default: the model's, else 8)")
    group.add_argument("--vectors", type=int, default=4, help="number of integer test vectors (default 4)")
    group.add_argument("--top", default="hwgen_accel", help="Verilog top module name")


def _default_lanes(hidden: int, input_size: int) -> int:
    """The largest of 8, 4, 2, 1 that divides hidden with rows of >= 2 cycles (the input is zero-padded)."""
    for lanes in (8, 4, 2, 1):
        if hidden % lanes == 0 and -(-input_size // lanes) + hidden // lanes >= 2:
            return lanes
    return 1


def _steps(graph: Graph, stack_batch_first: bool, given: Optional[int]) -> int:
    if given is not None:
        if given < 1:
            raise HwgenError(f"--steps must be >= 1, got {given}")
        return given
    shape = graph.inputs[0].type.shape
    d = shape[1 if stack_batch_first else 0] if len(shape) == 3 else None
    return d if isinstance(d, int) else 8


def build(graph: Graph, args: argparse.Namespace) -> None:
    from hwgen.cli.common import load_npy
    from hwgen.hw.config import AccelConfig
    from hwgen.passes.lower_fixed_point import LoweringOptions
    from hwgen.passes.match_lstm_stack import match_lstm_stack
    from hwgen.passes.pipeline import lower_for_accelerator
    from hwgen.rtl.emit import RtlBuild, emit

    calibration = load_npy(args.calibrate) if args.calibrate else None
    options = LoweringOptions(act_bits=args.act_bits, weights=args.weights_kind)
    model = lower_for_accelerator(graph, calibration, options, dump=getattr(args, "dump_ir", None))
    stack = match_lstm_stack(graph, check=False)
    lanes = args.lanes if args.lanes is not None else _default_lanes(model.hidden, model.input_size)
    config = AccelConfig.for_model(model, lanes=lanes, weight_memory=args.weights_memory, top=args.top)
    steps = _steps(graph, stack.batch_first, args.steps)
    if args.vectors < 1:
        raise HwgenError(f"--vectors must be >= 1, got {args.vectors}")
    rng = np.random.default_rng(0)
    peak = calibration if calibration is not None else None
    if peak is not None:
        flat = np.asarray(peak, np.float64).reshape(-1, model.input_size)
        x = flat[rng.integers(0, len(flat), (args.vectors, steps))]
    else:
        x = rng.uniform(-1, 1, (args.vectors, steps, model.input_size))
    manifest = emit(RtlBuild(config, model, model.quantize_input(x)), Path(args.out))
    cyc = manifest["cycles"]
    print(f"wrote {args.out}/{manifest['verilog']}: {config.weights_kind} LSTM {model.input_size}->{model.hidden}"
          f" x{config.layers}, {lanes} lanes, {config.weight_memory} weights; "
          f"{cyc['per_step']} cycles/step (utilisation {cyc['utilisation']:.3f}), {cyc['per_sequence']} cycles per "
          f"{steps}-step sequence")
