"""Load an ONNX file and convert it to an IR graph.

Every failure a user can cause is a HwgenError naming the file: missing, empty,
truncated or not ONNX, opset too old, unsupported ops (all listed at once, with node
names and the supported list), inconsistent shapes.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.external_data_helper import load_external_data_for_model

from hwgen.errors import HwgenError, IRError, UnsupportedError
from hwgen.frontend import converters  # noqa: F401  (registers converters)
from hwgen.frontend.context import ConversionError, ConvertContext, describe
from hwgen.frontend.onnx_types import elem_name, ir_dtype, supported_elem_names
from hwgen.frontend.registry import HWGEN_DOMAIN, QONNX_DOMAINS, ConvertFn, lookup, supported_ops
from hwgen.ir.graph import Graph, Node, Value
from hwgen.ir.ops import IdentityAttrs
from hwgen.ir.types import Dim, TensorType
from hwgen.ir.verify import verify

MIN_OPSET = 7


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
        model = onnx.load(path, load_external_data=False)
    except Exception as err:  # protobuf raises DecodeError/RuntimeError for junk and truncation
        raise HwgenError(f"{path}: not a readable ONNX model (truncated or not ONNX: {type(err).__name__})") from None
    try:
        load_external_data_for_model(model, os.path.dirname(os.path.abspath(path)))
    except Exception as err:
        detail = " ".join(str(err).split())
        raise HwgenError(f"{path}: cannot read the model's external weight data: {detail}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise HwgenError(f"{path}: not an ONNX model (no graph nodes; truncated or another file type?)")
    dangling = _first_undefined(model.graph)
    if dangling:
        raise HwgenError(f"{path}: malformed or truncated ONNX model: {dangling}")
    return model


def _first_undefined(graph: onnx.GraphProto) -> str:
    """A description of the first value used but never defined ('' if none): what a cut-off file looks like."""
    for what, texts in (("node", [t for n in graph.node for t in (n.name, n.op_type, n.domain, *n.input, *n.output)]),
                        ("value", [v.name for v in (*graph.input, *graph.output, *graph.initializer)])):
        if any(not isinstance(t, str) for t in texts):  # protobuf hands back bytes for invalid UTF-8
            return f"a {what} name is not valid UTF-8"
    defined = {i.name for i in graph.initializer} | {i.name for i in graph.input} | {""}
    for node in graph.node:
        for name in node.input:
            if name not in defined:
                return f"node {node.name or node.op_type!r} reads {name!r}, which nothing defines"
        defined.update(node.output)
    for out in graph.output:
        if out.name not in defined:
            return f"graph output {out.name!r} is never computed"
    if not graph.output:
        return "the graph has no outputs"
    return ""


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
    if not vi.type.HasField("tensor_type"):
        raise HwgenError(f"{path}: input {vi.name!r} is not a tensor (sequences, maps and optionals are not supported)")
    tt = vi.type.tensor_type
    dtype = ir_dtype(tt.elem_type)
    if dtype is None:
        raise HwgenError(f"{path}: input {vi.name!r} has element type {elem_name(tt.elem_type)}, not supported "
                         f"(supported: {supported_elem_names()})")
    if not tt.HasField("shape"):
        raise HwgenError(f"{path}: input {vi.name!r} has no shape; export with input shapes")
    dims: list[Dim] = []
    for i, d in enumerate(tt.shape.dim):
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or f"{vi.name}_d{i}"))
    return TensorType(tuple(dims), dtype)


def _converter_of(model: onnx.ModelProto, node: onnx.NodeProto, opset: int) -> Optional[ConvertFn]:
    """The converter for `node` at the opset its domain is imported with (the default opset if undeclared)."""
    domain = "" if node.domain == "ai.onnx" else node.domain
    versions = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}
    return lookup(domain, node.op_type, versions.get(domain, opset))


def _initializer(init: onnx.TensorProto, path: str) -> np.ndarray:
    """An initializer's array, or one error naming it when its data is corrupt or of an unsupported type."""
    try:
        array = numpy_helper.to_array(init)
    except Exception as err:
        raise HwgenError(f"{path}: initializer {init.name!r} is corrupt or of an unknown type "
                         f"({type(err).__name__}: {' '.join(str(err).split())})") from None
    if ir_dtype(init.data_type) is None:
        raise HwgenError(f"{path}: initializer {init.name!r} has element type {elem_name(init.data_type)}, not supported "
                         f"(supported: {supported_elem_names()})")
    return array


def _check_supported(model: onnx.ModelProto, opset: int, path: str) -> None:
    missing: dict[str, list[str]] = {}
    for node in model.graph.node:
        if _converter_of(model, node, opset) is None:
            key = f"{node.domain + '.' if node.domain else ''}{node.op_type}"
            missing.setdefault(key, []).append(node.name or "(unnamed)")
    if missing:
        listed = "; ".join(f"{op} (nodes: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" for op, names in missing.items())
        raise UnsupportedError(f"{path}: unsupported op(s) at opset {opset}: {listed}. "
                               f"Supported: {', '.join(supported_ops())}")


