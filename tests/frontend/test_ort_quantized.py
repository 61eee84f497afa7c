"""onnxruntime-quantized models (issue 14 item 3): quantize_dynamic (DynamicQuantizeLinear + MatMulInteger),
quantize_static in QDQ and QOperator (QLinearMatMul) formats, on a small MLP.

They import with the exact int8/uint8 weights and scales and the interpreter matches onnxruntime
bit for bit where onnxruntime's integer arithmetic is exact. It is not for uint8 x full-range int8
products on CPUs without VNNI (onnxruntime sums pairs of products in saturating int16, which is why
quantize_dynamic has reduce_range): there hwgen gives the exact integer result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from hwgen.errors import UnsupportedError
from hwgen.frontend import load_graph
from hwgen.ir import Int
from hwgen.ir.ops import DynamicQuantizeAttrs, MatMulIntegerAttrs, QLinearMatMulAttrs
from hwgen.reference import run
from tests.frontend.onnx_helpers import hwgen_run, make_model, ort_run, single_node_model

quantization = pytest.importorskip("onnxruntime.quantization")
R = np.random.default_rng(3)
X = R.standard_normal((5, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """x[5, 8] → MatMul + Add → Relu → MatMul + Add → y[5, 4]."""
    w1, b1 = R.standard_normal((8, 16)).astype(np.float32), R.standard_normal(16).astype(np.float32)
    w2, b2 = R.standard_normal((16, 4)).astype(np.float32), R.standard_normal(4).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"), helper.make_node("Add", ["h", "b1"], ["hb"], name="bias1"),
             helper.make_node("Relu", ["hb"], ["r"], name="relu"), helper.make_node("MatMul", ["r", "w2"], ["o"], name="fc2"),
             helper.make_node("Add", ["o", "b2"], ["y"], name="bias2")]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 4])],
                              [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
    path = tmp_path_factory.mktemp("mlp") / "mlp.onnx"
    onnx.save(make_model(graph, 17), path)
    return path


class _Calibration(quantization.CalibrationDataReader):  # type: ignore[misc,name-defined]
    def __init__(self) -> None:
        self.batches = iter([{"x": R.standard_normal((5, 8)).astype(np.float32)} for _ in range(4)])

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def _ort(path: Path, optimized: bool = True) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not optimized:  # the graph as written: no fused integer kernels
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run(None, {"x": X})[0]


def _exact_weights(path: Path) -> None:
    """Every quantized initializer is a constant of the IR graph with the same integers and dtype; scales are exact."""
    graph = load_graph(path)
    model = onnx.load(str(path))
    checked = 0
    for init in model.graph.initializer:
        if init.name in graph.constants and (init.name.endswith("_quantized") or init.name.endswith("_scale")):
            want = numpy_helper.to_array(init)
            got = graph.constants[init.name]
            np.testing.assert_array_equal(got.array, want, err_msg=init.name)
            assert got.array.dtype == want.dtype, init.name
            checked += 1
    assert checked >= 4, "the weights and their scales are constants of the graph"


@pytest.mark.parametrize("weight_type,reduce_range,per_channel", [
    ("QUInt8", False, False), ("QInt8", True, False), ("QInt8", True, True),
], ids=["uint8", "int8-reduce-range", "int8-per-channel"])
def test_quantize_dynamic_matches_onnxruntime_exactly(mlp: Path, tmp_path: Path, weight_type: str, reduce_range: bool,
                                                      per_channel: bool) -> None:
    out = tmp_path / "dyn.onnx"
    quantization.quantize_dynamic(str(mlp), str(out), weight_type=getattr(quantization.QuantType, weight_type),
                                  reduce_range=reduce_range, per_channel=per_channel)
    graph = load_graph(out)
    assert len(list(graph.nodes_of(DynamicQuantizeAttrs))) == 2 and len(list(graph.nodes_of(MatMulIntegerAttrs))) == 2
    np.testing.assert_array_equal(run(graph, {"x": X})["y"], _ort(out))
    _exact_weights(out)


def test_quantize_dynamic_full_range_int8_is_exact_integer_arithmetic(mlp: Path, tmp_path: Path) -> None:
    out = tmp_path / "dyn.onnx"
    quantization.quantize_dynamic(str(mlp), str(out), weight_type=quantization.QuantType.QInt8)
    graph = load_graph(out)
    mm = next(graph.nodes_of(MatMulIntegerAttrs))
    values = run(graph, {"x": X}, keep=set(mm.inputs) | set(mm.outputs))
    a, b, a_zp, b_zp = (values[name].astype(np.int64) for name in mm.inputs)
    np.testing.assert_array_equal(values[mm.outputs[0]], (a - a_zp) @ (b - b_zp))
    assert graph.type_of(mm.inputs[1]).dtype == Int(8)
    np.testing.assert_allclose(run(graph, {"x": X})["y"], _ort(out), atol=0.5)  # onnxruntime saturates some int16 pair sums


@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
def test_quantize_static_qdq_matches_onnxruntime(mlp: Path, tmp_path: Path, per_channel: bool) -> None:
    out = tmp_path / "qdq.onnx"
    quantization.quantize_static(str(mlp), str(out), _Calibration(), quant_format=quantization.QuantFormat.QDQ,
                                 per_channel=per_channel)
    y = run(load_graph(out), {"x": X})["y"]
    np.testing.assert_array_equal(y, _ort(out, optimized=False))
    if not per_channel:  # onnxruntime's fused per-channel int8 kernel is not exact on this CPU class
        np.testing.assert_array_equal(y, _ort(out))
    _exact_weights(out)


@pytest.mark.parametrize("types,per_channel", [(("QInt8", "QInt8"), False), (("QUInt8", "QUInt8"), False), (("QInt8", "QInt8"), True)],
                         ids=["s8s8", "u8u8", "s8s8-per-channel"])
def test_quantize_static_qlinear_matmul_matches_onnxruntime_exactly(mlp: Path, tmp_path: Path, types: tuple[str, str],
                                                                    per_channel: bool) -> None:
    out = tmp_path / "qop.onnx"
    activations, weights = (getattr(quantization.QuantType, t) for t in types)
    quantization.quantize_static(str(mlp), str(out), _Calibration(), quant_format=quantization.QuantFormat.QOperator,
                                 op_types_to_quantize=["MatMul"], activation_type=activations, weight_type=weights,
                                 per_channel=per_channel)
    graph = load_graph(out)
    assert len(list(graph.nodes_of(QLinearMatMulAttrs))) == 2
    np.testing.assert_array_equal(run(graph, {"x": X})["y"], _ort(out))
    _exact_weights(out)


def test_qoperator_add_of_the_microsoft_domain_is_refused_by_name(mlp: Path, tmp_path: Path) -> None:
    out = tmp_path / "qop.onnx"
    quantization.quantize_static(str(mlp), str(out), _Calibration(), quant_format=quantization.QuantFormat.QOperator)
    with pytest.raises(UnsupportedError, match=r"com\.microsoft\.QLinearAdd \(nodes: "):
        load_graph(out)


@settings(deadline=None, max_examples=25)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), scale=st.sampled_from([0.0, 1e-3, 1.0, 100.0]),
       shift=st.sampled_from([0.0, 1.0, -3.0]), seed=st.integers(0, 2**16))
def test_dynamic_quantize_linear_matches_onnxruntime(shape: list[int], scale: float, shift: float, seed: int) -> None:
    x = (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype(np.float32)
    model = single_node_model("DynamicQuantizeLinear", {"x": x}, ("y", "s", "z"), {}, 13)
    for got, want in zip(hwgen_run(model, {"x": x})[1], ort_run(model, {"x": x})):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@settings(deadline=None, max_examples=25)
@given(m=st.integers(1, 4), k=st.integers(1, 9), n=st.integers(1, 5), signed=st.booleans(), per_axis=st.booleans(),
       seed=st.integers(0, 2**16))
def test_matmul_integer_and_qlinear_matmul_match_onnxruntime(m: int, k: int, n: int, signed: bool, per_axis: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (m, k)).astype(np.uint8)
    b = (rng.integers(-64, 64, (k, n)).astype(np.int8) if signed else rng.integers(0, 256, (k, n)).astype(np.uint8))
    b_zp = (rng.integers(-5, 5, n if per_axis else ()) if signed else rng.integers(0, 256, n if per_axis else ())).astype(b.dtype)
    inits = {"b": b, "az": np.uint8(rng.integers(0, 256)), "bz": b_zp}
    model = single_node_model("MatMulInteger", {"a": a}, ("y",), {"b": b, "az": inits["az"], "bz": b_zp}, 13,
                              inputs=["a", "b", "az", "bz"])
    np.testing.assert_array_equal(hwgen_run(model, {"a": a})[1][0], ort_run(model, {"a": a})[0])
    q_inits = {"sa": np.float32(rng.uniform(0.001, 0.1)), "az": inits["az"], "b": b,
               "sb": rng.uniform(0.001, 0.1, n if per_axis else ()).astype(np.float32), "bz": b_zp,
               "sy": np.float32(rng.uniform(0.05, 2.0)), "yz": np.uint8(rng.integers(0, 256))}
    model = single_node_model("QLinearMatMul", {"a": a}, ("y",), q_inits, 13, inputs=["a", "sa", "az", "b", "sb", "bz", "sy", "yz"])
    np.testing.assert_array_equal(hwgen_run(model, {"a": a})[1][0], ort_run(model, {"a": a})[0])
