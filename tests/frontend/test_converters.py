"""Every converter against onnxruntime: one single-node ONNX model per case, random inputs."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from tests.frontend.onnx_helpers import assert_matches_ort, hwgen_run, make_model, single_node_model, tensor_info

R = np.random.default_rng(1234)


def f32(*shape: int) -> np.ndarray:
    return R.standard_normal(shape).astype(np.float32)


def i64(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def pos(*shape: int) -> np.ndarray:
    return (np.abs(R.standard_normal(shape)) + 0.5).astype(np.float32)


Case = tuple[str, dict, dict, dict, int, tuple]  # op, feeds, inits, attrs, opset, outputs
CASES: dict[str, Callable[[], Case]] = {
    "Add": lambda: ("Add", {"a": f32(2, 3, 4), "b": f32(4)}, {}, {}, 17, ("y",)),
    "Sub": lambda: ("Sub", {"a": f32(2, 1, 4), "b": f32(3, 1)}, {}, {}, 17, ("y",)),
    "Mul": lambda: ("Mul", {"a": f32(5, 4)}, {"b": f32(5, 4)}, {}, 17, ("y",)),
    "Div": lambda: ("Div", {"a": f32(3, 4), "b": pos(3, 4)}, {}, {}, 17, ("y",)),
    "Pow": lambda: ("Pow", {"a": pos(3, 4)}, {"b": np.float32([2.0])}, {}, 17, ("y",)),
    "Mod": lambda: ("Mod", {"a": i64(-7, 5, 9, -3)}, {"b": i64(3, -2, 4, 5)}, {}, 17, ("y",)),
    "Mod_fmod": lambda: ("Mod", {"a": f32(6) * 5}, {"b": pos(6)}, {"fmod": 1}, 17, ("y",)),
    "Equal": lambda: ("Equal", {"a": i64(1, 2, 3, 4)}, {"b": i64(1, 0, 3, 0)}, {}, 17, ("y",)),
    "Neg": lambda: ("Neg", {"x": f32(3, 4)}, {}, {}, 17, ("y",)),
    "Sqrt": lambda: ("Sqrt", {"x": pos(3, 4)}, {}, {}, 17, ("y",)),
    "Sigmoid": lambda: ("Sigmoid", {"x": f32(4, 7) * 20}, {}, {}, 17, ("y",)),
    "Tanh": lambda: ("Tanh", {"x": f32(4, 7) * 3}, {}, {}, 17, ("y",)),
    "Relu": lambda: ("Relu", {"x": f32(4, 7)}, {}, {}, 17, ("y",)),
    "Erf": lambda: ("Erf", {"x": f32(4, 7)}, {}, {}, 17, ("y",)),
    "Gelu": lambda: ("Gelu", {"x": f32(4, 7) * 3}, {}, {}, 20, ("y",)),
    "Gelu_tanh": lambda: ("Gelu", {"x": f32(4, 7) * 3}, {}, {"approximate": "tanh"}, 20, ("y",)),
    "Identity": lambda: ("Identity", {"x": f32(2, 3)}, {}, {}, 17, ("y",)),
    "Dropout": lambda: ("Dropout", {"x": f32(2, 3)}, {}, {}, 17, ("y",)),
    "Cast_int": lambda: ("Cast", {"x": f32(3, 5) * 4}, {}, {"to": TensorProto.INT32}, 17, ("y",)),
    "Cast_bool": lambda: ("Cast", {"x": np.float32([0, 1.5, -2, 0])}, {}, {"to": TensorProto.BOOL}, 17, ("y",)),
    "Clip_v6": lambda: ("Clip", {"x": f32(3, 5)}, {}, {"min": -0.5, "max": 0.25}, 10, ("y",)),
    "Clip_v13": lambda: ("Clip", {"x": f32(3, 5)}, {"lo": np.float32(-0.5), "hi": np.float32(0.5)}, {}, 13, ("y",)),
    "Clip_int8": lambda: ("Clip", {"x": np.int8([-5, -1, 0, 3, 7])}, {"lo": np.int8(-2), "hi": np.int8(2)}, {}, 13, ("y",)),
    "MatMul": lambda: ("MatMul", {"a": f32(2, 3, 4)}, {"b": f32(4, 5)}, {}, 17, ("y",)),
    "MatMul_batched": lambda: ("MatMul", {"a": f32(2, 3, 4), "b": f32(2, 4, 6)}, {}, {}, 17, ("y",)),
    "Gemm": lambda: ("Gemm", {"a": f32(3, 4)}, {"b": f32(5, 4), "c": f32(5)},
                     {"transB": 1, "alpha": 0.5, "beta": 2.0}, 17, ("y",)),
    "Gemm_transA": lambda: ("Gemm", {"a": f32(4, 3)}, {"b": f32(4, 5)}, {"transA": 1}, 11, ("y",)),
    "Softmax": lambda: ("Softmax", {"x": f32(2, 3, 5)}, {}, {"axis": 1}, 17, ("y",)),
    "Softmax_v11": lambda: ("Softmax", {"x": f32(2, 3, 5)}, {}, {"axis": 1}, 11, ("y",)),
    "LogSoftmax": lambda: ("LogSoftmax", {"x": f32(2, 3, 5)}, {}, {}, 17, ("y",)),
    "LogSoftmax_v11": lambda: ("LogSoftmax", {"x": f32(2, 3, 5)}, {}, {"axis": 0}, 11, ("y",)),
    "LayerNormalization": lambda: ("LayerNormalization", {"x": f32(2, 3, 8)}, {"s": f32(8), "b": f32(8)},
                                   {"epsilon": 1e-5}, 17, ("y",)),
    "LayerNormalization_axis1": lambda: ("LayerNormalization", {"x": f32(2, 3, 4)}, {"s": f32(3, 4)},
                                         {"axis": 1}, 17, ("y",)),
    "ReduceMean_v13": lambda: ("ReduceMean", {"x": f32(2, 3, 4)}, {}, {"axes": [1], "keepdims": 0}, 13, ("y",)),
    "ReduceMean_all": lambda: ("ReduceMean", {"x": f32(2, 3, 4)}, {}, {}, 13, ("y",)),
    "ReduceMean_v18": lambda: ("ReduceMean", {"x": f32(2, 3, 4)}, {"axes": i64(-1, 0)}, {}, 18, ("y",)),
    "Flatten": lambda: ("Flatten", {"x": f32(2, 3, 4, 5)}, {}, {"axis": 2}, 17, ("y",)),
    "Flatten_neg": lambda: ("Flatten", {"x": f32(2, 3, 4)}, {}, {"axis": -1}, 17, ("y",)),
    "Slice_v1": lambda: ("Slice", {"x": f32(4, 6)}, {}, {"starts": [1, -4], "ends": [3, 1000], "axes": [0, 1]}, 9, ("y",)),
    "Slice_v13": lambda: ("Slice", {"x": f32(5, 6, 7)}, {"s": i64(4, 1), "e": i64(-100, 6), "a": i64(0, -1), "st": i64(-2, 2)},
                          {}, 13, ("y",)),
    "Slice_noaxes": lambda: ("Slice", {"x": f32(5, 6)}, {"s": i64(1), "e": i64(9223372036854775807)}, {}, 13, ("y",)),
    "Split_v11": lambda: ("Split", {"x": f32(6, 4)}, {}, {"axis": 0, "split": [1, 2, 3]}, 11, ("a", "b", "c")),
    "Split_v13": lambda: ("Split", {"x": f32(3, 6)}, {"sp": i64(4, 2)}, {"axis": 1}, 13, ("a", "b")),
    "Split_equal": lambda: ("Split", {"x": f32(3, 6)}, {}, {"axis": -1}, 13, ("a", "b", "c")),
    "Split_num_outputs": lambda: ("Split", {"x": f32(7, 2)}, {}, {"num_outputs": 3}, 18, ("a", "b", "c")),
    "Concat": lambda: ("Concat", {"a": f32(2, 3), "b": f32(2, 5)}, {"c": f32(2, 1)}, {"axis": -1}, 17, ("y",)),
    "Transpose": lambda: ("Transpose", {"x": f32(2, 3, 4)}, {}, {"perm": [2, 0, 1]}, 17, ("y",)),
    "Transpose_default": lambda: ("Transpose", {"x": f32(2, 3, 4)}, {}, {}, 17, ("y",)),
    "Reshape": lambda: ("Reshape", {"x": f32(2, 3, 4)}, {"s": i64(0, -1)}, {}, 17, ("y",)),
    "Squeeze_v11": lambda: ("Squeeze", {"x": f32(1, 3, 1, 2)}, {}, {"axes": [0, -2]}, 11, ("y",)),
    "Squeeze_v13": lambda: ("Squeeze", {"x": f32(1, 3, 1, 2)}, {"ax": i64(2)}, {}, 13, ("y",)),
    "Unsqueeze_v11": lambda: ("Unsqueeze", {"x": f32(3, 2)}, {}, {"axes": [0, 3]}, 11, ("y",)),
    "Unsqueeze_v13": lambda: ("Unsqueeze", {"x": f32(3, 2)}, {"ax": i64(-1, 1)}, {}, 13, ("y",)),
    "Gather": lambda: ("Gather", {"x": f32(5, 4)}, {"i": i64(4, -1, 0)}, {"axis": 0}, 17, ("y",)),
    "Gather_axis1": lambda: ("Gather", {"x": f32(3, 5, 2)}, {"i": np.asarray([[1, 2], [0, 4]], np.int64)}, {"axis": 1}, 17, ("y",)),
    "Expand": lambda: ("Expand", {"x": f32(3, 1)}, {"s": i64(2, 3, 4)}, {}, 17, ("y",)),
    "Where": lambda: ("Where", {"c": np.asarray([True, False, True]), "a": f32(2, 3), "b": f32(3)}, {}, {}, 17, ("y",)),
    "QuantizeLinear": lambda: ("QuantizeLinear", {"x": f32(4, 3) * 3}, {"s": np.float32(0.02), "z": np.int8(3)}, {}, 13, ("y",)),
    "QuantizeLinear_no_zero_point": lambda: ("QuantizeLinear", {"x": pos(4, 3) * 2}, {"s": np.float32(0.02)}, {}, 13, ("y",)),
    "QuantizeLinear_uint8_axis": lambda: ("QuantizeLinear", {"x": f32(4, 3)}, {"s": pos(3) / 50, "z": np.uint8([128, 100, 0])},
                                          {"axis": 1}, 13, ("y",)),
    "DequantizeLinear": lambda: ("DequantizeLinear", {"x": R.integers(-128, 127, (4, 3)).astype(np.int8)},
                                 {"s": pos(4), "z": np.int8([0, 1, -3, 5])}, {"axis": 0}, 13, ("y",)),
    # issue 14's ops
    "ReduceSum_v13": lambda: ("ReduceSum", {"x": f32(2, 3, 4)}, {"ax": i64(1)}, {"keepdims": 0}, 13, ("y",)),
    "ReduceSum_all_int": lambda: ("ReduceSum", {"x": R.integers(-9, 9, (2, 3)).astype(np.int64)}, {}, {}, 13, ("y",)),
    "ReduceSum_v11": lambda: ("ReduceSum", {"x": f32(2, 3, 4)}, {}, {"axes": [0, -1]}, 11, ("y",)),
    "ReduceSum_noop": lambda: ("ReduceSum", {"x": f32(2, 3)}, {"ax": np.zeros(0, np.int64)}, {"noop_with_empty_axes": 1}, 13, ("y",)),
    "ReduceMax_v13": lambda: ("ReduceMax", {"x": f32(2, 3, 4)}, {}, {"axes": [0, -1]}, 13, ("y",)),
    "ReduceMax_v18": lambda: ("ReduceMax", {"x": R.integers(-9, 9, (2, 3, 4)).astype(np.int32)}, {"ax": i64(1)},
                              {"keepdims": 0}, 18, ("y",)),
    "ReduceMin_v18": lambda: ("ReduceMin", {"x": f32(2, 3, 4)}, {"ax": i64(-1, 0)}, {}, 18, ("y",)),
    "ReduceMin_all": lambda: ("ReduceMin", {"x": f32(3, 4)}, {}, {"keepdims": 0}, 13, ("y",)),
    "Max": lambda: ("Max", {"a": f32(2, 3), "b": f32(3), "c": f32(1, 3)}, {}, {}, 13, ("y",)),
    "Min_int": lambda: ("Min", {"a": i64(3, -2, 7)}, {"b": i64(1, 5, 7)}, {}, 13, ("y",)),
    "Exp": lambda: ("Exp", {"x": f32(3, 4) * 3}, {}, {}, 13, ("y",)),
    "Log": lambda: ("Log", {"x": pos(3, 4)}, {}, {}, 13, ("y",)),
    "Reciprocal": lambda: ("Reciprocal", {"x": pos(3, 4)}, {}, {}, 13, ("y",)),
    "IsNaN": lambda: ("IsNaN", {"x": np.float32([1.0, np.nan, -np.inf, 0.0])}, {}, {}, 13, ("y",)),
    "IsInf_positive": lambda: ("IsInf", {"x": np.float32([1.0, np.nan, -np.inf, np.inf])}, {}, {"detect_negative": 0}, 13, ("y",)),
    "IsInf": lambda: ("IsInf", {"x": np.float32([1.0, np.nan, -np.inf, np.inf])}, {}, {}, 13, ("y",)),
    "And": lambda: ("And", {"a": R.random((2, 3)) > 0.5, "b": R.random(3) > 0.5}, {}, {}, 13, ("y",)),
    "Or": lambda: ("Or", {"a": R.random((2, 3)) > 0.5, "b": R.random((2, 1)) > 0.5}, {}, {}, 13, ("y",)),
    "Xor": lambda: ("Xor", {"a": R.random((2, 3)) > 0.5, "b": R.random((2, 3)) > 0.5}, {}, {}, 13, ("y",)),
    "Not": lambda: ("Not", {"x": R.random((2, 3)) > 0.5}, {}, {}, 13, ("y",)),
    "Greater": lambda: ("Greater", {"a": f32(2, 3), "b": f32(3)}, {}, {}, 13, ("y",)),
    "GreaterOrEqual": lambda: ("GreaterOrEqual", {"a": i64(1, 2, 3)}, {"b": i64(2, 2, 2)}, {}, 16, ("y",)),
    "Less": lambda: ("Less", {"a": i64(1, 2, 3), "b": i64(2, 2, 2)}, {}, {}, 13, ("y",)),
    "LessOrEqual": lambda: ("LessOrEqual", {"a": f32(2, 3), "b": f32(2, 1)}, {}, {}, 16, ("y",)),
    "GatherElements": lambda: ("GatherElements", {"x": f32(3, 4)}, {"i": np.asarray([[0, -1], [2, 1], [3, 0]], np.int64)},
                               {"axis": 1}, 13, ("y",)),
    "GatherND": lambda: ("GatherND", {"x": f32(2, 3, 4)}, {"i": np.asarray([[[1, 2]], [[0, -1]]], np.int64)},
                         {"batch_dims": 1}, 13, ("y",)),
    "GatherND_slices": lambda: ("GatherND", {"x": f32(3, 4)}, {"i": np.asarray([[2], [0]], np.int64)}, {}, 13, ("y",)),
    "ScatterND": lambda: ("ScatterND", {"x": f32(4, 3), "i": np.asarray([[3], [1]], np.int64), "u": f32(2, 3)}, {}, {}, 13, ("y",)),
    "ScatterND_add": lambda: ("ScatterND", {"x": f32(4, 3), "i": np.asarray([[3, 1], [0, 2], [3, 1]], np.int64), "u": f32(3)}, {},
                              {"reduction": "add"}, 16, ("y",)),
    "ScatterND_max": lambda: ("ScatterND", {"x": f32(2, 3), "i": np.asarray([[1], [1]], np.int64), "u": f32(2, 3)}, {},
                              {"reduction": "max"}, 18, ("y",)),
    "CastLike": lambda: ("CastLike", {"x": f32(3, 4) * 5, "like": i64(1)}, {}, {}, 15, ("y",)),
    "Size": lambda: ("Size", {"x": f32(3, 4)}, {}, {}, 13, ("y",)),
    "Tile": lambda: ("Tile", {"x": f32(2, 3)}, {"r": i64(2, 1)}, {}, 13, ("y",)),
    "Trilu_upper": lambda: ("Trilu", {"x": f32(2, 3, 4)}, {"k": i64(1).reshape(())}, {}, 14, ("y",)),
    "Trilu_lower": lambda: ("Trilu", {"x": f32(4, 3)}, {"k": i64(-1).reshape(())}, {"upper": 0}, 14, ("y",)),
    "Pad_constant": lambda: ("Pad", {"x": f32(2, 3)}, {"p": i64(0, 1, 2, 0), "v": np.float32(1.5)}, {}, 13, ("y",)),
    "Pad_reflect": lambda: ("Pad", {"x": f32(3, 4)}, {"p": i64(1, 2, 1, 1)}, {"mode": "reflect"}, 13, ("y",)),
    "Pad_edge_axes": lambda: ("Pad", {"x": f32(2, 3, 4)}, {"p": i64(2, 1), "v": np.float32(0), "a": i64(-1)},
                              {"mode": "edge"}, 18, ("y",)),
    "Pad_wrap": lambda: ("Pad", {"x": f32(3, 4)}, {"p": i64(0, 2, 1, 1)}, {"mode": "wrap"}, 19, ("y",)),
    "Pad_v2": lambda: ("Pad", {"x": f32(2, 3)}, {}, {"pads": [1, 0, 0, 2], "value": -1.0}, 10, ("y",)),
    "Pad_crop": lambda: ("Pad", {"x": f32(4, 5)}, {"p": i64(-1, 1, 0, -2)}, {}, 13, ("y",)),
    "Einsum_attention": lambda: ("Einsum", {"q": f32(2, 3, 4, 5), "k": f32(2, 3, 6, 5)}, {}, {"equation": "bhqd,bhkd->bhqk"}, 13, ("y",)),
    "Einsum_ellipsis": lambda: ("Einsum", {"a": f32(2, 3, 4), "b": f32(4, 5)}, {}, {"equation": "...ij,jk->...ik"}, 13, ("y",)),
    "Einsum_implicit": lambda: ("Einsum", {"a": f32(3, 4), "b": f32(4, 2)}, {}, {"equation": "ij,jk"}, 13, ("y",)),
    "Einsum_transpose_sum": lambda: ("Einsum", {"a": f32(3, 4, 5)}, {}, {"equation": "abc -> ca"}, 13, ("y",)),
    "LayerNormalization_stats": lambda: ("LayerNormalization", {"x": f32(2, 3, 4)}, {"s": f32(3, 4), "b": f32(3, 4)},
                                         {"axis": 1}, 17, ("y", "mean", "inv_std")),
    "Dropout_mask": lambda: ("Dropout", {"x": f32(2, 3)}, {}, {}, 13, ("y", "mask")),
    "Pow_int_exponent": lambda: ("Pow", {"a": f32(2, 3)}, {"b": i64(2, 3, 1)}, {}, 15, ("y",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_converter_matches_onnxruntime(case: str) -> None:
    op, feeds, inits, attrs, opset, outputs = CASES[case]()
    model = single_node_model(op, feeds, outputs, inits, opset, **attrs)
    graph = assert_matches_ort(model, feeds)
    assert graph.nodes, "a node with a graph input must not fold away"


def test_constant_and_shape_chain_fold_to_a_static_reshape() -> None:
    """Shape → Gather → Unsqueeze → Concat → Reshape (what the legacy exporter writes) folds to one Reshape."""
    x = f32(2, 3, 4)
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Constant", [], ["zero"], name="c0", value=helper.make_tensor("v", TensorProto.INT64, [], [0])),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], name="g", axis=0),
        helper.make_node("Unsqueeze", ["batch", "ax0"], ["batch1"], name="u"),
        helper.make_node("Constant", [], ["rest"], name="c1", value_ints=[-1]),
        helper.make_node("Concat", ["batch1", "rest"], ["target"], name="cat", axis=0),
        helper.make_node("Range", ["r0", "r1", "r2"], ["rng"], name="range"),
        helper.make_node("ConstantOfShape", ["target_shape"], ["ones"], name="cos",
                         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
        helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
        helper.make_node("Mul", ["flat", "ones"], ["scaled"], name="mul"),
        helper.make_node("Cast", ["rng"], ["rngf"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("Add", ["scaled", "rngf"], ["y"], name="add"),
    ]
    inits = [helper.make_tensor("ax0", TensorProto.INT64, [1], [0]),
             helper.make_tensor("r0", TensorProto.INT64, [], [0]), helper.make_tensor("r1", TensorProto.INT64, [], [12]),
             helper.make_tensor("r2", TensorProto.INT64, [], [1]), helper.make_tensor("target_shape", TensorProto.INT64, [2], [2, 12])]
    graph = helper.make_graph(nodes, "chain", [tensor_info("x", x)],
                              [helper.make_empty_tensor_value_info("y")], inits)
    ir = assert_matches_ort(make_model(graph, 17), {"x": x})
    assert [n.op for n in ir.nodes] == ["Reshape", "Mul", "Add"]
    assert ir.nodes[0].attrs.shape == (2, 12)


@settings(deadline=None, max_examples=12)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_slice_and_split_over_random_shapes(shape: list[int], data: st.DataObject) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    dim = shape[axis]
    start = data.draw(st.integers(-dim - 2, dim + 2))
    end = data.draw(st.integers(-dim - 2, dim + 2))
    step = data.draw(st.sampled_from([-2, -1, 1, 2, 3]))
    x = np.asarray(R.standard_normal(shape), np.float32)
    model = single_node_model("Slice", {"x": x}, ("y",), {"s": i64(start), "e": i64(end), "a": i64(axis), "st": i64(step)}, 13)
    assert_matches_ort(model, {"x": x})
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3).filter(lambda s: sum(s) == dim) | st.just([dim]))
    outs = tuple(f"o{i}" for i in range(len(sizes)))
    model = single_node_model("Split", {"x": x}, outs, {"sp": i64(*sizes)}, 13, axis=axis)
    assert_matches_ort(model, {"x": x})


@settings(deadline=None, max_examples=12)
@given(a=st.lists(st.integers(1, 3), min_size=0, max_size=3), b=st.lists(st.integers(1, 3), min_size=0, max_size=3),
       op=st.sampled_from(["Add", "Sub", "Mul", "Div", "Where"]))
def test_broadcasting_elementwise_over_random_shapes(a: list[int], b: list[int], op: str) -> None:
    # make the shapes broadcastable: where they are aligned and differ, set one side to 1
    aligned = min(len(a), len(b))
    for k in range(1, aligned + 1):
        if a[-k] != b[-k]:
            b[-k] = 1
    xa, xb = np.asarray(R.standard_normal(a), np.float32), np.asarray(np.abs(R.standard_normal(b)) + 0.5, np.float32)
    feeds = {"a": xa, "b": xb}
    if op == "Where":
        feeds = {"c": np.asarray(R.standard_normal(a) > 0), **feeds}
    assert_matches_ort(single_node_model(op, feeds, ("y",), {}, 17), feeds)


@pytest.mark.parametrize("rank,mask,attrs", [
    (4, None, {}),
    (4, "bool", {"scale": 0.3}),
    (4, "float", {"is_causal": 1}),
    (4, None, {"is_causal": 1, "softcap": 2.0}),
    (3, "bool", {"q_num_heads": 2, "kv_num_heads": 2}),
], ids=["plain", "bool-mask-scale", "float-mask-causal", "causal-softcap", "3d-heads"])
def test_attention_matches_onnxruntime(rank: int, mask: str | None, attrs: dict) -> None:
    batch, heads, q_len, kv_len, size = 2, 2, 3, 4, 5
    if rank == 4:
        q, k, v = f32(batch, heads, q_len, size), f32(batch, heads, kv_len, size), f32(batch, heads, kv_len, size)
    else:
        q, k, v = f32(batch, q_len, heads * size), f32(batch, kv_len, heads * size), f32(batch, kv_len, heads * size)
    feeds = {"q": q, "k": k, "v": v}
    if mask == "bool":
        m = R.random((q_len, kv_len)) > 0.3
        m[:, 0] = True  # no fully masked row
        feeds["mask"] = m
    elif mask == "float":
        feeds["mask"] = f32(batch, 1, q_len, kv_len)
    model = single_node_model("Attention", feeds, ("y",), {}, 23, **attrs)
    graph = assert_matches_ort(model, feeds)
    assert {"MatMul", "Softmax"} <= {n.op for n in graph.nodes}


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_attention_fully_masked_rows_are_zero_like_onnxruntime(kind: str) -> None:
    """ONNX/onnxruntime give 0 for a query whose keys are all masked (a plain softmax gives NaN)."""
    batch, heads, q_len, kv_len, size = 1, 2, 3, 4, 5
    feeds = {"q": f32(batch, heads, q_len, size), "k": f32(batch, heads, kv_len, size), "v": f32(batch, heads, kv_len, size)}
    allowed = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]], bool)
    feeds["mask"] = allowed if kind == "bool" else np.where(allowed, f32(q_len, kv_len), np.float32(-np.inf))
    model = single_node_model("Attention", feeds, ("y",), {}, 23)
    assert_matches_ort(model, feeds)
    (got,) = hwgen_run(model, feeds)[1]
    assert np.all(got[:, :, 1] == 0) and np.isfinite(got).all()
