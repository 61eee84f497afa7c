"""IR graphs of BN-LSTM classifiers built directly (cell_scale/cell_shift included), for lowering tests."""

from __future__ import annotations

import numpy as np

from hwgen.ir import ops
from hwgen.ir.graph import Constant, Graph, Node, Value
from hwgen.ir.types import Float32, TensorType, weight_kind
from hwgen.model.lstm_stack import LSTMStack


def graph_of(stack: LSTMStack, steps: int, every_step: str = "", batch: int = 1) -> Graph:
    """The IR of `stack`: Dequantize'd codes, LSTM (with the cell affine), Gather last step, Reshape, Gemm.

    `every_step`: the head on every step instead — "seq_first" (Squeeze, MatMul, Add → [T, batch, K]),
    "batch_first" (the same after a Transpose → [batch, T, K]) or "gather_after_head" (MatMul, Add on
    every step, then Gather of the last step: a form the matcher refuses)."""
    consts: dict[str, Constant] = {}
    nodes: list[Node] = []

    def const(name: str, array: np.ndarray, dtype=None) -> str:
        consts[name] = Constant.of(name, array, dtype)
        return name

    x = "x"
    layers = stack.layers
    for i, layer in enumerate(layers):
        ins = []
        for nm, codes, scale in (("W", layer.w_codes, layer.w_scale), ("R", layer.r_codes, layer.r_scale)):
            if np.issubdtype(codes.dtype, np.floating):  # float weights: a plain constant
                ins.append(const(f"{nm}{i}", (codes * scale[:, None])[None].astype(np.float32)))
                continue
            q = const(f"{nm}{i}_q", codes[None].astype(np.int8), weight_kind(codes))
            s = const(f"{nm}{i}_s", scale.astype(np.float32))
            nodes.append(Node(f"deq_{nm}{i}", ops.DequantizeAttrs(axis=1), (q, s), (f"{nm}{i}",)))
            ins.append(f"{nm}{i}")
        b = const(f"B{i}", np.concatenate([layer.bias, np.zeros_like(layer.bias)])[None].astype(np.float32))
        cs = const(f"cs{i}", layer.cell_scale[None].astype(np.float32))
        csh = const(f"csh{i}", layer.cell_shift[None].astype(np.float32))
        nodes.append(Node(f"lstm{i}", ops.LSTMAttrs(hidden=layer.hidden), (x, *ins, b, "", "", cs, csh), (f"Y{i}", f"Yh{i}", "")))
        if i + 1 < len(layers):
            nodes.append(Node(f"sq{i}", ops.SqueezeAttrs(axes=(1,)), (f"Y{i}",), (f"X{i + 1}",)))
            x = f"X{i + 1}"
    hid = layers[-1].hidden
    assert stack.head is not None
    k = stack.head.weight.shape[0]
    wd = const("Wd", stack.head.weight.astype(np.float32))
    bd = const("bd", stack.head.bias.astype(np.float32))
    top = f"Y{len(layers) - 1}"
    if not every_step:
        idx = const("last", np.array([steps - 1], np.int64))
        nodes.append(Node("gather", ops.GatherAttrs(axis=0), (top, idx), ("y_last",)))
        nodes.append(Node("flat", ops.ReshapeAttrs(shape=(1, hid)), ("y_last",), ("h",)))
        nodes.append(Node("dense", ops.GemmAttrs(trans_b=True), ("h", wd, bd), ("y",)))
        out_shape: tuple[int, ...] = (1, k)
    else:
        wt = const("WdT", stack.head.weight.T.astype(np.float32))
        nodes.append(Node("squeeze_dirs", ops.SqueezeAttrs(axes=(1,)), (top,), ("ys",)))
        src, out_shape = "ys", (steps, batch, k)
        if every_step == "batch_first":
            nodes.append(Node("to_batch_first", ops.TransposeAttrs(perm=(1, 0, 2)), ("ys",), ("yb",)))
            src, out_shape = "yb", (batch, steps, k)
        nodes.append(Node("dense", ops.MatMulAttrs(), (src, wt), ("mm",)))
        last = "y" if every_step != "gather_after_head" else "logits_all"
        nodes.append(Node("dense_bias", ops.AddAttrs(), ("mm", bd), (last,)))
        if every_step == "gather_after_head":
            idx = const("last", np.array(steps - 1, np.int64))
            nodes.append(Node("pick_last", ops.GatherAttrs(axis=0), (last, idx), ("y",)))
            out_shape = (batch, k)
    xin = Value("x", TensorType((steps, batch, layers[0].input_size), Float32()))
    g = Graph("bn_lstm", tuple(nodes), (xin,), (Value("y", TensorType(out_shape, Float32())),), consts)
    return g.with_types()
