"""`hwgen.compile(model, target, out, **options)`: the front door for Python users.

`model` is an .onnx path, an `onnx.ModelProto` or an IR `Graph`; `target` a key of
`hwgen.targets.TARGETS` ("rtl", "fpga", "tvm"); `options` the fields of the target's option
dataclasses (`AccelOptions`, `GateOptions`, `BoardOptions`, `TvmOptions`). Returns the target's artifact
(`RtlArtifact`, `FpgaArtifact`, `TvmArtifact`; `GatedArtifact` for a surprisal-gated pair:
`compile("small.onnx", "rtl", out, gated_with="big.onnx")`), each with `summary()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

import onnx

from hwgen.errors import HwgenError
from hwgen.frontend import import_onnx, load_graph
from hwgen.ir.graph import Graph
from hwgen.rtl.gated import check_pair_files
from hwgen.targets import get_target

Model = Union[str, Path, onnx.ModelProto, Graph]


def as_graph(model: Model) -> Graph:
    """The IR graph of a model given as a path, an ONNX ModelProto or a graph."""
    if isinstance(model, Graph):
        return model
    if isinstance(model, onnx.ModelProto):
        return import_onnx(model, model.graph.name or "<ModelProto>")
    if isinstance(model, (str, Path)):
        return load_graph(str(model))
    raise HwgenError(f"model must be an .onnx path, an onnx.ModelProto or an hwgen IR Graph, not {type(model).__name__}")


def compile(model: Model, target: str, out: Union[str, Path], **options: Any) -> Any:  # noqa: A001 (the API's name)
    """Compile `model` for `target` into `out`; see the module docstring."""
    spec = get_target(target)
    made = spec.make_options(options)
    if options.get("gated_with") is not None and isinstance(model, (str, Path)):
        check_pair_files(model, options["gated_with"])  # a graph carries no metadata: only a file can be checked
    return spec.build(as_graph(model), Path(out), *made)
