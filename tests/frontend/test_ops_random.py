"""Issue 14's ops against onnxruntime over random shapes, dtypes and attributes (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.frontend.onnx_helpers import assert_matches_ort, single_node_model

R = np.random.default_rng(14)
DTYPES = [np.float32, np.int32, np.int64, np.int8, np.uint8]


def _array(shape: list[int], dtype: type) -> np.ndarray:
    if dtype == np.float32:
        return R.standard_normal(shape).astype(np.float32)
    if dtype == np.bool_:
        return np.asarray(R.random(shape) > 0.5)
    return R.integers(0 if dtype == np.uint8 else -5, 6, shape).astype(dtype)


def _broadcastable(a: list[int], b: list[int]) -> list[int]:
    """`b` with each dim aligned to `a` that differs set to 1."""
    for k in range(1, min(len(a), len(b)) + 1):
        if a[-k] != b[-k]:
            b[-k] = 1
    return b


@settings(deadline=None, max_examples=25)
@given(a=st.lists(st.integers(1, 3), max_size=3), b=st.lists(st.integers(1, 3), max_size=3),
       op=st.sampled_from(["Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Equal", "Max", "Min", "And", "Or", "Xor"]),
       dtype=st.sampled_from(DTYPES))
def test_comparisons_logic_and_extrema_over_random_shapes(a: list[int], b: list[int], op: str, dtype: type) -> None:
    b = _broadcastable(a, b)
    if op in ("And", "Or", "Xor"):
        dtype = np.bool_
    elif op in ("Max", "Min") and dtype == np.int8:
        dtype = np.float32  # onnxruntime has no int8 Max/Min kernel
    xa, xb = _array(a, dtype), _array(b, dtype)
    if dtype == np.float32 and xa.size:  # ties between the inputs
        xb = np.where(R.random(b) > 0.7, xa.reshape(-1)[0], xb).astype(np.float32)
    feeds = {"a": xa, "b": xb}
    opset = 16 if op.endswith("OrEqual") else 13
    assert_matches_ort(single_node_model(op, feeds, ("y",), {}, opset), feeds)


@settings(deadline=None, max_examples=25)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data(),
       op=st.sampled_from(["ReduceSum", "ReduceMax", "ReduceMin", "ReduceMean"]), keepdims=st.booleans(),
       dtype=st.sampled_from([np.float32, np.int32, np.int64]), opset=st.sampled_from([13, 18]))
def test_reductions_over_random_axes(shape: list[int], data: st.DataObject, op: str, keepdims: bool, dtype: type, opset: int) -> None:
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), max_size=rank, unique_by=lambda a: a % rank))
    if op == "ReduceMean":
        dtype = np.float32
    x = _array(shape, dtype)
    attrs: dict = {"keepdims": int(keepdims)}
    inits = {}
    if op == "ReduceSum" and opset >= 13 or opset >= 18:  # axes as an input
        if axes:
            inits["axes"] = np.asarray(axes, np.int64)
    elif axes:
        attrs["axes"] = axes
    model = single_node_model(op, {"x": x}, ("y",), inits, opset, **attrs)
    assert_matches_ort(model, {"x": x}, rtol=1e-5, atol=1e-5)


@settings(deadline=None, max_examples=20)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_gather_elements_and_scatter_nd_over_random_indices(shape: list[int], data: st.DataObject) -> None:
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    x = _array(shape, np.float32)
    out_shape = [data.draw(st.integers(1, 3)) if i != axis % rank else data.draw(st.integers(1, 4)) for i in range(rank)]
    out_shape = [min(o, s) if i != axis % rank else o for i, (o, s) in enumerate(zip(out_shape, shape))]
    dim = shape[axis]
    idx = R.integers(-dim, dim, out_shape).astype(np.int64)
    feeds = {"x": x, "i": idx}
    assert_matches_ort(single_node_model("GatherElements", feeds, ("y",), {}, 13, axis=axis), feeds)
    depth = data.draw(st.integers(1, rank))
    count = data.draw(st.integers(1, 3))
    rows = np.stack([R.permutation(shape[k])[:1].repeat(count) if k else R.integers(0, shape[0], count) for k in range(depth)], -1)
    updates = _array([count] + shape[depth:], np.float32)
    reduction = data.draw(st.sampled_from(["add", "mul", "max", "min"]))
    feeds = {"x": x, "i": rows.astype(np.int64), "u": updates}
    assert_matches_ort(single_node_model("ScatterND", feeds, ("y",), {}, 18, reduction=reduction), feeds)
    feeds = {"x": x, "i": rows.astype(np.int64)}
    assert_matches_ort(single_node_model("GatherND", feeds, ("y",), {}, 13), feeds)
