"""The test models of the TVM backend, exported with torch.onnx.export (legacy exporter,
dynamo=False: it writes ONNX `LSTM` nodes) or built with onnx.helper for QCDQ ternary/binary
LSTMs. Sizes are tiny: every model here is compiled by TVM once per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 9  # onnxruntime 1.31 reads at most IR 13; onnx 1.23 would write 14


def _export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> Path:
    module.eval()
    torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, input_names=inputs, output_names=outputs)
    model = onnx.load(str(path))
    model.ir_version = IR_VERSION
    onnx.save(model, str(path))
    return path


class LSTMHead(torch.nn.Module):
    """LSTM (+ optional Linear on the last step's features)."""

    def __init__(self, size: int, hidden: int, layers: int, batch_first: bool, bidirectional: bool, head: int = 0):
        super().__init__()
        self.lstm = torch.nn.LSTM(size, hidden, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)
        self.batch_first = batch_first
        self.head = torch.nn.Linear(hidden * (2 if bidirectional else 1), head) if head else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        if self.head is None:
            return y
        return self.head(y[:, -1] if self.batch_first else y[-1])


class LSTMWithState(torch.nn.Module):
    def __init__(self, size: int, hidden: int):
        super().__init__()
        self.lstm = torch.nn.LSTM(size, hidden)

    def forward(self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y, (h, c) = self.lstm(x, (h0, c0))
        return y, h, c


class EncoderClassifier(torch.nn.Module):
    def __init__(self, d_model: int = 16, heads: int = 2, layers: int = 2, classes: int = 4):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).mean(dim=1))


