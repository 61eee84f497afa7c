"""Build small ONNX models with onnx.helper and compare hwgen's interpreter with onnxruntime."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from hwgen.frontend import import_onnx
from hwgen.ir import Graph
from hwgen.reference import run

#: onnxruntime 1.31 reads ONNX IR <= 13 (onnx 1.23 writes 14 by default).
ORT_IR_VERSION = 10

_NP_TO_ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
               np.dtype(np.int32): TensorProto.INT32, np.dtype(np.int8): TensorProto.INT8,
               np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.bool_): TensorProto.BOOL}


def tensor_info(name: str, array_or_shape: object, elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    if isinstance(array_or_shape, np.ndarray):
        return helper.make_tensor_value_info(name, _NP_TO_ONNX[array_or_shape.dtype], list(array_or_shape.shape))
    return helper.make_tensor_value_info(name, elem, array_or_shape)  # type: ignore[arg-type]


def single_node_model(op: str, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] = ("y",),
                      inits: Optional[Mapping[str, np.ndarray]] = None, opset: int = 17,
                      inputs: Optional[Sequence[str]] = None, domain: str = "", **attrs: object) -> onnx.ModelProto:
    """One `op` node reading `inputs` (default: feeds then inits, in order) and writing `outputs`."""
    inits = dict(inits or {})
    names = list(inputs) if inputs is not None else [*feeds, *inits]
    node = helper.make_node(op, names, list(outputs), name=f"{op.lower()}0", domain=domain, **attrs)
    graph = helper.make_graph(
        [node], f"{op.lower()}_graph",
        [tensor_info(k, v) for k, v in feeds.items()],
        [helper.make_empty_tensor_value_info(o) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return make_model(graph, opset)


def make_model(graph: onnx.GraphProto, opset: int = 17, extra_opsets: Mapping[str, int] | None = None) -> onnx.ModelProto:
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in (extra_opsets or {}).items()]
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = ORT_IR_VERSION
    return model


def ort_run(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    model.ir_version = min(model.ir_version, ORT_IR_VERSION)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, dict(feeds))


def hwgen_run(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> tuple[Graph, list[np.ndarray]]:
    graph = import_onnx(model, "test.onnx")
    out = run(graph, feeds)
    return graph, [out[o.name] for o in model.graph.output]


def assert_matches_ort(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray],
                       rtol: float = 1e-5, atol: float = 1e-6) -> Graph:
    """Import + interpret `model` and check every output against onnxruntime (values, shapes, dtype kind)."""
    expected = ort_run(model, feeds)
    graph, got = hwgen_run(model, feeds)
    assert len(got) == len(expected)
    for g, e, vi in zip(got, expected, model.graph.output):
        assert g.shape == e.shape, f"{vi.name}: shape {g.shape} vs onnxruntime {e.shape}"
        if e.dtype == np.bool_:
            np.testing.assert_array_equal(g.astype(bool), e, err_msg=vi.name)
        else:
            assert np.issubdtype(g.dtype, np.floating) == np.issubdtype(e.dtype, np.floating), vi.name
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=vi.name)
    return graph
