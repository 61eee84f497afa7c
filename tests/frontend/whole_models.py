"""Whole models for the end-to-end tests, exported with dynamic batch and sequence axes:
a GRU classifier (torch nn.GRU) and an MLP quantized by onnxruntime's quantize_dynamic
(BERT-style encoders are in `bert_export`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from tests.frontend.onnx_helpers import ORT_IR_VERSION


class GRUClassifier(torch.nn.Module):
    """nn.GRU over the sequence (no initial state: the exporter writes a zero state of the batch's size),
    Linear on the last step's output."""

    def __init__(self, inp: int = 6, hidden: int = 12, classes: int = 4) -> None:
        super().__init__()
        self.gru = torch.nn.GRU(inp, hidden, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.gru(x)
        return self.head(y[:, -1])


def _fix_ir_version(path: Path) -> Path:
    proto = onnx.load(str(path), load_external_data=False)
    if proto.ir_version > ORT_IR_VERSION:
        proto.ir_version = ORT_IR_VERSION
        onnx.save(proto, str(path))
    return path


def export_gru(path: Path, dynamo: bool, seed: int = 0) -> Path:
    """The GRU classifier with input x[batch, sequence, 6] → logits[batch, 4] (TorchScript opset 17 or dynamo opset 20)."""
    torch.manual_seed(seed)
    model = GRUClassifier().eval()
    x = torch.randn(2, 7, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            shapes = {"x": {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence")}}
            program = torch.onnx.export(model, (x,), input_names=["x"], output_names=["logits"], dynamo=True,
                                        opset_version=20, dynamic_shapes=shapes, verbose=False)
            program.save(str(path))
        else:
            torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17, input_names=["x"],
                              output_names=["logits"], dynamic_axes={"x": {0: "batch", 1: "sequence"}})
    return _fix_ir_version(path)


def export_quantized_mlp(path: Path, seed: int = 0) -> Path:
    """A torch MLP (x[batch, 16] → 32 → 32 → 5) exported with a dynamic batch, then quantize_dynamic (int8 weights,
    DynamicQuantizeLinear + MatMulInteger; reduce_range keeps onnxruntime's integer sums exact, so it matches bit for bit)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 5)).eval()
    float_path = path.with_name(path.stem + "_f32.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(3, 16),), str(float_path), dynamo=False, opset_version=17, input_names=["x"],
                          output_names=["logits"], dynamic_axes={"x": {0: "batch"}})
    _fix_ir_version(float_path)
    quantize_dynamic(str(float_path), str(path), weight_type=QuantType.QInt8, reduce_range=True)
    return _fix_ir_version(path)


def features(batch: int, sequence: int | None, width: int, seed: int = 0) -> np.ndarray:
    shape = (batch, width) if sequence is None else (batch, sequence, width)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
