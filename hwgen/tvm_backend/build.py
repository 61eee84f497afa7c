"""Compile a lowered module for a CPU and write the artefact directory.

A build is data first (`BuildPlan`: the graph, the CPU, where to write), then `execute`
runs it. The directory `out/` holds:

* `model.so` — the Relax VM executable as a shared library (x86-64 host or AArch64 ELF);
* `manifest.json` — `"target": "tvm"`, `"cpu"` (host | aarch64), `"llvm_target"` (the TVM
  target dict), `"inputs"`/`"outputs"` (name, shape, dtype in call order), `"entry"`
  ("main"), `"kernel_variant"` ("float", "ternary-f32act", "binary-f32act",
  "ternary-int8act", ...) and `"lstm_kernels"` (per LSTM direction: sizes, weight kinds,
  packed bytes); int8 builds add `"int8_kernels"` ("avx2": `quad_kernels`, or "portable"),
  `"integer_model"` and `"fixed_point"`;
* `model.npz` — int8 builds only: the `IntegerModel` the library is bit-exact with.

`runner.load(out)` reads it back (`hwgen run out/`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import tvm

from hwgen.ir.graph import Graph
from hwgen.tvm_backend.errors import TVMBackendError
from hwgen.tvm_backend.lower import Lowered, WeightsMode, lower_graph, relax_dtype

if TYPE_CHECKING:
    from hwgen.tvm_backend.integer import LoweredInteger

CPU = Literal["host", "aarch64"]
from hwgen.tvm_backend.options import ACTIVATIONS, CPUS  # noqa: E402
LIBRARY = "model.so"
MANIFEST = "manifest.json"
CROSS_GCC = "aarch64-linux-gnu-gcc"


#: Host CPUs whose LLVM scheduling model serves the packed kernels badly, and the tuning used
#: instead (same ISA). znver1: its model spills the unrolled packed matvec; generic AVX2
#: (x86-64-v3) tuning runs it ~17% faster on a Zen 1 EPYC (measured with the benchmark's matvec).
TUNING_OVERRIDES = {"znver1": "x86-64-v3"}


def host_mcpu() -> str:
    cpu = tvm.target.codegen.llvm_get_system_cpu()
    return TUNING_OVERRIDES.get(cpu, cpu)


def llvm_target(cpu: str) -> dict[str, Any]:
    """The TVM target dict for `cpu`: the host's own CPU model, or a generic 64-bit Arm with NEON."""
    if cpu == "host":
        return {"kind": "llvm", "mtriple": _host_triple(), "mcpu": host_mcpu()}
    if cpu == "aarch64":
        return {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a72", "mattr": ["+neon"]}
    raise TVMBackendError(f"--cpu {cpu!r} is not supported (choose one of {', '.join(CPUS)})")


def _host_triple() -> str:
    # The wheel's LLVM reports the conda triple it was built with; the plain GNU triple is the same ABI.
    triple = tvm.target.codegen.llvm_get_system_triple()
    arch = triple.split("-", 1)[0]
    return f"{arch}-linux-gnu" if "linux" in triple else triple


INTEGER_MODEL = "model.npz"


@dataclass(frozen=True)
class BuildPlan:
    graph: Graph
    out: Path
    cpu: str = "host"
    weights: WeightsMode = "auto"
    #: f32: float activations (any model); int8: the RTL path's fixed-point model, bit-exact (LSTM stacks)
    activations: str = "f32"


@dataclass(frozen=True)
class BuildResult:
    out: Path
    library: Path
    manifest: dict[str, Any]


#: TIR's storage rewrite merges the kernels' small accumulator buffers into one big workspace
#: allocation, which TVM then takes from the heap instead of the stack, and LLVM stores the
#: accumulators back to memory after every FMA (the recurrence ran 1.66x slower at H=256).
PASS_CONFIG = {"tirx.disable_storage_rewrite": True}


def compile_module(module: tvm.IRModule, cpu: str = "host") -> tvm.runtime.Executable:
    """tvm.compile for `cpu` with the backend's pass configuration."""
    with tvm.transform.PassContext(config=PASS_CONFIG):
        return tvm.compile(module, target=tvm.target.Target(llvm_target(cpu)))


def compile_lowered(lowered: Lowered, cpu: str = "host") -> tvm.runtime.Executable:
    """tvm.compile the Relax module for `cpu` (the relax VM executable, still in memory)."""
    return compile_module(lowered.module, cpu)


def _values(graph: Graph, values: tuple) -> list[dict[str, Any]]:
    return [{"name": v.name, "shape": [int(d) for d in graph.types.get(v.name, v.type).shape],
             "dtype": "uint8" if relax_dtype(graph.types.get(v.name, v.type).dtype) == "bool"
             else relax_dtype(graph.types.get(v.name, v.type).dtype)} for v in values]


def manifest_for(lowered: Lowered, cpu: str) -> dict[str, Any]:
    graph = lowered.graph
    return {
        "target": "tvm",
        "format": 1,
        "model": graph.name,
        "cpu": cpu,
        "llvm_target": llvm_target(cpu),
        "tvm_version": tvm.__version__,
        "library": LIBRARY,
        "entry": "main",
        "inputs": _values(graph, graph.inputs),
        "outputs": _values(graph, graph.outputs),
        "kernel_variant": lowered.variant,
        "lstm_kernels": [asdict(k) for k in lowered.kernels],
    }


def integer_manifest(lowered: "LoweredInteger", cpu: str) -> dict[str, Any]:
    model = lowered.model
    return {
        "target": "tvm", "format": 1, "model": model.name, "cpu": cpu, "llvm_target": llvm_target(cpu),
        "tvm_version": tvm.__version__, "library": LIBRARY, "entry": "main",
        "inputs": [{"name": "x_int", "shape": [lowered.batch, lowered.steps, model.input_size], "dtype": "int32"}],
        "outputs": [{"name": model.output, "shape": [lowered.batch, model.output_size], "dtype": "int64"}],
        "kernel_variant": lowered.variant,
        "int8_kernels": lowered.kernel_set,
        "lstm_kernels": [asdict(k) for k in lowered.kernels],
        "integer_model": INTEGER_MODEL,
        "fixed_point": {"input_format": [model.input_format.bits, model.input_format.frac],
                        "output_scale": model.output_scale,
                        "note": "inputs are integer codes [N, T, X] (IntegerModel.quantize_input); outputs are "
                                "IntegerModel.run's integer codes (float = code * output_scale)"},
    }


def _lower_integer(plan: BuildPlan) -> tuple["LoweredInteger", dict[str, Any]]:
    from hwgen.ir.ops import LSTMAttrs
    from hwgen.passes.lower_fixed_point import lower_fixed_point
    from hwgen.tvm_backend.integer import lower_integer

    graph = plan.graph if plan.graph.types else plan.graph.with_types()
    lstm = next(graph.nodes_of(LSTMAttrs), None)
    if lstm is None:
        raise TVMBackendError(f"--tvm-activations int8 needs an LSTM model; graph {graph.name!r} has no LSTM")
    steps, batch, _ = graph.types[lstm.inputs[0]].shape
    if not isinstance(steps, int) or not isinstance(batch, int):
        raise TVMBackendError(f"LSTM {lstm.name!r} input has symbolic shape {graph.types[lstm.inputs[0]]}: "
                              "give the model input a size with --tvm-shape")
    lowered = lower_integer(lower_fixed_point(graph), batch, steps, plan.cpu)
    return lowered, integer_manifest(lowered, plan.cpu)


def execute(plan: BuildPlan) -> BuildResult:
    """Lower, compile and export; writes plan.out/model.so and plan.out/manifest.json
    (and plan.out/model.npz, the IntegerModel, for --tvm-activations int8)."""
    if plan.activations not in ACTIVATIONS:
        raise TVMBackendError(f"activations {plan.activations!r}: choose one of {', '.join(ACTIVATIONS)}")
    if plan.activations == "int8":
        lowered_int, manifest = _lower_integer(plan)
        executable = compile_module(lowered_int.module, plan.cpu)
    else:
        lowered = lower_graph(plan.graph, plan.weights)
        executable = compile_lowered(lowered, plan.cpu)
        manifest = manifest_for(lowered, plan.cpu)
    plan.out.mkdir(parents=True, exist_ok=True)
    library = plan.out / LIBRARY
    if plan.cpu == "aarch64":
        if shutil.which(CROSS_GCC) is None:
            raise TVMBackendError(f"--cpu aarch64 needs the cross compiler {CROSS_GCC} "
                                  "(Debian: apt-get install gcc-aarch64-linux-gnu; `make install` does it)")
        from tvm.support import cc

        executable.export_library(str(library), fcompile=cc.cross_compiler(CROSS_GCC))
    else:
        executable.export_library(str(library))
    if plan.activations == "int8":
        lowered_int.model.save(plan.out / INTEGER_MODEL)
    (plan.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return BuildResult(plan.out, library, manifest)
