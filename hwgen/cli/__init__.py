"""The `hwgen` command line: argument parsing only; each command calls one library function.

Each command lives in its own module with `add_parser(subparsers)` that sets
`func`. User errors (HwgenError) print one line and exit 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from hwgen.errors import HwgenError

#: Command modules, in the order `hwgen --help` lists them (data flows left to right).
COMMANDS = ("train", "export", "inspect", "run", "build", "sim", "explore")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwgen",
        description="Train binary/ternary LSTMs, compile ONNX to verified RTL, FPGA bitstreams or TVM kernels.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"hwgen.cli.{name}_cmd").add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except HwgenError as err:
        if args.debug:
            raise
        print(f"hwgen {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hwgen {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
