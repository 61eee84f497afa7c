"""Load an ONNX file and convert it to an IR graph.

Every failure a user can cause is a HwgenError naming the file: missing, empty,
truncated or not ONNX, opset too old, unsupported ops (all listed at once, with node
names and the supported list), inconsistent shapes.
"""

from __future__ import annotations

import os
from typing import Union

import numpy as np
import onnx
from onnx import numpy_helper

from hwgen.errors import HwgenError, UnsupportedError
from hwgen.frontend import converters  # noqa: F401  (registers converters)
from hwgen.frontend.context import ConversionError, ConvertContext, describe
from hwgen.frontend.registry import HWGEN_DOMAIN, QONNX_DOMAINS, lookup, supported_ops
from hwgen.ir.graph import Graph, Value
from hwgen.ir.types import Dim, DType, Float32, Int, TensorType
from hwgen.ir.verify import verify

MIN_OPSET = 7

_ELEM_TYPES: dict[int, DType] = {
    onnx.TensorProto.FLOAT: Float32(), onnx.TensorProto.DOUBLE: Float32(), onnx.TensorProto.FLOAT16: Float32(),
    onnx.TensorProto.INT8: Int(8), onnx.TensorProto.UINT8: Int(8, False), onnx.TensorProto.INT16: Int(16),
    onnx.TensorProto.INT32: Int(32), onnx.TensorProto.INT64: Int(64), onnx.TensorProto.BOOL: Int(1, False),
}


def load_onnx(path: Union[str, os.PathLike]) -> onnx.ModelProto:
    """Read and sanity-check an ONNX file, with one clear error for each way it can be bad."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise HwgenError(f"{path}: no such file")
    if os.path.isdir(path):
        raise HwgenError(f"{path}: is a directory, expected an .onnx file")
    if os.path.getsize(path) == 0:
        raise HwgenError(f"{path}: file is empty, expected an ONNX model")
    try:
        model = onnx.load(path)
    except Exception as err:  # protobuf raises DecodeError/RuntimeError for junk and truncation
        raise HwgenError(f"{path}: not a readable ONNX model (truncated or not ONNX: {type(err).__name__})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise HwgenError(f"{path}: not an ONNX model (no graph nodes; truncated or another file type?)")
    return model


def _opset(model: onnx.ModelProto, path: str) -> int:
    versions = {o.domain: o.version for o in model.opset_import}
    opset = versions.get("", versions.get("ai.onnx"))
    if opset is None:
        raise HwgenError(f"{path}: model declares no default-domain opset")
    if opset < MIN_OPSET:
        raise HwgenError(f"{path}: opset {opset} is too old; hwgen reads opset {MIN_OPSET} and newer "
                         "(re-export, or upgrade with onnx.version_converter)")
    return opset


def _value_type(vi: onnx.ValueInfoProto, path: str) -> TensorType:
    tt = vi.type.tensor_type
    if tt.elem_type not in _ELEM_TYPES:
        raise HwgenError(f"{path}: input {vi.name!r} has element type "
                         f"{onnx.TensorProto.DataType.Name(tt.elem_type)}, not supported")
    dims: list[Dim] = []
    for i, d in enumerate(tt.shape.dim):
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or f"{vi.name}_d{i}"))
    return TensorType(tuple(dims), _ELEM_TYPES[tt.elem_type])


def _check_supported(model: onnx.ModelProto, opset: int, path: str) -> None:
    missing: dict[str, list[str]] = {}
    for node in model.graph.node:
        if lookup(node.domain, node.op_type, opset) is None:
            key = f"{node.domain + '.' if node.domain else ''}{node.op_type}"
            missing.setdefault(key, []).append(node.name or "(unnamed)")
    if missing:
        listed = "; ".join(f"{op} (nodes: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" for op, names in missing.items())
        raise UnsupportedError(f"{path}: unsupported op(s) at opset {opset}: {listed}. "
                               f"Supported: {', '.join(supported_ops())}")


def import_onnx(model: onnx.ModelProto, path: str = "model") -> Graph:
    """Convert a loaded ONNX model to a verified, typed IR graph."""
    opset = _opset(model, path)
    _check_supported(model, opset, path)
    ctx = ConvertContext(opset=opset, path=path)
    ctx.functions = {(f.domain, f.name): f for f in model.functions}
    for init in model.graph.initializer:
        ctx.add_const(init.name, numpy_helper.to_array(init))
    inputs = []
    for vi in model.graph.input:
        if vi.name in ctx.constants:
            continue
        t = _value_type(vi, path)
        ctx.types[vi.name] = t
        inputs.append(Value(vi.name, t))
    for node in model.graph.node:
        fn = lookup(node.domain, node.op_type, opset)
        assert fn is not None
        try:
            fn(ctx, node)
        except ConversionError as err:
            msg = str(err)
            raise ConversionError(msg if msg.startswith(path) else f"{path}: {msg}") from None
        except HwgenError:
            raise
        except Exception as err:
            raise ConversionError(f"{path}: {describe(node)}: cannot convert ({type(err).__name__}: {err})") from err
    outputs = []
    for vi in model.graph.output:
        if vi.name in ctx.constants:
            raise HwgenError(f"{path}: output {vi.name!r} is a constant; nothing to compute")
        outputs.append(Value(vi.name, ctx.type(vi.name)))
    used = {i for n in ctx.nodes for i in n.inputs}
    constants = {k: v for k, v in ctx.constants.items() if k in used}
    graph = Graph(model.graph.name or "model", tuple(ctx.nodes), tuple(inputs), tuple(outputs), constants, dict(ctx.types))
    graph = graph.replace(types={k: v for k, v in graph.types.items() if k in used or k in {o.name for o in outputs} or k in {n for nd in ctx.nodes for n in nd.outputs} or k in {i.name for i in inputs}})
    verify(graph)
    return graph


def load_graph(path: Union[str, os.PathLike]) -> Graph:
    """load_onnx + import_onnx: the one call most users and backends need."""
    return import_onnx(load_onnx(path), os.fspath(path))


__all__ = ["load_onnx", "import_onnx", "load_graph", "QONNX_DOMAINS", "HWGEN_DOMAIN", "np"]
