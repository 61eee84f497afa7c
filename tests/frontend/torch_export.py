"""Export small torch models to ONNX for the frontend tests (legacy TorchScript or dynamo exporter)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Sequence

import onnx
import torch

from tests.frontend.onnx_helpers import ORT_IR_VERSION


def export(module: torch.nn.Module, args: tuple[torch.Tensor, ...], input_names: Sequence[str],
           output_names: Sequence[str], dynamo: bool = False, opset: int | None = None) -> onnx.ModelProto:
    """The ONNX model of `module` in eval mode with static shapes, IR version readable by onnxruntime."""
    module.eval()
    buf = io.BytesIO()
    kwargs: dict = {"dynamo": dynamo, "input_names": list(input_names), "output_names": list(output_names)}
    if opset is not None:
        kwargs["opset_version"] = opset
    if dynamo:
        kwargs["verbose"] = False
    # not under no_grad: in eval mode with autograd off, nn.TransformerEncoder takes its fused fast
    # path (aten::_transformer_encoder_layer_fwd), which the legacy exporter cannot translate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            program = torch.onnx.export(module, args, **kwargs)
            model = program.model_proto
        else:
            torch.onnx.export(module, args, buf, **kwargs)
            model = onnx.load_from_string(buf.getvalue())
    model.ir_version = min(model.ir_version, ORT_IR_VERSION)
    return model


class LSTMModel(torch.nn.Module):
    """nn.LSTM returning (y, h, c); initial states as inputs when `with_states`."""

    def __init__(self, inp: int, hidden: int, layers: int, batch_first: bool, bidirectional: bool) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(inp, hidden, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, c0: torch.Tensor | None = None):  # type: ignore[no-untyped-def]
        y, (h, c) = self.lstm(x, None if h0 is None else (h0, c0))
        return y, h, c


class LSTMClassifier(torch.nn.Module):
    """LSTM over the sequence, Linear on the last step's hidden state, log-softmax."""

    def __init__(self, inp: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(inp, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return torch.log_softmax(self.head(y[:, -1]), dim=-1)


class TransformerClassifier(torch.nn.Module):
    """2-layer nn.TransformerEncoder (batch_first) + mean-pool or first-token + Linear head; optional padding mask."""

    def __init__(self, d_model: int = 16, heads: int = 2, ff: int = 32, classes: int = 3, pool: str = "mean",
                 activation: str = "relu", norm_first: bool = False) -> None:
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.1, batch_first=True, activation=activation,
                                                 norm_first=norm_first)
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, classes)
        self.pool = pool

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        y = self.encoder(x, src_key_padding_mask=padding_mask)
        return self.head(y.mean(dim=1) if self.pool == "mean" else y[:, 0])


def export_dynamic(module: torch.nn.Module, x: torch.Tensor, path: Path, dynamic_axes: dict) -> Path:
    """Legacy export of a one-input module with dynamic axes on input 'x' (outputs y, h, c for an LSTM)."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), dynamo=False, input_names=["x"], output_names=["y", "h", "c"],
                          dynamic_axes=dynamic_axes)
    model = onnx.load(path)
    model.ir_version = min(model.ir_version, ORT_IR_VERSION)
    onnx.save(model, path)
    return path
