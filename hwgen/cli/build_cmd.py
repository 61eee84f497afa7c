"""`hwgen build model.onnx --target rtl|tvm|fpga -o out/`.

Each target is a module `hwgen.<backend>.cli` with `add_arguments(group)` and
`build(graph, args) -> None`; this command imports the model, dumps IR if asked,
and hands over. Backends own their options, so adding one touches no other.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from types import ModuleType
from typing import Optional

from hwgen.cli.common import add_dump_ir, dump_ir
from hwgen.errors import HwgenError
from hwgen.frontend import load_graph

TARGET_MODULES = {"rtl": "hwgen.rtl.cli", "tvm": "hwgen.tvm_backend.cli", "fpga": "hwgen.fpga.cli"}


def _target_module(name: str) -> Optional[ModuleType]:
    try:
        return importlib.import_module(TARGET_MODULES[name])
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith(TARGET_MODULES[name].rsplit(".", 1)[0]):
            return None
        raise


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="compile an ONNX model to RTL, TVM kernels or an FPGA bitstream",
                       description="Compile an ONNX model for one target.")
    p.add_argument("model", help="an .onnx file")
    p.add_argument("--target", required=True, choices=sorted(TARGET_MODULES))
    p.add_argument("-o", "--out", type=Path, required=True, help="output directory")
    add_dump_ir(p)
    for name in sorted(TARGET_MODULES):
        module = _target_module(name)
        if module is not None:
            module.add_arguments(p.add_argument_group(f"--target {name}"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module = _target_module(args.target)
    if module is None:
        raise HwgenError(f"target {args.target!r} is not available in this installation")
    graph = load_graph(args.model)
    dump_ir(args.dump_ir, 0, "import", graph)
    module.build(graph, args)
    return 0
