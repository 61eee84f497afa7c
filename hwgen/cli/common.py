"""Argument helpers shared by several commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from hwgen.arrays import load_npy
from hwgen.errors import HwgenError
from hwgen.ir.graph import Graph
from hwgen.ir.printer import print_graph


def add_dump_ir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dump-ir", metavar="DIR", type=Path, default=None,
                        help="write the printed IR after import and after each pass into DIR")


def dump_ir(directory: Optional[Path], step: int, label: str, graph: Graph) -> None:
    """Write `graph` as DIR/NN-label.ir when --dump-ir is given."""
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{step:02d}-{label}.ir").write_text(print_graph(graph))


def add_input_option(parser: argparse.ArgumentParser, help: str) -> None:
    """`--input [NAME=]FILE`, the one spelling of `hwgen run` and `hwgen sim`."""
    parser.add_argument("--input", "-i", action="append", default=[], metavar="[NAME=]FILE", help=help)


def parse_inputs(specs: list[str], names: Sequence[str]) -> dict[str, np.ndarray]:
    """`--input FILE` (one-input models) or `--input NAME=FILE` repeated; `names` are the model's inputs."""
    feeds: dict[str, np.ndarray] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or name not in names and os.path.exists(spec):
            if len(names) != 1:
                raise HwgenError(f"the model has {len(names)} inputs ({', '.join(names)}): use --input NAME=FILE for each")
            name, path = names[0], spec
        if name not in names:
            raise HwgenError(f"--input {spec}: the model has no input {name!r} (it has {', '.join(names)})")
        feeds[name] = load_npy(path)
    return feeds


def single_input(specs: list[str], what: str) -> Optional[str]:
    """The path of the one `--input [NAME=]FILE` of a one-input design (`what` names it); None when not given."""
    if not specs:
        return None
    if len(specs) != 1:
        raise HwgenError(f"{what} has one input: give one --input FILE, not {len(specs)}")
    spec = specs[0]
    return spec if os.path.exists(spec) or "=" not in spec else spec.partition("=")[2]


def add_shape_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", action="append", default=[], metavar="[NAME=]D0,D1,...",
                        help="sizes for an input exported with symbolic (dynamic) dims; NAME= for models with several inputs")


def parse_shapes(specs: list[str], names: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """`--shape 1,100,64` (one-input models) or `--shape NAME=1,100,64` repeated."""
    shapes: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        name, sep, dims = spec.rpartition("=")
        if not sep:
            if len(names) != 1:
                raise HwgenError(f"the model has {len(names)} inputs ({', '.join(names)}): use --shape NAME=D0,D1,...")
            name = names[0]
        try:
            shape = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            raise HwgenError(f"--shape {spec}: sizes must be integers separated by commas, e.g. 1,100,64") from None
        if not shape or any(d < 1 for d in shape):
            raise HwgenError(f"--shape {spec}: give one or more positive sizes, e.g. 1,100,64")
        shapes[name] = shape
    return shapes


def write_outputs(outputs: dict[str, np.ndarray], path: Optional[Path]) -> None:
    """Print each output's type; save to `path` (.npy for one output, .npz for several) when given."""
    for name, value in outputs.items():
        print(f"{name}: {value.dtype}{list(value.shape)}")
    if path is None:
        return
    if len(outputs) == 1:
        np.save(path, next(iter(outputs.values())))
    else:
        np.savez(path, **outputs)
    print(f"wrote {path}")
