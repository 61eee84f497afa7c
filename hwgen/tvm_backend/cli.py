"""`hwgen build --target tvm` options and the `hwgen run out/` runner for TVM build directories."""

from __future__ import annotations

import argparse
from pathlib import Path


import argparse
from hwgen.ir.graph import Graph, Value
from hwgen.ir.types import TensorType
from hwgen.tvm_backend.options import ACTIVATIONS, CPUS
from hwgen.tvm_backend.errors import TVMBackendError


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--cpu", choices=CPUS, default="host",
                       help="host: this machine's CPU; aarch64: cross-compile for 64-bit Arm boards (default host)")
    group.add_argument("--tvm-weights", choices=("auto", "float"), default="auto",
                       help="auto: packed 2-bit/1-bit kernels for ternary/binary LSTM weights; float: float kernels")
    group.add_argument("--tvm-activations", choices=ACTIVATIONS, default="f32",
                       help="f32: float activations (any model, matches ONNX); int8: the RTL path's fixed-point LSTM, "
                            "bit-exact with IntegerModel.run (binary/ternary LSTM stacks; the fastest variant: AVX2 "
                            "u8 x s8 kernels on x86 hosts, ~3.5x faster than f32 at H=256)")
    group.add_argument("--tvm-shape", action="append", default=[], metavar="NAME=D0,D1,...",
                       help="fix the shape of an input with symbolic dimensions (repeat per input)")


def with_input_shapes(graph: Graph, specs: list[str]) -> Graph:
    """The graph with the named inputs given static shapes (re-typed), for --tvm-shape."""
    if not specs:
        return graph
    names = {v.name: v for v in graph.inputs}
    shapes: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        name, sep, dims = spec.partition("=")
        if not sep or name not in names:
            raise TVMBackendError(f"--tvm-shape {spec!r}: expected NAME=D0,D1,... with NAME one of {', '.join(names)}")
        try:
            shape = tuple(int(d) for d in dims.split(","))
        except ValueError:
            raise TVMBackendError(f"--tvm-shape {spec!r}: dimensions must be integers") from None
        if len(shape) != names[name].type.rank or any(isinstance(a, int) and a != b for a, b in zip(names[name].type.shape, shape)):
            raise TVMBackendError(f"--tvm-shape {spec!r} does not fit input {name!r} of type {names[name].type}")
        shapes[name] = shape
    inputs = tuple(Value(v.name, TensorType(shapes[v.name], v.type.dtype)) if v.name in shapes else v for v in graph.inputs)
    return graph.replace(inputs=inputs, types={}).with_types()


def build(graph: Graph, args: argparse.Namespace) -> None:
    from hwgen.tvm_backend.build import BuildPlan, execute

    graph = with_input_shapes(graph, args.tvm_shape)
    result = execute(BuildPlan(graph, Path(args.out), args.cpu, args.tvm_weights, args.tvm_activations))
    m = result.manifest
    print(f"wrote {result.library} ({result.library.stat().st_size:,} bytes, {m['llvm_target']['mtriple']}, "
          f"kernels {m['kernel_variant']}) and {result.out / 'manifest.json'}")


def run_artifact(args: argparse.Namespace) -> int:
    """`hwgen run out/ --input x.npy [-o y.npy]` for a directory written by `hwgen build --target tvm`."""
    from hwgen.tvm_backend.runner import load

    model = load(args.model)
    if not args.input:
        raise TVMBackendError(f"no --input given; the model takes {', '.join(model.input_names)}")
    from hwgen.cli.common import parse_inputs, write_outputs

    write_outputs(model(parse_inputs(args.input, model.input_names)), args.output)
    return 0
