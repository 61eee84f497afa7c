"""The interpreter's LSTM against onnxruntime's over random shapes and every supported attribute."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from tests.frontend.onnx_helpers import assert_matches_ort, hwgen_run, make_model, ort_run, tensor_info


@settings(deadline=None, max_examples=15)
@given(seq=st.integers(1, 6), batch=st.integers(1, 3), inp=st.integers(1, 5), hidden=st.integers(1, 9),
       direction=st.sampled_from(["forward", "reverse", "bidirectional"]), layout=st.sampled_from([0, 1]),
       bias=st.booleans(), states=st.booleans(), clip=st.sampled_from([None, 0.5, 3.0]), seed=st.integers(0, 2**16))
def test_lstm_matches_onnxruntime(seq, batch, inp, hidden, direction, layout, bias, states, clip, seed):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    x_shape = [seq, batch, inp] if layout == 0 else [batch, seq, inp]
    state_shape = [dirs, batch, hidden] if layout == 0 else [batch, dirs, hidden]
    feeds = {"X": rng.standard_normal(x_shape).astype(np.float32)}
    inits = {"W": rng.standard_normal((dirs, 4 * hidden, inp)).astype(np.float32),
             "R": rng.standard_normal((dirs, 4 * hidden, hidden)).astype(np.float32)}
    names = ["X", "W", "R", "B" if bias else "", "", "h0" if states else "", "c0" if states else ""]
    if bias:
        inits["B"] = rng.standard_normal((dirs, 8 * hidden)).astype(np.float32)
    if states:
        feeds["h0"] = rng.standard_normal(state_shape).astype(np.float32)
        feeds["c0"] = rng.standard_normal(state_shape).astype(np.float32)
    model = _lstm_model(names, feeds, inits, hidden, direction, layout, clip)
    if layout == 0:
        assert_matches_ort(model, feeds, rtol=1e-5, atol=2e-6)
        return
    # onnxruntime has no layout=1 LSTM: compare with its layout-0 run on transposed tensors
    seq_first = {k: np.ascontiguousarray(np.swapaxes(v, 0, 1)) for k, v in feeds.items()}
    y, y_h, y_c = ort_run(_lstm_model(names, seq_first, inits, hidden, direction, 0, clip), seq_first)
    _, got = hwgen_run(model, feeds)
    for ours, theirs in zip(got, (y.transpose(2, 0, 1, 3), y_h.transpose(1, 0, 2), y_c.transpose(1, 0, 2))):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-6)


def _lstm_model(names, feeds, inits, hidden, direction, layout, clip):  # type: ignore[no-untyped-def]
    attrs: dict = {"hidden_size": hidden, "direction": direction, "layout": layout}
    if clip is not None:
        attrs["clip"] = clip
    node = helper.make_node("LSTM", names, ["Y", "Y_h", "Y_c"], name="lstm", **attrs)
    graph = helper.make_graph([node], "lstm", [tensor_info(k, v) for k, v in feeds.items()],
                              [helper.make_empty_tensor_value_info(o) for o in ("Y", "Y_h", "Y_c")],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return make_model(graph, 14)
