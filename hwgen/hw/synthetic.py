"""Random binary/ternary LSTM and GRU models, for tests and benchmarks of the accelerator.

`random_stack` gives an `LSTMStack` directly (any size, with the BN cell affine), `random_gru_stack`
a `GRUStack` (linear_before_reset=1 unless asked otherwise);
`write_onnx` writes the same kind of model as a standard ONNX file (DequantizeLinear
weights with per-row scales, LSTM, then the head on the last step (Gather, Gemm) or on
every step (Squeeze, MatMul + Add, as torch exports `nn.LSTM` + `nn.Linear`; or Reshape,
Gemm)), the way an exporter would, so the whole `hwgen build` path can be exercised
without training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from hwgen.model.gru import GRUFloatLayer, GRUStack
from hwgen.model.lstm_stack import FloatHead, FloatLayer, LSTMStack


def _codes(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "binary":
        return rng.choice(np.array([-1, 1], np.int8), size=shape)
    if kind == "ternary":
        return rng.choice(np.array([-1, 0, 1], np.int8), size=shape, p=[0.3, 0.4, 0.3])
    return rng.integers(-127, 128, size=shape).astype(np.int8)


#: `write_onnx` heads: last step into Gemm; every step into MatMul + Add, or flattened into Gemm.
HEADS = ("last", "every_step_matmul", "every_step_gemm")


def _row_scales(rng: np.random.Generator, rows: int, inputs: int, hidden: int, kind: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per-row W and R scales that keep a random layer's gates of order 1 (int8 codes are up to 127)."""
    div = 127.0 if kind == "int8" else 1.0
    w_scale = rng.uniform(0.5, 1.5, rows) / np.sqrt(inputs) / div
    return w_scale, rng.uniform(0.5, 1.5, rows) / np.sqrt(hidden) / div


def _random_head(rng: np.random.Generator, hidden: int, classes: int) -> Optional[FloatHead]:
    return FloatHead(rng.normal(0, 1 / np.sqrt(hidden), (classes, hidden)), rng.normal(0, 0.1, classes)) if classes else None


def random_stack(hidden: int, input_size: int, layers: int = 1, classes: int = 0, kind: str = "ternary",
                 cell_bn: bool = True, seed: int = 0, every_step: bool = False) -> LSTMStack:
    """A random LSTM stack with weights scaled like a trained BN-LSTM (gates of order 1)."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(layers):
        x = input_size if index == 0 else hidden
        w_scale, r_scale = _row_scales(rng, 4 * hidden, x, hidden, kind)
        bias = rng.normal(0, 0.3, 4 * hidden)
        bias[2 * hidden:3 * hidden] += 1.0  # forget gate bias
        cs = rng.uniform(0.5, 1.5, hidden) if cell_bn else np.ones(hidden)
        csh = rng.normal(0, 0.1, hidden) if cell_bn else np.zeros(hidden)
        out.append(FloatLayer(_codes(rng, (4 * hidden, x), kind), w_scale, _codes(rng, (4 * hidden, hidden), kind), r_scale,
                              bias, cs, csh, kind))
    head = _random_head(rng, hidden, classes)
    return LSTMStack(tuple(out), head, batch_first=False, input_name="x", output_name="y", final_softmax=False, name="random",
                     every_step=every_step)


def random_gru_stack(hidden: int, input_size: int, layers: int = 1, classes: int = 0, kind: str = "ternary",
                     seed: int = 0, every_step: bool = False, linear_before_reset: bool = True) -> GRUStack:
    """A random GRU stack with weights scaled like a trained BN-GRU (gates of order 1; z biased towards keeping h)."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(layers):
        x = input_size if index == 0 else hidden
        w_scale, r_scale = _row_scales(rng, 3 * hidden, x, hidden, kind)
        wb, rb = rng.normal(0, 0.3, 3 * hidden), rng.normal(0, 0.3, 3 * hidden)
        wb[:hidden] += 0.5
        out.append(GRUFloatLayer(_codes(rng, (3 * hidden, x), kind), w_scale, _codes(rng, (3 * hidden, hidden), kind),
                                 r_scale, wb, rb, kind, linear_before_reset))
    head = _random_head(rng, hidden, classes)
    return GRUStack(tuple(out), head, every_step, "random_gru")


