"""What hwgen does not support is refused with one HwgenError naming the node and what is unsupported, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from hwgen.errors import HwgenError, UnsupportedError
from hwgen.frontend import import_onnx
from hwgen.frontend.context import ConversionError, NotConstantError
from tests.frontend.onnx_helpers import make_model, single_node_model, tensor_info

F = np.zeros((2, 3), np.float32)


@pytest.mark.parametrize("op,feeds,inits,attrs,opset,match", [
    ("Pad", {"x": F}, {"p": np.zeros(4, np.int64)}, {"mode": "mirror"}, 13,
     r"Pad mode 'mirror' is not supported \(supported: constant, reflect, edge, wrap\)"),
    ("ScatterND", {"x": F, "i": np.zeros((1, 1), np.int64), "u": np.zeros((1, 3), np.float32)}, {}, {"reduction": "sub"}, 18,
     r"ScatterND reduction 'sub' is not supported \(supported: none, add, mul, max, min\)"),
    ("Einsum", {"a": F, "b": F}, {}, {"equation": "ij,jk->ik"}, 13, "Einsum 'ij,jk->ik': letter 'j' is both 3 and 2"),
    ("Einsum", {"a": F}, {}, {"equation": "i$->i"}, 13, "Einsum term 'i\\$' of 'i\\$->i' is malformed"),
    ("ReduceMin", {"x": np.zeros((2, 0), bool)}, {"ax": np.asarray([1], np.int64)}, {}, 18,
     "ReduceMin of bool over an empty set is not supported"),
    ("Pow", {"a": np.zeros(3, np.int64), "b": np.zeros(3, np.float32)}, {}, {}, 15,
     "Pow of a i64 base with a f32 exponent is not supported"),
    ("Dropout", {"x": F}, {"r": np.float32(0.5), "t": np.asarray(True)}, {}, 13,
     r"Dropout in training mode \(ratio 0.5 > 0\) is not supported"),
    ("GRU", {"x": np.zeros((2, 1, 3), np.float32)}, {"w": np.zeros((1, 6, 3), np.float32), "r": np.zeros((1, 6, 2), np.float32)},
     {"hidden_size": 2, "activations": ["HardSigmoid", "Tanh"]}, 14, r"activations \['HardSigmoid', 'Tanh'\] are not supported"),
], ids=["pad-mode", "scatternd-reduction", "einsum-sizes", "einsum-malformed", "reducemin-bool-empty", "pow-int-base",
        "dropout-training", "gru-activations"])
def test_unsupported_attribute_names_the_node(op: str, feeds: dict, inits: dict, attrs: dict, opset: int, match: str) -> None:
    model = single_node_model(op, feeds, ("y",) if op != "GRU" else ("y", "y_h"), inits, opset, **attrs)
    with pytest.raises(ConversionError, match=f"m.onnx: node '{op.lower()}0' \\({op}\\): {match}"):
        import_onnx(model, "m.onnx")


@pytest.mark.parametrize("op,feeds,attrs,what", [
    ("Trilu", {"x": F, "k": np.asarray(1, np.int64)}, {}, "k"),
    ("Tile", {"x": F, "r": np.asarray([1, 2], np.int64)}, {}, "repeats"),
    ("Pad", {"x": F, "p": np.zeros(4, np.int64)}, {}, "pads"),
    ("ReduceSum", {"x": F, "ax": np.asarray([1], np.int64)}, {}, "axes"),
])
def test_run_time_shape_arguments_are_refused_naming_the_input(op: str, feeds: dict, attrs: dict, what: str) -> None:
    model = single_node_model(op, feeds, ("y",), {}, 18, **attrs)
    with pytest.raises(NotConstantError, match=f"{what} \\(input 1, '{list(feeds)[1]}'\\) must be a constant") as err:
        import_onnx(model, "m.onnx")
    assert err.value.value == list(feeds)[1]


def test_size_of_a_symbolic_shape_is_refused() -> None:
    node = helper.make_node("Size", ["x"], ["n"], name="size0")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                              [helper.make_empty_tensor_value_info("n")])
    with pytest.raises(ConversionError, match=r"node 'size0' \(Size\): Size of f32\[batch, 3\] has symbolic dimensions"):
        import_onnx(make_model(graph, 17), "m.onnx")


def test_every_unsupported_op_is_named_in_one_error() -> None:
    """Ops outside the list still get one error naming every unsupported node (beside the new ops, which import)."""
    nodes = [
        helper.make_node("Einsum", ["x", "x"], ["e"], name="einsum", equation="ij,kj->ik"),
        helper.make_node("TopK", ["e", "k"], ["v", "i"], name="topk"),
        helper.make_node("GRU", ["x3", "w", "r"], ["gy"], name="gru", hidden_size=2),
        helper.make_node("NonZero", ["e"], ["nz"], name="nz1"),
        helper.make_node("NonZero", ["v"], ["nz2"], name="nz2"),
        helper.make_node("Cos", ["x"], ["c"], name="cos"),
    ]
    graph = helper.make_graph(nodes, "g", [tensor_info("x", F), tensor_info("x3", np.zeros((1, 1, 3), np.float32))],
                              [helper.make_empty_tensor_value_info(o) for o in ("nz", "nz2", "c", "gy")],
                              [helper.make_tensor("k", TensorProto.INT64, [1], [1]),
                               helper.make_tensor("w", TensorProto.FLOAT, [1, 6, 3], [0.0] * 18),
                               helper.make_tensor("r", TensorProto.FLOAT, [1, 6, 2], [0.0] * 12)])
    with pytest.raises(UnsupportedError) as err:
        import_onnx(make_model(graph, 17), "m.onnx")
    msg = str(err.value)
    assert "TopK (nodes: topk); NonZero (nodes: nz1, nz2); Cos (nodes: cos)" in msg
    assert "Einsum" not in msg.split("Supported:")[0] and "GRU" not in msg.split("Supported:")[0]
    assert "GRU(>=7)" in msg and "Trilu(>=14)" in msg


def test_new_ops_are_reported_unsupported_by_tvm_not_crashing() -> None:
    """The TVM lowering lists the ops it lacks (Einsum, Trilu) instead of failing inside; ReduceSum, Max and
    Greater (the encoders' attention-mask ops) lower."""
    from hwgen.tvm_backend.lower import TVMUnsupportedError, lower_graph, unsupported

    nodes = [
        helper.make_node("ReduceSum", ["x", "ax"], ["s"], name="sum"),
        helper.make_node("Max", ["x", "s"], ["m"], name="max"),
        helper.make_node("Greater", ["m", "x"], ["g"], name="gt"),
        helper.make_node("Einsum", ["m", "x"], ["e"], name="einsum", equation="ij,kj->ik"),
        helper.make_node("Trilu", ["e"], ["y"], name="trilu"),
    ]
    graph = helper.make_graph(nodes, "g", [tensor_info("x", F)], [helper.make_empty_tensor_value_info(o) for o in ("y", "g")],
                              [helper.make_tensor("ax", TensorProto.INT64, [1], [1])])
    ir = import_onnx(make_model(graph, 17), "m.onnx")
    reasons = unsupported(ir)
    for name, op in (("einsum", "Einsum"), ("trilu", "Trilu")):
        assert f"node {name!r}: op {op} has no TVM lowering" in reasons
    assert not [r for r in reasons if any(op in r for op in ("ReduceSum", "Max", "Greater"))]
    with pytest.raises(TVMUnsupportedError):
        lower_graph(ir)
    assert issubclass(TVMUnsupportedError, HwgenError)
