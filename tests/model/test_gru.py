"""The integer GRU spec: float stack == the reference interpreter's GRU, integer outputs track the float
model within the quantisation error (and converge with more bits), codes stay exact, analytic cycles."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.ir import ops
from hwgen.model.gru import GRUFloatLayer, GRUStack, gru_cycles_per_step, gru_weight_bytes, pass_cycles
from hwgen.model.lstm_stack import FloatHead
from hwgen.passes.lower_fixed_point import LoweringOptions
from hwgen.passes.lower_gru import lower_gru
from hwgen.reference.kernels import KERNELS

H, X, T, N = 8, 5, 6, 64


def random_stack(lbr: bool, kind: str = "ternary", layers: int = 1, seed: int = 0) -> GRUStack:
    rng = np.random.default_rng(seed)
    low = -1 if kind == "ternary" else 0

    def codes(shape):
        c = rng.integers(low, 2, shape).astype(np.int8)
        return c if kind == "ternary" else (2 * c - 1).astype(np.int8)

    out = []
    for k in range(layers):
        x = X if k == 0 else H
        out.append(GRUFloatLayer(codes((3 * H, x)), rng.uniform(0.2, 0.6, 3 * H), codes((3 * H, H)),
                                 rng.uniform(0.1, 0.4, 3 * H), rng.normal(0, 0.5, 3 * H), rng.normal(0, 0.5, 3 * H),
                                 kind, lbr))
    head = FloatHead(rng.normal(0, 1, (4, H)), rng.normal(0, 0.1, 4))
    return GRUStack(tuple(out), head)


@pytest.mark.parametrize("lbr", [True, False])
def test_float_stack_is_the_interpreters_gru(lbr):
    stack = random_stack(lbr, layers=1)
    layer = stack.layers[0]
    x = np.random.default_rng(1).uniform(-1, 1, (N, T, X))
    w = (layer.w_codes * layer.w_scale[:, None])[None].astype(np.float32)
    r = (layer.r_codes * layer.r_scale[:, None])[None].astype(np.float32)
    b = np.concatenate([layer.wb, layer.rb])[None].astype(np.float32)
    attrs = ops.GRUAttrs(hidden=H, direction="forward", linear_before_reset=int(lbr))
    y = KERNELS[ops.GRUAttrs](attrs, [x.transpose(1, 0, 2).astype(np.float32), w, r, b])[0][:, 0]
    np.testing.assert_allclose(layer.run(x), y.transpose(1, 0, 2), atol=2e-5)


@pytest.mark.parametrize("lbr", [True, False])
@pytest.mark.parametrize("kind", ["binary", "ternary"])
def test_integer_gru_tracks_the_float_model_and_keeps_codes_exact(lbr, kind):
    stack = random_stack(lbr, kind, layers=2)
    x = np.random.default_rng(2).uniform(-1, 1, (N, T, X))
    model = lower_gru(stack, calibration=x)
    assert model.weights_kind == kind and model.linear_before_reset == lbr
    for fl, il in zip(stack.layers, model.layers):
        np.testing.assert_array_equal(il.w_codes, fl.w_codes)
        np.testing.assert_array_equal(il.r_codes, fl.r_codes)
    want = stack.run_float(x)
    got = model.run_real(x)
    # the documented error at 8-bit activations / 12-bit gates: a few hidden-format steps per layer, through the head
    assert np.abs(got - want).max() <= 0.15 * np.abs(want).max()
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.9
    bare = GRUStack(stack.layers, None)  # the int8 head has its own error floor: compare the hidden states
    h = bare.run_float(x)
    coarse = np.abs(lower_gru(bare, calibration=x).run_real(x) - h).max()
    assert coarse <= 4 * 2.0 ** -7  # documented: at most 4 hidden-format steps (measured 2.0-2.8) after 2 layers x 6 steps
    fine = lower_gru(bare, calibration=x, act_bits=14, gate_bits=18, gate_frac=13, table_index_bits=16,
                     sigmoid_bits=16, tanh_bits=16, cell_frac=13, multiplier_bits=24)
    assert np.abs(fine.run_real(x) - h).max() < coarse / 8  # converges with more bits


def test_run_is_integer_and_refuses_floats_and_out_of_range_codes():
    model = lower_gru(random_stack(True))
    x = model.quantize_input(np.zeros((2, T, X)))
    out = model.run(x)
    assert out.dtype == np.int64 and out.shape == (2, 4)
    with pytest.raises(Exception, match="integer codes"):
        model.run(x.astype(np.float64))
    with pytest.raises(Exception, match="outside"):
        model.run(x + 1000)


def test_float_weights_need_int8():
    stack = random_stack(True)
    layer = stack.layers[0]
    floaty = GRUStack((GRUFloatLayer(layer.w_codes, layer.w_scale, layer.r_codes, layer.r_scale, layer.wb, layer.rb,
                                     "float", True),), stack.head)
    with pytest.raises(Exception, match="binary/ternary"):
        lower_gru(floaty)
    assert lower_gru(floaty, weights="int8").weights_kind == "int8"


def test_cycles_are_three_quarters_of_the_lstm_passes():
    inputs = (8, 32)
    lstm, gru = pass_cycles(4, 32, inputs, 8), pass_cycles(3, 32, inputs, 8)
    assert 4 * gru == 3 * lstm == 3 * 4 * 32 * ((1 + 4) + (4 + 4))
    assert gru_cycles_per_step(32, inputs, 8, overhead=30) == gru + 30
    assert gru_cycles_per_step(32, inputs, 8, overhead=30, linear_before_reset=False, reset_drain=20) == gru + 30 + 40
    assert gru_weight_bytes(32, (8,), "ternary") == 3 * 32 * 40 * 2 // 8
    assert LoweringOptions().act_bits == 8  # the defaults the error bound above is documented for


@pytest.mark.parametrize("lbr", [0, 1])
def test_an_onnx_gru_of_either_reset_placement_imports_and_lowers(tmp_path, lbr):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from hwgen.frontend import load_graph
    from hwgen.passes.lower_gru import match_gru_stack

    stack = random_stack(bool(lbr))
    layer = stack.layers[0]
    inits = [numpy_helper.from_array(layer.w_codes[None], "W_codes"), numpy_helper.from_array(layer.w_scale.astype(np.float32), "W_scale"),
             numpy_helper.from_array(layer.r_codes[None], "R_codes"), numpy_helper.from_array(layer.r_scale.astype(np.float32), "R_scale"),
             numpy_helper.from_array(np.concatenate([layer.wb, layer.rb])[None].astype(np.float32), "B")]
    nodes = [helper.make_node("DequantizeLinear", ["W_codes", "W_scale"], ["W"], axis=1),
             helper.make_node("DequantizeLinear", ["R_codes", "R_scale"], ["R"], axis=1),
             helper.make_node("GRU", ["x", "W", "R", "B"], ["Y", "Y_h"], hidden_size=H, linear_before_reset=lbr)]
    graph = helper.make_graph(nodes, "gru", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, 3, X])],
                              [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, 3, H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.save(model, tmp_path / "gru.onnx")
    x = np.random.default_rng(3).uniform(-1, 1, (T, 3, X)).astype(np.float32)
    want = ort.InferenceSession(str(tmp_path / "gru.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0][0]
    matched = match_gru_stack(load_graph(tmp_path / "gru.onnx"))
    assert matched.head is None and matched.layers[0].linear_before_reset == bool(lbr)
    assert matched.layers[0].kind == "ternary"
    xb = x.transpose(1, 0, 2)
    np.testing.assert_allclose(matched.run_float(xb), want, atol=1e-5)
    integer = lower_gru(matched, calibration=xb)
    np.testing.assert_array_equal(integer.layers[0].r_codes, layer.r_codes)
    assert np.abs(integer.run_real(xb) - want).max() <= 4 * 2.0 ** -7