def torch_models(directory: Path) -> dict[str, tuple[Path, dict[str, np.ndarray]]]:
    """name -> (onnx path, feeds) for every float model of the frontend test set."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    out: dict[str, tuple[Path, dict[str, np.ndarray]]] = {}

    def add(name: str, module: torch.nn.Module, feeds: dict[str, np.ndarray], outputs: list[str]) -> None:
        args = tuple(torch.from_numpy(v) for v in feeds.values())
        out[name] = (_export(module, args, directory / f"{name}.onnx", list(feeds), outputs), feeds)

    x = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    add("lstm1", LSTMHead(5, 8, 1, False, False), {"x": x(6, 2, 5)}, ["y"])
    add("lstm2_batch_first", LSTMHead(4, 6, 2, True, False), {"x": x(3, 5, 4)}, ["y"])
    add("lstm_bidirectional", LSTMHead(4, 7, 1, False, True), {"x": x(5, 1, 4)}, ["y"])
    add("lstm_state", LSTMWithState(3, 5), {"x": x(4, 2, 3), "h0": x(1, 2, 5), "c0": x(1, 2, 5)}, ["y", "h", "c"])
    add("lstm_linear", LSTMHead(6, 12, 2, True, True, head=3), {"x": x(2, 7, 6)}, ["logits"])
    add("transformer", EncoderClassifier(), {"x": x(2, 5, 16)}, ["logits"])
    return out


def qcdq_lstm(path: Path, kind: str, steps: int, batch: int, size: int, hidden: int, direction: str = "forward",
              seed: int = 0, head: int = 0, layers: int = 1, symbolic: bool = False) -> tuple[Path, dict[str, np.ndarray]]:
    """An ONNX LSTM whose W and R are DequantizeLinear(int8 codes, per-row scale): ternary or binary.
    Output: Y, or with `head` classes the logits of a float Linear on the last hidden state.
    `layers` > 1 stacks forward layers (Y squeezed between them). `symbolic`: the input is declared
    [T, N, size] (dynamic sequence and batch axes); the feeds still have `steps` x `batch`."""
    if layers > 1:
        return _stacked(path, kind, steps, batch, size, hidden, seed, head, layers, symbolic)
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    levels = [-1, 0, 1] if kind == "ternary" else [-1, 1]
    nodes, inits = [], []
    for name, cols in (("W", size), ("R", hidden)):
        if dirs == 1:  # the usual export: codes [1, 4H, K] with per-row scales along axis 1
            codes = rng.choice(levels, (1, 4 * hidden, cols)).astype(np.int8)
            scale = rng.uniform(0.05, 0.4, 4 * hidden).astype(np.float32)
            inits += [numpy_helper.from_array(codes, f"{name}_codes"), numpy_helper.from_array(scale, f"{name}_scale")]
            nodes.append(helper.make_node("DequantizeLinear", [f"{name}_codes", f"{name}_scale"], [name], axis=1))
            continue
        parts = []  # per-direction scales need one Dequantize per direction, stacked
        for d in range(dirs):
            codes = rng.choice(levels, (4 * hidden, cols)).astype(np.int8)
            scale = rng.uniform(0.05, 0.4, 4 * hidden).astype(np.float32)
            inits += [numpy_helper.from_array(codes, f"{name}{d}_codes"), numpy_helper.from_array(scale, f"{name}{d}_scale")]
            nodes.append(helper.make_node("DequantizeLinear", [f"{name}{d}_codes", f"{name}{d}_scale"], [f"{name}{d}"], axis=0))
            nodes.append(helper.make_node("Unsqueeze", [f"{name}{d}", "axis0"], [f"{name}{d}_u"]))
            parts.append(f"{name}{d}_u")
        nodes.append(helper.make_node("Concat", parts, [name], axis=0))
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "axis0"))
    inits.append(numpy_helper.from_array(rng.normal(0, 0.3, (dirs, 8 * hidden)).astype(np.float32), "B"))
    if head:
        nodes.append(helper.make_node("LSTM", ["x", "W", "R", "B"], ["", "y_h"], hidden_size=hidden, direction=direction))
        nodes.append(helper.make_node("Squeeze", ["y_h", "axis0"], ["h_last"]))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.5, (head, hidden)).astype(np.float32), "head_w"))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.1, head).astype(np.float32), "head_b"))
        nodes.append(helper.make_node("Gemm", ["h_last", "head_w", "head_b"], ["y"], transB=1))
    else:
        nodes.append(helper.make_node("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=hidden, direction=direction))
    dims = ["T", "N", size] if symbolic else [steps, batch, size]
    graph = helper.make_graph(nodes, f"{kind}_lstm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = IR_VERSION
    onnx.save(model, str(path))
    return path, {"x": rng.standard_normal((steps, batch, size)).astype(np.float32)}


def _stacked(path: Path, kind: str, steps: int, batch: int, size: int, hidden: int, seed: int, head: int,
             layers: int, symbolic: bool = False) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    levels = [-1, 0, 1] if kind == "ternary" else [-1, 1]
    nodes, inits = [], [numpy_helper.from_array(np.array([1], np.int64), "axis1"),
                        numpy_helper.from_array(np.array([0], np.int64), "axis0")]
    x = "x"
    for layer in range(layers):
        cols_in = size if layer == 0 else hidden
        for name, cols in (("W", cols_in), ("R", hidden)):
            codes = rng.choice(levels, (1, 4 * hidden, cols)).astype(np.int8)
            scale = rng.uniform(0.05, 0.4, 4 * hidden).astype(np.float32)
            inits += [numpy_helper.from_array(codes, f"{name}{layer}_codes"), numpy_helper.from_array(scale, f"{name}{layer}_scale")]
            nodes.append(helper.make_node("DequantizeLinear", [f"{name}{layer}_codes", f"{name}{layer}_scale"], [f"{name}{layer}"], axis=1))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.3, (1, 8 * hidden)).astype(np.float32), f"B{layer}"))
        last = layer == layers - 1
        outs = ["", "y_h"] if last and head else [f"y{layer}"]
        nodes.append(helper.make_node("LSTM", [x, f"W{layer}", f"R{layer}", f"B{layer}"], outs, hidden_size=hidden))
        if not (last and head):
            nodes.append(helper.make_node("Squeeze", [f"y{layer}", "axis1"], [f"seq{layer}"]))
            x = f"seq{layer}"
    if head:
        nodes.append(helper.make_node("Squeeze", ["y_h", "axis0"], ["h_last"]))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.5, (head, hidden)).astype(np.float32), "head_w"))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.1, head).astype(np.float32), "head_b"))
        nodes.append(helper.make_node("Gemm", ["h_last", "head_w", "head_b"], ["y"], transB=1))
    else:
        nodes.append(helper.make_node("Identity", [x], ["y"]))
    dims = ["T", "N", size] if symbolic else [steps, batch, size]
    graph = helper.make_graph(nodes, f"{kind}_lstm{layers}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = IR_VERSION
    onnx.save(model, str(path))
    return path, {"x": rng.standard_normal((steps, batch, size)).astype(np.float32)}


class Attention(torch.nn.Module):
    """Single-head self-attention + mean pool + Linear, written without reshapes: its ONNX export has
    no Shape ops, so dynamic batch and sequence axes stay symbolic in hwgen's IR."""

    def __init__(self, d_model: int = 8, classes: int = 3):
        super().__init__()
        self.q, self.k, self.v = (torch.nn.Linear(d_model, d_model) for _ in range(3))
        self.norm = torch.nn.LayerNorm(d_model)
        self.head = torch.nn.Linear(d_model, classes)
        self.scale = d_model ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = torch.softmax(self.q(x) @ self.k(x).transpose(1, 2) * self.scale, dim=-1)
        return self.head(self.norm(x + scores @ self.v(x)).mean(dim=1))


def dynamic_export(module: torch.nn.Module, example: np.ndarray, path: Path, axes: dict[int, str]) -> Path:
    """`module` exported with input "x" and output "y", the input's `axes` dynamic (named)."""
    module.eval()
    torch.onnx.export(module, (torch.from_numpy(example),), str(path), dynamo=False, opset_version=17, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": axes, "y": {0: axes[0]}} if 0 in axes else {"x": axes})
    model = onnx.load(str(path))
    model.ir_version = IR_VERSION
    onnx.save(model, str(path))
    return path
