"""`hwgen build model.onnx --target fpga --board icebreaker|ulx3s-85f [--clock MHz] -o out/`
and `hwgen run --device /dev/ttyUSB0 out/ --input x.npy`.

The lowering options shared with the RTL target (``--lanes``, ``--weights-kind``,
``--calibrate``, ``--act-bits``) are defined once, by ``hwgen.rtl.cli``; this module
adds the board options and reads the shared ones with ``getattr`` defaults.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

import numpy as np

from hwgen.errors import HwgenError
from hwgen.fpga.boards import BOARDS
from hwgen.ir.graph import Graph


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--board", choices=sorted(BOARDS), default=None,
                       help="board to build a bitstream for (iCE40 UP5K: weights in SPRAM; ECP5: EBR)")
    group.add_argument("--clock", type=float, default=None, metavar="MHZ",
                       help="clock in MHz (default: the board's oscillator, 12 / 25 MHz; others use the PLL); "
                            "a design slower than this is an error")
    group.add_argument("--input-buffer", type=int, default=512, metavar="WORDS",
                       help="input words the board buffers (default 512: one EBR); longer sequences go in chunks")
    group.add_argument("--baud", type=int, default=115200, help="host-link UART baud rate (default 115200)")
    group.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")


def build(graph: Graph, args: argparse.Namespace) -> None:
    from hwgen.cli.common import load_npy
    from hwgen.fpga.flow import build_bitstream, design_for
    from hwgen.passes.lower_fixed_point import LoweringOptions
    from hwgen.passes.pipeline import lower_for_accelerator

    if args.board is None:
        raise HwgenError(f"--target fpga needs --board ({' or '.join(sorted(BOARDS))})")
    calibrate = getattr(args, "calibrate", None)
    calibration = load_npy(calibrate) if calibrate else None
    weights = getattr(args, "weights_kind", "auto")
    options = LoweringOptions(act_bits=getattr(args, "act_bits", 8), weights=weights)
    model = lower_for_accelerator(graph, calibration, options, dump=getattr(args, "dump_ir", None))
    design = design_for(model, args.board, clock_mhz=args.clock, lanes=getattr(args, "lanes", None),
                        weights_kind="int8" if weights == "int8" else None, input_words=args.input_buffer, baud=args.baud)
    report = build_bitstream(design, Path(args.out), seed=args.seed)
    usage = ", ".join(f"{u.name} {u.used}/{u.available}" for u in report.usage)
    print(f"wrote {args.out}/{report.bitstream} for {args.board}: Fmax {report.fmax_mhz:.1f} MHz "
          f"(clock {report.clock_mhz:g} MHz), {usage}; see {args.out}/report.txt")


# ---- hwgen run --device ------------------------------------------------------------------------

def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `hwgen run` gains for a board (called from hwgen/cli/run_cmd.py)."""
    parser.add_argument("--device", metavar="PORT", default=None,
                        help="run on a board over this serial port (e.g. /dev/ttyUSB0); MODEL is then the "
                             "folder written by `hwgen build --target fpga`")
    parser.add_argument("--baud", type=int, default=None, help="serial baud rate (default: the build's)")


def _load_build(folder: Path) -> dict:
    manifest = folder / "fpga.json"
    if not manifest.exists():
        raise HwgenError(f"{folder}: not an FPGA build folder (no fpga.json); "
                         f"make one with `hwgen build model.onnx --target fpga --board ... -o {folder}`")
    return json.loads(manifest.read_text())


def run_on_device(args: argparse.Namespace) -> int:
    """Upload weights if they sit in SPRAM, run each input sequence, compare with the reference."""
    from hwgen.cli.common import load_npy
    from hwgen.fpga.driver import Device
    from hwgen.model.integer_model import IntegerModel

    folder = Path(args.model)
    meta = _load_build(folder)
    if len(args.input) != 1:
        raise HwgenError("--device takes exactly one --input FILE (float inputs [T, X] or [N, T, X])")
    model = IntegerModel.load(folder / meta["model"])
    x = load_npy(args.input[0].partition("=")[2] or args.input[0])
    outputs, cycles = run_sequences(args.device, args.baud or meta["baud"], folder, meta, model, x)
    expected = model.run(_codes(model, x))
    match = np.array_equal(outputs, expected.reshape(outputs.shape))
    per_step = np.mean([c / (x.shape[-2]) for c in cycles])
    print(f"{len(cycles)} sequence(s) on {args.device}: outputs {list(outputs.shape)}, "
          f"{per_step:.0f} cycles/step, {'bit-exact with' if match else 'DIFFERENT from'} the reference")
    if args.output is not None:
        np.save(args.output, outputs)
        print(f"wrote {args.output}")
    return 0 if match else 1


def _codes(model, x: np.ndarray) -> np.ndarray:
    """Integer inputs as they are (int arrays) or quantised from floats."""
    return x.astype(np.int64) if np.issubdtype(x.dtype, np.integer) else model.quantize_input(x)


def run_sequences(port: str, baud: int, folder: Path, meta: dict, model, x: np.ndarray,
                  timeout: float = 30.0) -> tuple[np.ndarray, list[int]]:
    """Run [T, X] or [N, T, X] inputs on the board at ``port``; returns outputs [N, K] and cycles per sequence."""
    from hwgen.fpga.driver import Device

    codes = _codes(model, x)
    if codes.ndim == 2:
        codes = codes[None]
    if codes.ndim != 3 or codes.shape[-1] != model.input_size:
        raise HwgenError(f"inputs of shape {list(x.shape)}: the board takes [T, {model.input_size}] or "
                         f"[N, T, {model.input_size}]")
    outs, cycles = [], []
    with Device(port, baud=baud, timeout=timeout) as dev:
        info = dev.info()
        expected_info = meta["device_info"]
        if info.in_width != expected_info["in_width"] or info.out_width != expected_info["out_width"]:
            raise HwgenError(f"{port}: the board runs a different design ({info}) than {folder} ({expected_info})")
        if meta.get("weights"):
            dev.write_weights(np.load(folder / meta["weights"]))
        for seq in codes:
            y, result = dev.infer(seq)
            outs.append(y)
            cycles.append(result.cycles)
    return np.stack(outs), cycles
