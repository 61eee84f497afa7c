"""`hwgen build model.onnx --target rtl|tvm|fpga -o out/`: import, then `hwgen.compile`'s registry.

The flags of each target are declared in `hwgen.cli.target_args`; this command turns the ones
given into keyword options and calls the target's library entry point.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hwgen.cli.common import add_dump_ir, dump_ir
from hwgen.cli.target_args import add_target_arguments, target_options
from hwgen.frontend import load_graph
from hwgen.rtl.gated import check_pair_files
from hwgen.targets import TARGETS, get_target


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="compile an ONNX model to RTL, TVM kernels or an FPGA bitstream",
                       description="Compile an ONNX model for one target.")
    p.add_argument("model", help="an .onnx file")
    p.add_argument("--target", required=True, choices=sorted(TARGETS))
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    add_dump_ir(p)
    add_target_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = get_target(args.target)
    graph = load_graph(args.model)
    options = target_options(target, args, [v.name for v in graph.inputs], args.dump_ir)
    if options.get("gated_with") is not None:
        check_pair_files(args.model, options["gated_with"])
    made = target.make_options(options)
    dump_ir(args.dump_ir, 0, "import", graph)
    artifact = target.build(graph, args.output, *made)
    print(artifact.summary())
    return 0
