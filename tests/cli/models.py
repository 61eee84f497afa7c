"""Small ONNX files for the CLI tests, written with onnx.helper (no torch: fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

R = np.random.default_rng(5)


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 10
    onnx.save(model, path)
    return path


def lstm_model(path: Path, hidden: int = 4, inp: int = 3, seq: int = 5, batch: int = 1, ternary: bool = False,
               opset: int = 14, **lstm_attrs: object) -> Path:
    """X[seq, batch, inp] → LSTM → Y_h → Gemm classifier (2 classes). Ternary weights through DequantizeLinear."""
    w = R.standard_normal((1, 4 * hidden, inp)).astype(np.float32)
    r = R.standard_normal((1, 4 * hidden, hidden)).astype(np.float32)
    inits = [numpy_helper.from_array(R.standard_normal((1, 8 * hidden)).astype(np.float32), "B"),
             numpy_helper.from_array(R.standard_normal((2, hidden)).astype(np.float32), "fc_w"),
             numpy_helper.from_array(np.zeros(2, np.float32), "fc_b")]
    nodes = []
    if ternary:
        for name, shape in (("W", w.shape), ("R", r.shape)):
            inits += [numpy_helper.from_array(R.integers(-1, 2, shape).astype(np.int8), f"{name}_q"),
                      numpy_helper.from_array(np.full(shape[1], 0.125, np.float32), f"{name}_scale")]
            nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_scale"], [name], name=f"dq_{name}", axis=1))
    else:
        inits += [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R")]
    nodes += [
        helper.make_node("LSTM", ["X", "W", "R", "B"], ["", "Y_h"], name="lstm", hidden_size=hidden, **lstm_attrs),
        helper.make_node("Squeeze", ["Y_h", "axes0"], ["h"], name="squeeze"),
        helper.make_node("Gemm", ["h", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    inits.append(numpy_helper.from_array(np.asarray([0], np.int64), "axes0"))
    graph = helper.make_graph(nodes, "lstm_clf", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [seq, batch, inp])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 2])], inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)


def two_input_model(path: Path) -> Path:
    nodes = [helper.make_node("Add", ["a", "b"], ["s"], name="add"), helper.make_node("Relu", ["s"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "two", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
                                             helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def unsupported_model(path: Path) -> Path:
    """Two unsupported ops (three nodes) among supported ones."""
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("Conv", ["a", "w"], ["b"], name="conv1"),
             helper.make_node("Conv", ["b", "w"], ["c"], name="conv2"),
             helper.make_node("TopK", ["c", "k"], ["y", "idx"], name="topk")]
    inits = [numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w"), numpy_helper.from_array(np.asarray([1], np.int64), "k")]
    graph = helper.make_graph(nodes, "unsup", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def mismatched_matmul_model(path: Path) -> Path:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")]
    graph = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.ones((5, 3), np.float32), "w")])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def old_opset_model(path: Path) -> Path:
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "old",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)]), path)
