"""`hwgen run MODEL --input x.npy -o y.npy`: run an ONNX model on the reference interpreter, a
`hwgen build --target tvm` folder with its compiled library, or (`--device PORT`) a
`hwgen build --target fpga` folder on a board."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hwgen.arrays import load_npy
from hwgen.cli.common import add_dump_ir, add_input_option, dump_ir, parse_inputs, single_input, write_outputs
from hwgen.errors import HwgenError
from hwgen.frontend import import_onnx, input_names, load_onnx
from hwgen.reference import run as interpret


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a model on inputs (.npy): reference interpreter, TVM build or a board",
                       description="Run an ONNX model with hwgen's numpy reference interpreter, a folder written by "
                                   "`hwgen build --target tvm`, or (--device) an FPGA build folder on a board.")
    p.add_argument("model", help="an .onnx file, or a build folder")
    add_input_option(p, "input .npy; NAME=FILE (repeat) for models with several inputs")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="write the output to this .npy (several outputs: a .npz)")
    add_dump_ir(p)
    p.add_argument("--device", metavar="PORT", default=None,
                   help="run on a board over this serial port (e.g. /dev/ttyUSB0); MODEL is then the folder "
                        "written by `hwgen build --target fpga`")
    p.add_argument("--baud", type=int, default=None, help="with --device: serial baud rate (default: the build's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.device:
        return _run_on_board(args)
    if Path(args.model).is_dir():
        return _run_tvm_build(args)
    model = load_onnx(args.model)
    if not args.input:
        graph = import_onnx(model, args.model)
        raise HwgenError(f"no --input given; the model takes {', '.join(f'{v.name} {v.type}' for v in graph.inputs)}")
    feeds = parse_inputs(args.input, input_names(model))
    # the arrays' shapes fix any symbolic (dynamic-axis) dims, so dynamic exports run too
    graph = import_onnx(model, args.model, {name: a.shape for name, a in feeds.items()})
    dump_ir(args.dump_ir, 0, "import", graph)
    outputs = interpret(graph, feeds)
    write_outputs({v.name: outputs[v.name] for v in graph.outputs}, args.output)
    return 0


def _run_tvm_build(args: argparse.Namespace) -> int:
    from hwgen.tvm_backend.runner import load

    model = load(args.model)
    if not args.input:
        raise HwgenError(f"no --input given; the model takes {', '.join(model.input_names)}")
    write_outputs(model(parse_inputs(args.input, model.input_names)), args.output)
    return 0


def _run_on_board(args: argparse.Namespace) -> int:
    from hwgen.fpga.board_run import run_on_board

    path = single_input(args.input, "the board's accelerator")
    if path is None:
        raise HwgenError("--device needs --input FILE (float inputs [T, X] or [N, T, X], or integer codes)")
    result = run_on_board(args.model, args.device, load_npy(path), baud=args.baud)
    for line in result.step_lines():
        print(line)
    print(f"{len(result.cycles)} sequence(s) on {args.device}: outputs {list(result.outputs.shape)}, "
          f"{result.cycles_per_step:.0f} cycles/step, "
          f"{'bit-exact with' if result.bit_exact else 'DIFFERENT from'} the reference")
    if args.output is not None:
        np.save(args.output, result.outputs)
        print(f"wrote {args.output}")
    return 0 if result.bit_exact else 1
