"""Lowering details: the hwgen cell-affine LSTM extension, clip, folding, target check, vector math."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm.script import tirx as T

from hwgen.ir import ops
from hwgen.ir.graph import Constant, Graph, Node, Value
from hwgen.ir.types import Float32, TensorType, Ternary
from hwgen.reference import run as interpret
from hwgen.reference.kernels import sigmoid
from hwgen.targets import target_report
from hwgen.tvm_backend import mathfns
from hwgen.tvm_backend.library import compile_lowered, manifest_for
from hwgen.tvm_backend.llvm import llvm_target
from hwgen.tvm_backend.library import with_input_shapes
from hwgen.tvm_backend.errors import TVMBackendError, TVMUnsupportedError
from hwgen.tvm_backend.lower import lower_graph
from hwgen.tvm_backend.runner import from_executable


def _bn_lstm_graph(seq="seq", clip=None) -> Graph:
    """A ternary LSTM with the batch-normalised cell (cell_scale/cell_shift) and an initial state, in IR."""
    rng = np.random.default_rng(0)
    steps, batch, size, hid = 6, 2, 5, 9
    consts = {
        "w_codes": Constant.of("w_codes", rng.integers(-1, 2, (1, 4 * hid, size)).astype(np.int8), Ternary()),
        "w_scale": Constant.of("w_scale", rng.uniform(0.1, 0.5, 4 * hid).astype(np.float32)),
        "r_codes": Constant.of("r_codes", rng.integers(-1, 2, (1, 4 * hid, hid)).astype(np.int8), Ternary()),
        "r_scale": Constant.of("r_scale", rng.uniform(0.1, 0.5, 4 * hid).astype(np.float32)),
        "b": Constant.of("b", rng.normal(0, 0.2, (1, 8 * hid)).astype(np.float32)),
        "cs": Constant.of("cs", rng.uniform(0.5, 2.0, (1, hid)).astype(np.float32)),
        "cb": Constant.of("cb", rng.normal(0, 0.3, (1, hid)).astype(np.float32)),
    }
    nodes = (
        Node("dq_w", ops.DequantizeAttrs(axis=1), ("w_codes", "w_scale"), ("w",)),
        Node("dq_r", ops.DequantizeAttrs(axis=1), ("r_codes", "r_scale"), ("r",)),
        Node("lstm", ops.LSTMAttrs(hidden=hid, clip=clip), ("x", "w", "r", "b", "h0", "", "cs", "cb"), ("y", "y_h", "y_c")),
    )
    inputs = (Value("x", TensorType((steps if seq == "seq" else seq, batch, size), Float32())),
              Value("h0", TensorType((1, batch, hid), Float32())))
    outputs = (Value("y", TensorType((steps, 1, batch, hid), Float32())), Value("y_c", TensorType((1, batch, hid), Float32())))
    return Graph("bn_lstm", nodes, inputs, outputs, consts).with_types()


@pytest.mark.parametrize("clip", [None, 0.7])
def test_cell_affine_and_clip_match_reference(clip):
    graph = _bn_lstm_graph(clip=clip)
    lowered = lower_graph(graph)
    assert [k.recurrent_weights for k in lowered.kernels] == ["ternary"]
    model = from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
    rng = np.random.default_rng(1)
    feeds = {"x": rng.standard_normal((6, 2, 5)).astype(np.float32) * 2, "h0": rng.standard_normal((1, 2, 9)).astype(np.float32)}
    got, expected = model(feeds), interpret(graph, feeds)
    for name in ("y", "y_c"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_float_weights_mode_keeps_float_kernels():
    lowered = lower_graph(_bn_lstm_graph(), weights="float")
    assert lowered.variant == "float" and lowered.kernels[0].recurrent_weights == "float"


def test_symbolic_shapes_lower_as_they_are_and_can_be_specialised():
    graph = _bn_lstm_graph(seq="T")
    assert target_report(graph)["tvm"] == []
    lowered = lower_graph(graph)
    assert lowered.symbolic_dims == ("T",) and lowered.kernels[0].steps == "T"
    model = from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
    rng = np.random.default_rng(2)
    for steps in (6, 3):
        feeds = {"x": rng.standard_normal((steps, 2, 5)).astype(np.float32), "h0": rng.standard_normal((1, 2, 9)).astype(np.float32)}
        expected = interpret(with_input_shapes(graph, {"x": (steps, 2, 5)}), feeds)
        np.testing.assert_allclose(model(feeds)["y_c"], expected["y_c"], rtol=1e-5, atol=1e-6)
    fixed = with_input_shapes(graph, {"x": (6, 2, 5)})
    assert fixed.inputs[0].type.shape == (6, 2, 5) and lower_graph(fixed).symbolic_dims == ()
    with pytest.raises(TVMBackendError, match="does not fit input 'x'"):
        with_input_shapes(graph, {"x": (6, 3, 5)})
    with pytest.raises(TVMBackendError, match="'nope' is not an input of graph 'bn_lstm' .inputs: x f32.T, 2, 5., h0"):
        with_input_shapes(graph, {"nope": (1,)})


def test_symbolic_lstm_input_size_is_reported():
    graph = _bn_lstm_graph()
    graph = graph.replace(inputs=(Value("x", TensorType((6, 2, "X"), Float32())), graph.inputs[1]), types={}).with_types()
    assert target_report(graph)["tvm"] == ["node 'lstm' (LSTM): input size 'X' is symbolic"]
    with pytest.raises(TVMUnsupportedError, match="input size 'X' is symbolic"):
        lower_graph(graph)


def test_last_step_of_a_symbolic_sequence():
    """Gather(axis=1, indices=-1) on [batch, seq, 4] (x[:, -1]) with both dims symbolic: a slice from the end."""
    x = Value("x", TensorType(("batch", "seq", 4), Float32()))
    nodes = (Node("last", ops.GatherAttrs(axis=1), ("x", "i"), ("y",)), Node("act", ops.TanhAttrs(), ("y",), ("z",)))
    graph = Graph("last", nodes, (x,), (Value("z", TensorType(("batch", 4), Float32())),),
                  {"i": Constant.of("i", np.array(-1, np.int64))}).with_types()
    lowered = lower_graph(graph)
    model = from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
    for shape in ((1, 3, 4), (2, 7, 4)):
        feeds = {"x": np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
        np.testing.assert_allclose(model(feeds)["z"], np.tanh(feeds["x"][:, -1]), rtol=1e-6, atol=1e-7)


def test_vector_math_matches_numpy():
    n = 4096

    @T.prim_func(s_tir=True)
    def fn(x: T.Buffer((n,), "float32"), e: T.Buffer((n,), "float32"), s: T.Buffer((n,), "float32"), th: T.Buffer((n,), "float32")):
        for i in range(n):
            with T.sblock("f"):
                vi = T.axis.remap("S", [i])
                e[vi] = mathfns.exp(x[vi])
                s[vi] = mathfns.sigmoid(x[vi])
                th[vi] = mathfns.tanh(x[vi])

    lib = tvm.compile(tvm.IRModule({"main": fn}), target=tvm.target.Target(llvm_target("host")))
    x = np.concatenate([np.linspace(-30, 30, n - 8), [0, 1e-30, -1e-7, 0.625, -0.625, 87, -87, 5e-4]]).astype(np.float32)
    outs = [tvm.runtime.tensor(np.zeros(n, np.float32)) for _ in range(3)]
    lib(tvm.runtime.tensor(x), *outs)
    e, s, th = (o.numpy() for o in outs)
    np.testing.assert_allclose(e, np.exp(x.astype(np.float64)), rtol=3e-7)
    np.testing.assert_allclose(s, sigmoid(x), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(th, np.tanh(x.astype(np.float64)), rtol=3e-7, atol=1e-37)
