"""Quantized ONNX: QCDQ and QONNX weights come back as exact integer codes (Ternary/Binary/IntN) + scales."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwgen.frontend import import_onnx
from hwgen.inspect import activation_quantizers
from hwgen.ir import Binary, Int, Ternary
from hwgen.ir.ops import BipolarQuantAttrs, DequantizeAttrs, FakeQuantAttrs
from hwgen.reference import run
from tests.frontend.onnx_helpers import assert_matches_ort, make_model, tensor_info

R = np.random.default_rng(7)
QONNX = "qonnx.custom_op.general"


def _dq_gemm_model(codes: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    inputs = ["w_q", "w_scale"] + (["w_zp"] if zero_point is not None else [])
    inits = [numpy_helper.from_array(codes, "w_q"), numpy_helper.from_array(scale, "w_scale")]
    if zero_point is not None:
        inits.append(numpy_helper.from_array(zero_point, "w_zp"))
    nodes = [helper.make_node("DequantizeLinear", inputs, ["w"], name="dq", axis=0),
             helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "dq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, codes.shape[1]])],
                              [helper.make_empty_tensor_value_info("y")], inits)
    return make_model(graph, 13)


def _weight_of(graph, node_type=DequantizeAttrs):  # type: ignore[no-untyped-def]
    (dq,) = [n for n in graph.nodes_of(node_type) if n.inputs[0] in graph.constants and graph.constants[n.inputs[0]].array.ndim == 2]
    return graph.constants[dq.inputs[0]], graph.constants[dq.inputs[1]], dq


@pytest.mark.parametrize("values,kind", [((-1, 0, 1), Ternary()), ((-1, 1), Binary()), ((-3, 0, 5, 127), Int(8))])
def test_dequantize_linear_int8_initializer_is_typed_by_its_values(values, kind):  # type: ignore[no-untyped-def]
    codes = R.choice(np.asarray(values, np.int8), size=(6, 5))
    scale = (R.random(6) * 0.1 + 0.01).astype(np.float32)
    model = _dq_gemm_model(codes, scale)
    x = R.standard_normal((2, 5)).astype(np.float32)
    graph = assert_matches_ort(model, {"x": x})
    weight, kept_scale, dq = _weight_of(graph)
    assert weight.type.dtype == kind
    np.testing.assert_array_equal(weight.array, codes)
    assert kept_scale.array.dtype == np.float32 and kept_scale.array.tobytes() == scale.tobytes()
    assert dq.attrs.axis == 0


def test_dequantize_with_zero_point_stays_integer():
    codes = R.choice(np.asarray([-1, 0, 1], np.int8), size=(4, 3))
    model = _dq_gemm_model(codes, np.full(4, 0.5, np.float32), np.asarray([0, 1, 0, -1], np.int8))
    graph = assert_matches_ort(model, {"x": R.standard_normal((2, 3)).astype(np.float32)})
    assert _weight_of(graph)[0].type.dtype == Int(8)


def _qonnx_quant(x, scale, zp, bits, signed, narrow):  # type: ignore[no-untyped-def]
    """QONNX Quant as its spec writes it: scale, add zero point, clamp, round half to even, undo."""
    lo = -(2 ** (bits - 1)) + narrow if signed else 0
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1 - narrow
    return ((np.round(np.clip(x / scale + zp, lo, hi)) - zp) * scale).astype(np.float32)


def _qonnx_linear_model(w: np.ndarray, w_scale: np.ndarray, bits: int, narrow: int, act_bits: int, bipolar: bool = False):  # type: ignore[no-untyped-def]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(w_scale, "ws"),
             numpy_helper.from_array(np.float32(0), "zp"), numpy_helper.from_array(np.float32(bits), "wb"),
             numpy_helper.from_array(np.float32(0.05), "as"), numpy_helper.from_array(np.float32(act_bits), "ab")]
    wq = (helper.make_node("BipolarQuant", ["w", "ws"], ["wq"], name="wquant", domain=QONNX) if bipolar else
          helper.make_node("Quant", ["w", "ws", "zp", "wb"], ["wq"], name="wquant", domain=QONNX, signed=1, narrow=narrow))
    nodes = [helper.make_node("Quant", ["x", "as", "zp", "ab"], ["xq"], name="aquant", domain=QONNX, signed=1, narrow=0),
             wq, helper.make_node("MatMul", ["xq", "wq"], ["y"], name="mm")]
    graph = helper.make_graph(nodes, "qonnx", [tensor_info("x", [3, w.shape[0]])], [helper.make_empty_tensor_value_info("y")], inits)
    return make_model(graph, 13, {QONNX: 1})


@pytest.mark.parametrize("bits,narrow,kind", [(2, 1, Ternary()), (4, 0, Int(4)), (8, 1, Int(8))])
def test_qonnx_quant_weights_become_codes_and_activations_fake_quant(bits, narrow, kind):  # type: ignore[no-untyped-def]
    w = R.standard_normal((6, 4)).astype(np.float32)
    w_scale = (np.abs(w).max(axis=0, keepdims=True) / max(1, 2 ** (bits - 1) - 1)).astype(np.float32)  # per column [1, 4]
    model = _qonnx_linear_model(w, w_scale, bits, narrow, act_bits=6)
    graph = import_onnx(model, "q.onnx")
    x = (R.standard_normal((3, 6)) * 0.5).astype(np.float32)
    expected = _qonnx_quant(x, 0.05, 0, 6, True, 0) @ _qonnx_quant(w, w_scale, 0, bits, True, narrow)
    np.testing.assert_allclose(run(graph, {"x": x})["y"], expected, rtol=1e-5, atol=1e-6)
    codes, scale, dq = _weight_of(graph)
    assert codes.type.dtype == kind and dq.attrs.axis == 1
    np.testing.assert_array_equal(codes.array.astype(np.float32) * w_scale, _qonnx_quant(w, w_scale, 0, bits, True, narrow))
    assert scale.array.tobytes() == w_scale.reshape(-1).tobytes()
    (fq,) = list(graph.nodes_of(FakeQuantAttrs))
    assert (fq.attrs.bits, fq.attrs.signed, fq.attrs.narrow) == (6, True, False)


def test_qonnx_bipolar_quant_weights_are_binary():
    w = R.standard_normal((5, 3)).astype(np.float32)
    model = _qonnx_linear_model(w, np.float32(0.25), 1, 0, act_bits=8, bipolar=True)
    graph = import_onnx(model, "q.onnx")
    codes, scale, dq = _weight_of(graph)
    assert codes.type.dtype == Binary() and dq.attrs.axis is None
    np.testing.assert_array_equal(codes.array, np.where(w >= 0, 1, -1))
    x = R.standard_normal((3, 5)).astype(np.float32)
    expected = _qonnx_quant(x, 0.05, 0, 8, True, 0) @ (np.where(w >= 0, 1, -1) * np.float32(0.25)).astype(np.float32)
    np.testing.assert_allclose(run(graph, {"x": x})["y"], expected, rtol=1e-5, atol=1e-6)


def test_bipolar_quant_on_activations_stays_an_op():
    nodes = [helper.make_node("BipolarQuant", ["x", "s"], ["y"], name="bq", domain=QONNX)]
    graph = helper.make_graph(nodes, "bq", [tensor_info("x", [4])], [helper.make_empty_tensor_value_info("y")],
                              [numpy_helper.from_array(np.float32(0.5), "s")])
    ir = import_onnx(make_model(graph, 13, {QONNX: 1}), "bq.onnx")
    assert [n.attrs for n in ir.nodes] == [BipolarQuantAttrs()]
    np.testing.assert_array_equal(run(ir, {"x": np.float32([-1, 0, 2, -0.1])})["y"], np.float32([-0.5, 0.5, 0.5, -0.5]))


# ---- Brevitas: its own exporters (QCDQ runs in onnxruntime; QONNX is checked against brevitas' torch output) ----


@pytest.fixture(scope="module")
def brevitas_layers():  # type: ignore[no-untyped-def]
    import torch
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerChannelFloat, Int8WeightPerTensorFloat

    class TernaryPerChannel(Int8WeightPerChannelFloat):  # 2-bit narrow range: codes in {-1, 0, +1}
        bit_width = 2
        narrow_range = True

    torch.manual_seed(3)
    int8 = qnn.QuantLinear(8, 4, bias=True, weight_quant=Int8WeightPerTensorFloat, input_quant=Int8ActPerTensorFloat,
                           return_quant_tensor=False).eval()
    ternary = qnn.QuantLinear(8, 4, bias=True, weight_quant=TernaryPerChannel, return_quant_tensor=False).eval()
    return {"int8": int8, "ternary": ternary}


def _brevitas_export(module, x, kind, tmp_path):  # type: ignore[no-untyped-def]
    import warnings

    import onnx
    from brevitas.export import export_onnx_qcdq, export_qonnx

    path = tmp_path / f"{kind}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (export_onnx_qcdq if kind == "qcdq" else export_qonnx)(module, x, export_path=str(path), dynamo=False)
    model = onnx.load(path)
    model.ir_version = min(model.ir_version, 10)
    return model


@pytest.mark.parametrize("layer", ["int8", "ternary"])
@pytest.mark.parametrize("kind", ["qcdq", "qonnx"])
def test_brevitas_quant_linear_imports_with_exact_weights(brevitas_layers, layer, kind, tmp_path):  # type: ignore[no-untyped-def]
    import torch

    module = brevitas_layers[layer]
    x = torch.randn(3, 8)
    model = _brevitas_export(module, x, kind, tmp_path)
    feeds = {model.graph.input[0].name: x.numpy()}
    if kind == "qcdq":
        graph = assert_matches_ort(model, feeds)
    else:
        graph = import_onnx(model, "brevitas.onnx")
    with torch.no_grad():
        expected = module(x).numpy()
        int_weight = module.quant_weight().int().numpy()
    got = run(graph, feeds)[graph.outputs[0].name]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    codes, _, _ = _weight_of(graph)
    assert codes.type.dtype == (Ternary() if layer == "ternary" else Int(8))
    np.testing.assert_array_equal(codes.array, int_weight)
    assert [kind for _, kind in activation_quantizers(graph)] == (["i8"] if layer == "int8" else [])


def test_blocked_quantization_is_rejected_by_name():
    from hwgen.errors import HwgenError

    codes = R.choice(np.asarray([-1, 0, 1], np.int8), size=(4, 4))
    nodes = [helper.make_node("DequantizeLinear", ["w_q", "w_scale"], ["w"], name="dq", axis=1, block_size=2),
             helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    graph = helper.make_graph(nodes, "blocked", [tensor_info("x", [2, 4])], [helper.make_empty_tensor_value_info("y")],
                              [numpy_helper.from_array(codes, "w_q"), numpy_helper.from_array(np.ones((4, 2), np.float32), "w_scale")])
    with pytest.raises(HwgenError, match=r"'dq' \(DequantizeLinear\): blocked quantization \(block_size\) is not supported"):
        import_onnx(make_model(graph, 21), "blocked.onnx")
