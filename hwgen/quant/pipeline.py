"""One call from nothing to an ONNX model: what `make demo` and the hardware tests use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from hwgen.quant.export import export_run
from hwgen.quant.train import TrainConfig, train

DIGITS_ONNX = "digits.onnx"


def train_and_export_digits(out_dir: Union[str, os.PathLike], weights: str = "ternary", hidden: int = 32,
                            epochs: int = 20, seed: int = 0, layers: int = 1, progress: bool = False) -> Path:
    """Train a digits LSTM (batch norm for binary/ternary) into out_dir/run and export out_dir/digits.onnx.

    The model takes x [batch, 8, 8] (`hwgen.quant.data.digits_split(seed)` gives the test
    split) and returns logits [batch, 10]; its LSTM weights are int8 codes behind
    DequantizeLinear with per-row scales. The test accuracy is in out_dir/run/metrics.json.
    """
    out = Path(out_dir)
    run = out / "run"
    train(TrainConfig(task="digits", weights=weights, hidden=hidden, layers=layers, epochs=epochs, seed=seed,
                      progress=progress), run)
    return export_run(run, out / DIGITS_ONNX, evaluate_metric=False).path
