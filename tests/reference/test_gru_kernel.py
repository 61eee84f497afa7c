"""The interpreter's GRU against onnxruntime's over random shapes, directions, linear_before_reset, layouts and states."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from hwgen.frontend import import_onnx
from hwgen.frontend.context import ConversionError
from hwgen.ir.ops import GRUAttrs
from tests.frontend.onnx_helpers import assert_matches_ort, hwgen_run, make_model, ort_run, tensor_info


@settings(deadline=None, max_examples=20)
@given(seq=st.integers(1, 6), batch=st.integers(1, 3), inp=st.integers(1, 5), hidden=st.integers(1, 9),
       direction=st.sampled_from(["forward", "reverse", "bidirectional"]), lbr=st.sampled_from([0, 1]),
       layout=st.sampled_from([0, 1]), bias=st.booleans(), state=st.booleans(), clip=st.sampled_from([None, 0.5, 3.0]),
       seed=st.integers(0, 2**16))
def test_gru_matches_onnxruntime(seq, batch, inp, hidden, direction, lbr, layout, bias, state, clip, seed):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    x_shape = [seq, batch, inp] if layout == 0 else [batch, seq, inp]
    state_shape = [dirs, batch, hidden] if layout == 0 else [batch, dirs, hidden]
    feeds = {"X": rng.standard_normal(x_shape).astype(np.float32)}
    inits = {"W": rng.standard_normal((dirs, 3 * hidden, inp)).astype(np.float32),
             "R": rng.standard_normal((dirs, 3 * hidden, hidden)).astype(np.float32)}
    names = ["X", "W", "R", "B" if bias else "", "", "h0" if state else ""]
    if bias:
        inits["B"] = rng.standard_normal((dirs, 6 * hidden)).astype(np.float32)
    if state:
        feeds["h0"] = rng.standard_normal(state_shape).astype(np.float32)
    attrs = {"hidden_size": hidden, "direction": direction, "linear_before_reset": lbr}
    if clip is not None:
        attrs["clip"] = clip
    if layout == 0:
        graph = assert_matches_ort(_gru_model(names, feeds, inits, attrs), feeds, rtol=1e-5, atol=2e-6)
        (gru,) = graph.nodes_of(GRUAttrs)
        assert gru.attrs.linear_before_reset == bool(lbr) and gru.attrs.direction == direction
        return
    # onnxruntime has no layout=1 GRU: compare with its layout-0 run on transposed tensors
    seq_first = {k: np.ascontiguousarray(np.swapaxes(v, 0, 1)) for k, v in feeds.items()}
    y, y_h = ort_run(_gru_model(names, seq_first, inits, attrs), seq_first)
    _, got = hwgen_run(_gru_model(names, feeds, inits, {**attrs, "layout": 1}), feeds)
    for ours, theirs in zip(got, (y.transpose(2, 0, 1, 3), y_h.transpose(1, 0, 2))):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-6)


def _gru_model(names, feeds, inits, attrs, outputs=("Y", "Y_h")):  # type: ignore[no-untyped-def]
    node = helper.make_node("GRU", names, list(outputs), name="gru", **attrs)
    graph = helper.make_graph([node], "gru", [tensor_info(k, v) for k, v in feeds.items()],
                              [helper.make_empty_tensor_value_info(o) for o in outputs if o],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return make_model(graph, 14)


def test_gru_y_h_only_matches_onnxruntime() -> None:
    rng = np.random.default_rng(3)
    feeds = {"X": rng.standard_normal((4, 2, 3)).astype(np.float32)}
    inits = {"W": rng.standard_normal((1, 15, 3)).astype(np.float32), "R": rng.standard_normal((1, 15, 5)).astype(np.float32)}
    assert_matches_ort(_gru_model(["X", "W", "R"], feeds, inits, {"hidden_size": 5}, outputs=("", "Y_h")), feeds)


@pytest.mark.parametrize("attrs,inputs,match", [
    ({"activations": ["Relu", "Tanh"]}, ["X", "W", "R"], r"activations \['Relu', 'Tanh'\] are not supported"),
    ({"activation_alpha": [0.5]}, ["X", "W", "R"], "activation_alpha/activation_beta are not supported"),
    ({}, ["X", "W", "R", "", "lens"], "sequence_lens must be a constant equal to the sequence length"),
    ({"layout": 2}, ["X", "W", "R"], r"layout 2 is not supported \(0: sequence first, 1: batch first\)"),
], ids=["activations", "activation_alpha", "sequence_lens", "layout"])
def test_gru_refuses_what_it_does_not_support_by_name(attrs: dict, inputs: list[str], match: str) -> None:
    rng = np.random.default_rng(0)
    feeds = {"X": rng.standard_normal((4, 2, 3)).astype(np.float32)}
    inits = {"W": rng.standard_normal((1, 6, 3)).astype(np.float32), "R": rng.standard_normal((1, 6, 2)).astype(np.float32),
             "lens": np.asarray([4, 2], np.int32)}
    model = _gru_model(inputs, feeds, {k: v for k, v in inits.items() if k in inputs}, {"hidden_size": 2, **attrs})
    with pytest.raises(ConversionError, match=f"node 'gru' \\(GRU\\): {match}"):
        import_onnx(model, "gru.onnx")
