"""`hwgen inspect model.onnx`: ops, shapes, parameters, weight kinds, and which targets can take it.
`hwgen inspect --ops`: the table of ONNX ops (and opsets) the frontend imports."""

from __future__ import annotations

import argparse

from hwgen.cli.common import add_dump_ir, add_shape_option, dump_ir, parse_shapes
from hwgen.errors import HwgenError
from hwgen.frontend import import_onnx, input_names, load_onnx
from hwgen.inspect import format_op_coverage, format_report, inspect_graph


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="summarise an ONNX model and which targets can compile it",
                       description="Import an ONNX model and print its ops, shapes, parameters, weight kinds and target support.")
    p.add_argument("model", nargs="?", help="path to an .onnx file")
    p.add_argument("--ir", action="store_true", help="also print the imported IR")
    p.add_argument("--ops", action="store_true", help="print the ONNX op coverage table (no model needed)")
    add_shape_option(p)
    add_dump_ir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.ops:
        print(format_op_coverage())
        if args.model is None:
            return 0
    if args.model is None:
        raise HwgenError("give a model to inspect (hwgen inspect model.onnx), or --ops for the op coverage table")
    model = load_onnx(args.model)
    graph = import_onnx(model, args.model, parse_shapes(args.shape, input_names(model)))
    dump_ir(args.dump_ir, 0, "import", graph)
    print(format_report(inspect_graph(graph), show_ir=args.ir, graph=graph))
    return 0
