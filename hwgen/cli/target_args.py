"""`hwgen build` flags of each target and how they map onto the library's option dataclasses.

Every flag defaults to "not given" (argparse.SUPPRESS), so the command passes only what the
user typed and the option dataclasses keep the one set of defaults. A flag of another target
is refused by name instead of being silently ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from hwgen.cli.common import parse_shapes
from hwgen.errors import HwgenError
from hwgen.fpga.boards import BOARDS
from hwgen.fpga.options import STREAM_CHOICES
from hwgen.hw.config import EBR_TARGETS, GATE_ROWS
from hwgen.model.kinds import ACCEL_WEIGHTS, WEIGHT_MEMORIES
from hwgen.targets import Target
from hwgen.tvm_backend.options import ACTIVATIONS, CPUS, WEIGHTS


@dataclass(frozen=True)
class Flag:
    """One target flag: its spelling, the option field it sets, and its argparse keywords."""

    flag: str
    option: str
    kwargs: dict
    #: value, the model's input names -> option value
    convert: Optional[Callable[[Any, Sequence[str]], Any]] = None


ACCEL_FLAGS = (
    Flag("--lanes", "lanes", dict(type=int, help="parallel lanes (adder-tree width); must divide hidden, the input is "
                                            "zero-padded to whole chunks (default: the most up to 8 that fit; a board: "
                                            "its weight memory's word ÷ gate rows, within its logic budget)")),
    Flag("--gate-rows", "gate_rows", dict(type=int, choices=GATE_ROWS, help="gate rows one weight word holds: 1, "
         "4 (a unit's four gate rows side by side, four adder trees on one vector chunk: a wide SPRAM word used "
         "whole while the vector stays narrow) or 2 (rows i, f then g, o: for units too short for four); default 1 "
         "for rtl, the board's fastest fitting choice for fpga")),
    Flag("--weight-memory", "weight_memory", dict(choices=WEIGHT_MEMORIES, help="rtl: where weights live: logic ROM, "
         "block RAM (preloaded) or SPRAM (uploaded at start-up); default ebr (a board: its own kind)")),
    Flag("--accel-weights", "weights", dict(choices=ACCEL_WEIGHTS, help="the accelerator's weight arithmetic: 'auto': "
         "the model's binary/ternary codes (multiplier-free); 'int8': the MAC baseline")),
    Flag("--calibrate", "calibration", dict(metavar="NPY", help="representative float inputs [..., X] that set the "
                                                                "input fixed-point format")),
    Flag("--act-bits", "act_bits", dict(type=int, help="activation / hidden-state width (default 8)")),
    Flag("--fit-device", "device", dict(choices=tuple(EBR_TARGETS), help="rtl: check the weights fit this FPGA "
         "family's block RAM (default: generic Verilog, no budget assumed)")),
    Flag("--top", "top", dict(help="Verilog top module name (default hwgen_accel)")),
    Flag("--test-steps", "test_steps", dict(type=int, help="rtl: time steps per test vector (default: the model's, "
                                                          "else 8)")),
    Flag("--test-vectors", "test_vectors", dict(type=int, help="rtl: number of integer test vectors (default 4)")),
)
GATE_FLAGS = (
    Flag("--gated-with", "gated_with", {"metavar": "BIG.onnx", "help": "rtl / fpga: build a surprisal-gated pair: MODEL is the "
         "small char-LM, this the big one (both from export_pair, the gate in their ONNX metadata); one design with "
         "both accelerators and the gating unit"}),
    Flag("--gate-threshold", "gate_threshold", {"type": int, "metavar": "CODES", "help": "rtl / fpga, with --gated-with: the "
         "gate's threshold in the small model's integer logit codes (default: from the ONNX metadata)"}),
)
BOARD_FLAGS = (
    Flag("--board", "board", dict(choices=sorted(BOARDS), help="board to build a bitstream for (iCE40 UP5K: weights "
                                                              "in SPRAM; ECP5: EBR)")),
    Flag("--clock", "clock_mhz", dict(type=float, metavar="MHZ", help="clock in MHz (default: the board's "
         "oscillator, 12 / 25 MHz; others use the PLL); a design slower than this is an error")),
    Flag("--input-buffer", "input_buffer", dict(type=int, metavar="WORDS", help="input words the board buffers "
         "(default 512: one EBR); longer sequences go in chunks")),
    Flag("--baud", "baud", dict(type=int, help="host-link UART baud rate (default 115200)")),
    Flag("--seed", "seed", dict(type=int, help="nextpnr placement seed (default 1)")),
    Flag("--stream", "stream", dict(choices=STREAM_CHOICES, help="per-step models (a char-LM): what the board returns "
         "after each step: its logits (default; the host samples) or their argmax (one word per step)")),
)
TVM_FLAGS = (
    Flag("--cpu", "cpu", dict(choices=CPUS, help="host: this machine's CPU; aarch64: cross-compile for 64-bit Arm "
                                                 "boards (default host)")),
    Flag("--tvm-weights", "weights", dict(choices=WEIGHTS, help="auto: packed 2-bit/1-bit kernels for ternary/binary "
                                                                "LSTM weights; float: float kernels")),
    Flag("--tvm-activations", "activations", dict(choices=ACTIVATIONS, help="f32: float activations (any model, "
         "matches ONNX); int8: the RTL path's fixed-point LSTM, bit-exact with the integer model (binary/ternary "
         "LSTM stacks; the fastest variant); for graphs without LSTM (transformer encoders): per-token int8 "
         "activations in the Linear layers whose weights are DequantizeLinear codes")),
    Flag("--shape", "shapes", dict(action="append", metavar="[NAME=]D0,D1,...", help="optional: specialise an "
         "input's symbolic dimensions (NAME= and repeated for models with several inputs)"), parse_shapes),
)
#: Which flag groups each target takes.
TARGET_FLAGS: dict[str, tuple[Flag, ...]] = {"rtl": ACCEL_FLAGS + GATE_FLAGS, "fpga": ACCEL_FLAGS + GATE_FLAGS + BOARD_FLAGS, "tvm": TVM_FLAGS}
_GROUPS = (("--target rtl / fpga: the accelerator", ACCEL_FLAGS), ("--target rtl / fpga: a surprisal-gated pair", GATE_FLAGS),
           ("--target fpga: the board", BOARD_FLAGS),
           ("--target tvm", TVM_FLAGS))


def _dest(flag: str) -> str:
    return "opt_" + flag.lstrip("-").replace("-", "_")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    for title, flags in _GROUPS:
        group = parser.add_argument_group(title)
        for f in flags:
            kwargs = dict(f.kwargs)
            if "choices" not in kwargs:
                kwargs.setdefault("metavar", f.flag.lstrip("-").upper().replace("-", "_"))
            group.add_argument(f.flag, dest=_dest(f.flag), default=argparse.SUPPRESS, **kwargs)


def target_options(target: Target, args: argparse.Namespace, input_names: Sequence[str],
                   dump_ir: Optional[Path]) -> dict[str, Any]:
    """The keyword options for `target` from the flags the user gave; a flag of another target is an error."""
    given = {f.flag: f for _, flags in _GROUPS for f in flags if hasattr(args, _dest(f.flag))}
    allowed = {f.flag for f in TARGET_FLAGS[target.name]}
    wrong = sorted(set(given) - allowed)
    if wrong:
        owners = {flag: [t for t, fs in TARGET_FLAGS.items() if flag in {f.flag for f in fs}] for flag in wrong}
        raise HwgenError("; ".join(f"{flag} is an option of --target {' / '.join(owners[flag])}, not {target.name}"
                                   for flag in wrong))
    options = {}
    for flag, f in given.items():
        value = getattr(args, _dest(flag))
        options[f.option] = f.convert(value, input_names) if f.convert else value
    for kind in target.options:
        for field in dataclasses.fields(kind):
            required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            if required and field.name not in options:
                flag = next(f for f in TARGET_FLAGS[target.name] if f.option == field.name)
                choices = flag.kwargs.get("choices")
                raise HwgenError(f"--target {target.name} needs {flag.flag}" + (f" ({' or '.join(choices)})" if choices else ""))
    if dump_ir is not None and "dump_ir" in target.option_names():
        options["dump_ir"] = dump_ir
    return options