def input_names(model: onnx.ModelProto) -> list[str]:
    """The model's real inputs (graph inputs that are not initializers), in order."""
    inits = {i.name for i in model.graph.initializer}
    return [vi.name for vi in model.graph.input if vi.name not in inits]


def _bind(t: TensorType, shape: Sequence[int], name: str, path: str) -> TensorType:
    """`t` with its dims set to `shape`: symbolic dims take the given size, static ones must equal it."""
    given = tuple(int(d) for d in shape)
    if len(given) != t.rank or any(isinstance(d, int) and d != g for d, g in zip(t.shape, given)):
        raise HwgenError(f"{path}: input {name!r} has shape {list(given)}, the model expects {list(t.shape)}")
    return TensorType(given, t.dtype)


def import_onnx(model: onnx.ModelProto, path: str = "model",
                input_shapes: Optional[Mapping[str, Sequence[int]]] = None) -> Graph:
    """Convert a loaded ONNX model to a verified, typed IR graph.

    `input_shapes` fixes the sizes of inputs exported with symbolic dims (dynamic batch or
    sequence): their Shape chains then fold like those of a static export.
    """
    shapes = dict(input_shapes or {})
    unknown = sorted(set(shapes) - set(input_names(model)))
    if unknown:
        raise HwgenError(f"{path}: no input(s) {', '.join(map(repr, unknown))}; the model takes {', '.join(input_names(model))}")
    opset = _opset(model, path)
    _check_supported(model, opset, path)
    ctx = ConvertContext(opset=opset, path=path)
    ctx.functions = {(f.domain, f.name): f for f in model.functions}
    for init in model.graph.initializer:
        ctx.add_const(init.name, _initializer(init, path))
    inputs = []
    for vi in model.graph.input:
        if vi.name in ctx.constants:
            continue
        t = _value_type(vi, path)
        if vi.name in shapes:
            t = _bind(t, shapes[vi.name], vi.name, path)
        ctx.types[vi.name] = t
        inputs.append(Value(vi.name, t))
    for node in model.graph.node:
        fn = _converter_of(model, node, opset)
        assert fn is not None
        try:
            fn(ctx, node)
        except ConversionError as err:
            msg = str(err)
            if not msg.startswith(path):
                err.args = (f"{path}: {msg}",)
            raise err.with_traceback(None) from None
        except IRError as err:  # an attribute value the IR op rejects, raised before `emit` could name the node
            raise ConversionError(f"{path}: {describe(node)}: {err}") from None
        except HwgenError:
            raise
        except Exception as err:
            raise ConversionError(f"{path}: {describe(node)}: cannot convert ({type(err).__name__}: {err})") from err
    outputs = []
    for vi in model.graph.output:
        if vi.name in ctx.constants:  # folded (Shape, Size, Constant, ...): an Identity copies the constant out
            const = ctx.constants.pop(vi.name)
            copied = ctx.add_const(ctx.fresh(vi.name), const.array, const.type.dtype)
            ctx.nodes.insert(0, Node(ctx._unique_node_name(f"{vi.name}_out"), IdentityAttrs(), (copied,), (vi.name,)))
        outputs.append(Value(vi.name, ctx.type(vi.name)))
    ctx.nodes = _live_nodes(ctx.nodes, {v.name for v in outputs})
    used = {i for n in ctx.nodes for i in n.inputs if i}
    constants = {k: v for k, v in ctx.constants.items() if k in used}
    live = used | {v.name for v in inputs} | {o for n in ctx.nodes for o in n.outputs if o}
    types = {k: t for k, t in ctx.types.items() if k in live}
    graph = Graph(model.graph.name or "model", tuple(ctx.nodes), tuple(inputs), tuple(outputs), constants, types)
    verify(graph)
    return graph


def _live_nodes(nodes: list[Node], outputs: set[str]) -> list[Node]:
    """The nodes some graph output depends on: Shape chains resolved symbolically leave dead nodes behind."""
    needed = set(outputs)
    live = []
    for node in reversed(nodes):
        if any(o and o in needed for o in node.outputs):
            live.append(node)
            needed.update(i for i in node.inputs if i)
    return live[::-1]


def load_graph(path: Union[str, os.PathLike], input_shapes: Optional[Mapping[str, Sequence[int]]] = None) -> Graph:
    """load_onnx + import_onnx: the one call most users and backends need."""
    return import_onnx(load_onnx(path), os.fspath(path), input_shapes)


__all__ = ["load_onnx", "import_onnx", "input_names", "load_graph", "QONNX_DOMAINS", "HWGEN_DOMAIN"]
