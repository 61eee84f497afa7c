"""Compile a lowered module for a CPU and write the artefact directory: `build(graph, out, options)`.

The directory `out/` holds:

* `model.so` — the Relax VM executable as a shared library (x86-64 host or AArch64 ELF);
* `manifest.json` — `"target": "tvm"`, `"cpu"` (host | aarch64), `"llvm_target"` (the TVM
  target dict), `"inputs"`/`"outputs"` (name, shape, dtype in call order; a symbolic dim is
  its name, e.g. `["batch", 28, 28]`, an output dim computed from them is its expression),
  `"symbolic_dims"` (the names a call may size freely; inputs sharing a name must agree),
  `"specialised_inputs"` (the shapes fixed by `TvmOptions.shapes`), `"entry"` ("main"),
  `"kernel_variant"` ("float", "ternary-f32act", "binary-f32act", "ternary-int8act", ...)
  and `"lstm_kernels"` (per LSTM direction: sizes, weight kinds, packed bytes); int8 builds
  add `"int8_kernels"` ("avx2": `quad_kernels`, or "portable"), `"integer_model"` and
  `"fixed_point"`;
* `model.npz` — int8 builds only: the `IntegerModel` the library is bit-exact with.

`runner.load(out)` reads it back (`hwgen run out/`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Union

import tvm
from tvm import relax

from hwgen.ir.bind import specialise
from hwgen.ir.graph import Graph
from hwgen.ir.types import Dim
from hwgen.tvm_backend import quad_kernels
from hwgen.tvm_backend.errors import TVMBackendError
from hwgen.tvm_backend.llvm import compile_module, llvm_target
from hwgen.tvm_backend.lower import lower_graph
from hwgen.tvm_backend.relax_context import Lowered, relax_dtype
from hwgen.tvm_backend.options import TvmArtifact, TvmOptions

if TYPE_CHECKING:
    from hwgen.tvm_backend.integer import LoweredInteger

LIBRARY = "model.so"
MANIFEST = "manifest.json"
INTEGER_MODEL = "model.npz"
CROSS_GCC = "aarch64-linux-gnu-gcc"




def compile_lowered(lowered: Lowered, cpu: str = "host") -> tvm.runtime.Executable:
    """tvm.compile the Relax module for `cpu` (the relax VM executable, still in memory)."""
    return compile_module(lowered.module, cpu)


def with_input_shapes(graph: Graph, shapes: Mapping[str, tuple[int, ...]]) -> Graph:
    """The graph with the named inputs given static shapes (re-typed): `TvmOptions.shapes`.
    Each shape must name an input, have its rank and agree with its static dims."""
    if not shapes:
        return graph
    names = {v.name: v for v in graph.inputs}
    for name, shape in shapes.items():
        if name not in names:
            raise TVMBackendError(f"shapes: {name!r} is not an input of graph {graph.name!r} "
                                  f"(inputs: {', '.join(f'{v.name} {v.type}' for v in graph.inputs)})")
        t = names[name].type
        if len(shape) != t.rank or any(isinstance(a, int) and a != b for a, b in zip(t.shape, shape)):
            raise TVMBackendError(f"shapes: {name!r} = {list(shape)} does not fit input {name!r} of type {t} "
                                  f"(rank {t.rank}; only its symbolic dims may be given sizes)")
    return specialise(graph, shapes)  # dim attributes (Reshape targets, Slice bounds) follow the inputs' sizes


def _dim(d: Any) -> Dim:
    """A Relax shape entry as a manifest dim: a size, a symbolic dim's name, or the expression's text."""
    if isinstance(d, (int, tvm.tirx.IntImm)):
        return int(d)
    if isinstance(d, tvm.tirx.Var):
        return str(d.name)
    return str(d)


def _returned_shapes(lowered: Lowered) -> list[Any]:
    ret = lowered.module["main"].ret_ty
    fields = list(ret.fields) if isinstance(ret, relax.TupleType) else [ret]
    shapes = []
    for f in fields:
        shape = getattr(f, "shape", None)
        shapes.append([_dim(d) for d in shape.values] if isinstance(shape, relax.ShapeExpr) else None)
    return shapes


def _values(graph: Graph, values: tuple, shapes: Any = None) -> list[dict[str, Any]]:
    out = []
    for i, v in enumerate(values):
        t = graph.types.get(v.name, v.type)
        dtype = relax_dtype(t.dtype)
        shape = shapes[i] if shapes is not None and shapes[i] is not None else [int(d) if isinstance(d, int) else str(d) for d in t.shape]
        out.append({"name": v.name, "shape": shape, "dtype": "uint8" if dtype == "bool" else dtype})
    return out


def _common(cpu: str, options: TvmOptions) -> dict[str, Any]:
    return {"target": "tvm", "format": 1, "cpu": cpu, "llvm_target": llvm_target(cpu), "tvm_version": tvm.__version__,
            "library": LIBRARY, "entry": "main", "specialised_inputs": {k: list(v) for k, v in options.shapes.items()}}


def manifest_for(lowered: Lowered, cpu: str, options: TvmOptions = TvmOptions()) -> dict[str, Any]:
    graph = lowered.graph
    return {
        **_common(cpu, options),
        "model": graph.name,
        "inputs": _values(graph, graph.inputs),
        "outputs": _values(graph, graph.outputs, _returned_shapes(lowered)),
        "symbolic_dims": list(lowered.symbolic_dims),
        "kernel_variant": lowered.variant,
        "lstm_kernels": [asdict(k) for k in lowered.kernels],
        "linear_kernels": [asdict(k) for k in lowered.linears],
    }


def integer_manifest(lowered: "LoweredInteger", cpu: str, options: TvmOptions = TvmOptions()) -> dict[str, Any]:
    model = lowered.model
    return {
        **_common(cpu, options),
        "model": model.name,
        "inputs": [{"name": "x_int", "shape": [lowered.batch, lowered.steps, model.input_size], "dtype": "int32"}],
        "outputs": [{"name": model.output, "shape": [lowered.batch, model.output_size], "dtype": "int64"}],
        "symbolic_dims": [d for d in (lowered.batch, lowered.steps) if isinstance(d, str)],
        "kernel_variant": lowered.variant,
        "int8_kernels": lowered.kernel_set,
        "lstm_kernels": [asdict(k) for k in lowered.kernels],
        "integer_model": INTEGER_MODEL,
        "fixed_point": {"input_format": [model.input_format.bits, model.input_format.frac],
                        "output_scale": model.output_scale,
                        "note": "inputs are integer codes [N, T, X] (IntegerModel.quantize_input); outputs are "
                                "IntegerModel.run's integer codes (float = code * output_scale)"},
    }


def _lower_integer(graph: Graph, options: TvmOptions) -> tuple["LoweredInteger", dict[str, Any]]:
    from hwgen.ir.ops import LSTMAttrs
    from hwgen.passes.lower_fixed_point import lower_fixed_point
    from hwgen.tvm_backend.integer import lower_integer

    graph = graph if graph.types else graph.with_types()
    lstm = next(graph.nodes_of(LSTMAttrs), None)
    assert lstm is not None, "graphs without LSTM take per-token int8 Linear layers (`_int8_linears`)"
    steps, batch, _ = graph.types[lstm.inputs[0]].shape
    lowered = lower_integer(lower_fixed_point(graph), batch, steps, options.cpu)
    return lowered, integer_manifest(lowered, options.cpu, options)


def _has_lstm(graph: Graph) -> bool:
    """activations "int8" means the fixed-point IntegerModel for LSTM graphs, per-token int8 Linear layers
    (`linear`) for the others (transformer encoders)."""
    from hwgen.ir.ops import LSTMAttrs

    return next(graph.nodes_of(LSTMAttrs), None) is not None


def _export(executable: tvm.runtime.Executable, library: Path, cpu: str) -> None:
    if cpu == "aarch64":
        if shutil.which(CROSS_GCC) is None:
            raise TVMBackendError(f"cpu 'aarch64' needs the cross compiler {CROSS_GCC} "
                                  "(Debian: apt-get install gcc-aarch64-linux-gnu; `make install` does it)")
        from tvm.support import cc

        executable.export_library(str(library), fcompile=cc.cross_compiler(CROSS_GCC))
    else:
        executable.export_library(str(library))


def build(graph: Graph, out: Union[str, os.PathLike], options: TvmOptions = TvmOptions()) -> TvmArtifact:
    """Lower, compile and export: writes out/model.so and out/manifest.json (and out/model.npz, the
    IntegerModel, for activations "int8"). Symbolic input dims stay symbolic unless `options.shapes`
    specialises them."""
    out = Path(out)
    graph = with_input_shapes(graph, options.shapes)
    graph = graph if graph.types else graph.with_types()
    integer = options.activations == "int8" and _has_lstm(graph)
    if integer:
        lowered_int, manifest = _lower_integer(graph, options)
        executable = compile_module(lowered_int.module, options.cpu)
    else:
        lowered = lower_graph(graph, options.weights, int8_activations=options.activations == "int8",
                              simd=quad_kernels.simd_level(llvm_target(options.cpu)))
        executable = compile_lowered(lowered, options.cpu)
        manifest = manifest_for(lowered, options.cpu, options)
    out.mkdir(parents=True, exist_ok=True)
    library = out / LIBRARY
    _export(executable, library, options.cpu)
    if integer:
        lowered_int.model.save(out / INTEGER_MODEL)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return TvmArtifact(out, library, manifest)
