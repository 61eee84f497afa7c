"""hwgen.quant's own ONNX export of a QuantLSTMModel, perturbed from its initialisation so every BN affine
differs per row (the formats are what these tests check, so no training is needed)."""

from __future__ import annotations

from pathlib import Path


def export_perturbed(path: Path, task: str, input_size: int, hidden: int, layers: int, outputs: int) -> Path:
    """A ternary BN LSTM (seed 0, parameters + 0.2·N(0, 1)) exported to `path`; returns the ONNX path."""
    import torch

    from hwgen.quant.export import export_model
    from hwgen.quant.model import ModelConfig, QuantLSTMModel

    torch.manual_seed(0)
    model = QuantLSTMModel(ModelConfig(task=task, input_size=input_size, hidden=hidden, layers=layers, outputs=outputs,
                                       weights="ternary", bn=True))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    onnx_path, _ = export_model(model, path)
    return onnx_path