def write_onnx(path: Union[str, Path], hidden: int, input_size: int, steps: int = 6, layers: int = 1, classes: int = 10,
               kind: str = "ternary", seed: int = 0, head: str = "last", cell: str = "lstm",
               linear_before_reset: int = 1) -> Path:
    """Write a random ternary/binary LSTM (or `cell="gru"`: GRU) as ONNX: a classifier ([steps, 1, input] → [1, classes])
    with `head="last"`, a per-step model ([steps, 1, classes], or [steps, classes] through Gemm) otherwise."""
    if head not in HEADS:
        raise ValueError(f"head {head!r} is not one of {', '.join(HEADS)}")
    if cell not in ("lstm", "gru"):
        raise ValueError(f"cell {cell!r} is not one of lstm, gru")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    stack: Union[LSTMStack, GRUStack] = (
        random_gru_stack(hidden, input_size, layers, classes, kind, seed, linear_before_reset=bool(linear_before_reset))
        if cell == "gru" else random_stack(hidden, input_size, layers, classes, kind, cell_bn=False, seed=seed))
    inits, nodes = [], []
    x = "x"
    for i, layer in enumerate(stack.layers):
        for nm, codes, scale in (("W", layer.w_codes, layer.w_scale), ("R", layer.r_codes, layer.r_scale)):
            inits.append(numpy_helper.from_array(codes[None].astype(np.int8), f"{nm}{i}_q"))
            inits.append(numpy_helper.from_array(scale.astype(np.float32), f"{nm}{i}_s"))
            nodes.append(helper.make_node("DequantizeLinear", [f"{nm}{i}_q", f"{nm}{i}_s"], [f"{nm}{i}"], axis=1))
        if isinstance(layer, GRUFloatLayer):
            b = np.concatenate([layer.wb, layer.rb])[None].astype(np.float32)
            extra = {"linear_before_reset": int(linear_before_reset)}
        else:
            b = np.concatenate([layer.bias, np.zeros(4 * hidden)])[None].astype(np.float32)
            extra = {}
        inits.append(numpy_helper.from_array(b, f"B{i}"))
        nodes.append(helper.make_node(cell.upper(), [x, f"W{i}", f"R{i}", f"B{i}"], [f"Y{i}", f"Yh{i}"], hidden_size=hidden,
                                      name=f"{cell}{i}", **extra))
        if i + 1 < layers:
            inits.append(numpy_helper.from_array(np.array([1], np.int64), f"ax{i}"))
            nodes.append(helper.make_node("Squeeze", [f"Y{i}", f"ax{i}"], [f"X{i + 1}"]))
            x = f"X{i + 1}"
    assert stack.head is not None
    inits.append(numpy_helper.from_array(stack.head.weight.astype(np.float32), "Wd"))
    inits.append(numpy_helper.from_array(stack.head.bias.astype(np.float32), "bd"))
    top = f"Y{layers - 1}"
    if head == "last":
        inits.append(numpy_helper.from_array(np.array([-1], np.int64), "last"))
        nodes.append(helper.make_node("Gather", [top, "last"], ["y_last"], axis=0))  # [1, 1, 1, H]
        inits.append(numpy_helper.from_array(np.array([1, hidden], np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", ["y_last", "flat"], ["h_last"]))
        nodes.append(helper.make_node("Gemm", ["h_last", "Wd", "bd"], ["y"], transB=1, name="dense"))
        out_shape = [1, classes]
    elif head == "every_step_matmul":
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "dirs"))
        nodes.append(helper.make_node("Squeeze", [top, "dirs"], ["ys"]))  # [T, 1, H]
        inits.append(numpy_helper.from_array(stack.head.weight.T.astype(np.float32), "WdT"))
        nodes.append(helper.make_node("MatMul", ["ys", "WdT"], ["mm"], name="dense"))
        nodes.append(helper.make_node("Add", ["mm", "bd"], ["y"], name="dense_bias"))
        out_shape = [steps, 1, classes]
    else:
        inits.append(numpy_helper.from_array(np.array([steps, hidden], np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", [top, "flat"], ["ys"]))  # [T, H]
        nodes.append(helper.make_node("Gemm", ["ys", "Wd", "bd"], ["y"], transB=1, name="dense"))
        out_shape = [steps, classes]
    graph = helper.make_graph(nodes, f"random_{cell}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, input_size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path
