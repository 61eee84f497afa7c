"""`hwgen run model.onnx --input x.npy -o y.npy`: run a model on the reference interpreter
(or a compiled artefact directory, once its backend registers a runner)."""

from __future__ import annotations

import argparse
from pathlib import Path


from hwgen.cli.common import add_dump_ir, dump_ir, parse_inputs, write_outputs
from hwgen.errors import HwgenError
from hwgen.frontend import import_onnx, input_names, load_onnx
from hwgen.reference import run as interpret


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a model on inputs (.npy) with the reference interpreter",
                       description="Run an ONNX model with hwgen's numpy reference interpreter.")
    p.add_argument("model", help="an .onnx file")
    p.add_argument("--input", "-i", action="append", default=[], metavar="[NAME=]FILE",
                   help="input .npy; NAME=FILE (repeat) for models with several inputs")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="write the output to this .npy (several outputs: a .npz)")
    add_dump_ir(p)
    from hwgen.fpga.cli import add_run_arguments  # --device: run on a board (hwgen.fpga)

    add_run_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "device", None):
        from hwgen.fpga.cli import run_on_device

        return run_on_device(args)
    if Path(args.model).is_dir():  # a `hwgen build --target tvm` directory (hwgen.tvm_backend)
        from hwgen.tvm_backend.cli import run_artifact

        return run_artifact(args)
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
