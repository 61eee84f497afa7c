"""Compile a lowered module for a CPU and write the artefact directory.

A build is data first (`BuildPlan`: the graph, the CPU, where to write), then one function
executes it. The directory holds the shared library, `manifest.json` (target "tvm", the
CPU and LLVM target, inputs/outputs with names, shapes and dtypes, and what each LSTM
became), and nothing else; `runner.load` reads it back.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import tvm

from hwgen.ir.graph import Graph
from hwgen.tvm_backend.errors import TVMBackendError
from hwgen.tvm_backend.lower import Lowered, WeightsMode, lower_graph, relax_dtype

CPU = Literal["host", "aarch64"]
CPUS: tuple[str, ...] = ("host", "aarch64")
LIBRARY = "model.so"
MANIFEST = "manifest.json"
CROSS_GCC = "aarch64-linux-gnu-gcc"


def llvm_target(cpu: str) -> dict[str, Any]:
    """The TVM target dict for `cpu`: the host's own CPU model, or a generic 64-bit Arm with NEON."""
    if cpu == "host":
        return {"kind": "llvm", "mtriple": _host_triple(), "mcpu": tvm.target.codegen.llvm_get_system_cpu()}
    if cpu == "aarch64":
        return {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a72", "mattr": ["+neon"]}
    raise TVMBackendError(f"--cpu {cpu!r} is not supported (choose one of {', '.join(CPUS)})")


def _host_triple() -> str:
    # The wheel's LLVM reports the conda triple it was built with; the plain GNU triple is the same ABI.
    triple = tvm.target.codegen.llvm_get_system_triple()
    arch = triple.split("-", 1)[0]
    return f"{arch}-linux-gnu" if "linux" in triple else triple


@dataclass(frozen=True)
class BuildPlan:
    graph: Graph
    out: Path
    cpu: str = "host"
    weights: WeightsMode = "auto"


@dataclass(frozen=True)
class BuildResult:
    out: Path
    library: Path
    manifest: dict[str, Any]


def compile_lowered(lowered: Lowered, cpu: str = "host") -> tvm.runtime.Executable:
    """tvm.compile the Relax module for `cpu` (the relax VM executable, still in memory)."""
    return tvm.compile(lowered.module, target=tvm.target.Target(llvm_target(cpu)))


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


def execute(plan: BuildPlan) -> BuildResult:
    """Lower, compile and export; writes plan.out/model.so and plan.out/manifest.json."""
    lowered = lower_graph(plan.graph, plan.weights)
    executable = compile_lowered(lowered, plan.cpu)
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
    manifest = manifest_for(lowered, plan.cpu)
    (plan.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return BuildResult(plan.out, library, manifest)
