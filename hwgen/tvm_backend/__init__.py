"""TVM edge backend: hwgen IR -> Relax + scheduled TIR -> shared library (host or aarch64).

    from hwgen.tvm_backend import TvmOptions, build
    artifact = build(graph, "out/", TvmOptions(cpu="host"))   # -> TvmArtifact
    model = hwgen.tvm_backend.runner.load("out/")             # model({"x": array}) -> outputs

TVM's ONNX frontend cannot import LSTM, so hwgen lowers from its own IR (`lower`).
Binary/ternary LSTM weights run through packed 1-/2-bit kernels (`packing`,
`lstm_kernels`); `library` compiles and writes the artefact directory and `runner` loads
and runs it. Symbolic input dims (batch, sequence) stay symbolic: one library runs any size.
Importing this package does not import tvm (`build` imports it when called).
"""

from __future__ import annotations

import os
from typing import Union

from hwgen.ir.graph import Graph
from hwgen.tvm_backend.options import TvmArtifact, TvmOptions


def build(graph: Graph, out: Union[str, os.PathLike], options: TvmOptions = TvmOptions()) -> TvmArtifact:
    """Lower `graph`, compile it for `options.cpu` and write `out/` (model.so, manifest.json[, model.npz])."""
    from hwgen.tvm_backend import library

    return library.build(graph, out, options)


__all__ = ["build", "TvmOptions", "TvmArtifact"]
