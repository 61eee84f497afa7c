"""`hwgen inspect model.onnx`: ops, shapes, parameters, weight kinds, and which targets can take it."""

from __future__ import annotations

import argparse

from hwgen.cli.common import add_dump_ir, dump_ir
from hwgen.frontend import load_graph
from hwgen.inspect import format_report, inspect_graph


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="summarise an ONNX model and which targets can compile it",
                       description="Import an ONNX model and print its ops, shapes, parameters, weight kinds and target support.")
    p.add_argument("model", help="path to an .onnx file")
    p.add_argument("--ir", action="store_true", help="also print the imported IR")
    add_dump_ir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    graph = load_graph(args.model)
    dump_ir(args.dump_ir, 0, "import", graph)
    print(format_report(inspect_graph(graph), show_ir=args.ir, graph=graph))
    return 0
