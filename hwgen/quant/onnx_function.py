"""The batch-normalised LSTM cell as a model-local ONNX function: hwgen.BNLSTM.

Why a function: standard ONNX `LSTM` computes h = o ⊙ tanh(c) and has no place for the
BN(c) affine before that tanh. A model-local function keeps the layer one node (with
the same inputs as ONNX LSTM plus `cell_scale`, `cell_shift`), so W and R stay visible
as DequantizeLinear(int8 codes, per-row scales) outputs to every ONNX tool, while its
body — a standard-ONNX Scan over time — lets onnxruntime run the model unchanged.

    BNLSTM(X [T,B,I], W [1,4H,I], R [1,4H,H], B [1,8H], initial_h, initial_c,
           cell_scale [1,H], cell_shift [1,H]) -> Y [T,1,B,H], Y_h [1,B,H], Y_c [1,B,H]

Gate order i, o, f, c as ONNX LSTM; h = σ(o) ⊙ tanh(cell_scale ⊙ c + cell_shift).
The state starts at zero: `initial_h` and `initial_c` are reserved positions that
hwgen's export leaves empty (and the frontend refuses when given).
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

DOMAIN = "hwgen"
OP = "BNLSTM"
OPSET = 17
INPUTS = ("X", "W", "R", "B", "initial_h", "initial_c", "cell_scale", "cell_shift")
OUTPUTS = ("Y", "Y_h", "Y_c")


def _const(name: str, values: list[int]) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [len(values)], values))


def _step_body() -> onnx.GraphProto:
    """One time step: (h, c, xw_t) -> (h', c', y_t). Rt, bias, cs, csh come from the enclosing scope."""
    n = helper.make_node
    nodes = [
        n("MatMul", ["h_prev", "Rt"], ["hr"]),
        n("Add", ["xw_t", "hr"], ["gates"]),
        n("Split", ["gates"], ["gi", "go", "gf", "gc"], axis=1),
        n("Sigmoid", ["gi"], ["i"]),
        n("Sigmoid", ["go"], ["o"]),
        n("Sigmoid", ["gf"], ["f"]),
        n("Tanh", ["gc"], ["g"]),
        n("Mul", ["f", "c_prev"], ["fc"]),
        n("Mul", ["i", "g"], ["ig"]),
        n("Add", ["fc", "ig"], ["c_next"]),
        n("Mul", ["c_next", "cs"], ["c_scaled"]),
        n("Add", ["c_scaled", "csh"], ["c_norm"]),
        n("Tanh", ["c_norm"], ["c_act"]),
        n("Mul", ["o", "c_act"], ["h_next"]),
        n("Identity", ["h_next"], ["y_t"]),
    ]
    f32 = TensorProto.FLOAT
    return helper.make_graph(
        nodes, "bnlstm_step",
        [helper.make_tensor_value_info(v, f32, None) for v in ("h_prev", "c_prev", "xw_t")],
        [helper.make_tensor_value_info(v, f32, None) for v in ("h_next", "c_next", "y_t")])


def bnlstm_function() -> onnx.FunctionProto:
    """The FunctionProto every exported BN-LSTM node calls (add it to `model.functions`)."""
    n = helper.make_node
    nodes = [
        _const("ax0", [0]), _const("ax1", [1]), _const("idx1", [1]), _const("idx2", [2]),
        n("Squeeze", ["W", "ax0"], ["W2"]),
        n("Transpose", ["W2"], ["Wt"], perm=[1, 0]),
        n("Squeeze", ["R", "ax0"], ["R2"]),
        n("Transpose", ["R2"], ["Rt"], perm=[1, 0]),
        n("Squeeze", ["B", "ax0"], ["B1"]),
        n("Split", ["B1"], ["Wb", "Rb"], axis=0),
        n("Add", ["Wb", "Rb"], ["bias"]),
        n("Squeeze", ["cell_scale", "ax0"], ["cs"]),
        n("Squeeze", ["cell_shift", "ax0"], ["csh"]),
        n("MatMul", ["X", "Wt"], ["xw0"]),
        n("Add", ["xw0", "bias"], ["xw"]),
        n("Shape", ["X"], ["x_shape"]),
        n("Gather", ["x_shape", "idx1"], ["batch"], axis=0),
        n("Shape", ["R"], ["r_shape"]),
        n("Gather", ["r_shape", "idx2"], ["hid"], axis=0),
        n("Concat", ["batch", "hid"], ["state_shape"], axis=0),
        n("ConstantOfShape", ["state_shape"], ["zero_state"],
          value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
        n("Scan", ["zero_state", "zero_state", "xw"], ["h_last", "c_last", "Y3"], num_scan_inputs=1, body=_step_body()),
        n("Unsqueeze", ["Y3", "ax1"], ["Y"]),
        n("Unsqueeze", ["h_last", "ax0"], ["Y_h"]),
        n("Unsqueeze", ["c_last", "ax0"], ["Y_c"]),
    ]
    return helper.make_function(DOMAIN, OP, list(INPUTS), list(OUTPUTS), nodes,
                                [helper.make_opsetid("", OPSET)], [],
                                doc_string="hwgen batch-normalised LSTM: h = o*tanh(cell_scale*c + cell_shift); see hwgen/quant/onnx_function.py")
