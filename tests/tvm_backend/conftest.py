"""Session-wide compiled models: TVM compiles are slow, so every model is built once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.tvm_backend import models


@pytest.fixture(scope="session")
def tvm_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, np.ndarray]]]:
    directory = tmp_path_factory.mktemp("tvm_models")
    out = models.torch_models(directory)
    out["ternary_lstm"] = models.qcdq_lstm(directory / "ternary.onnx", "ternary", 9, 2, 12, 20)
    out["binary_bilstm"] = models.qcdq_lstm(directory / "binary.onnx", "binary", 6, 1, 7, 16, "bidirectional", seed=1)
    return out
