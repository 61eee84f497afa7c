"""`make demo`: the main job on an embedded default, end to end as far as hwgen is built."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from hwgen.frontend import load_graph
from hwgen.inspect import format_report, inspect_graph
from hwgen.reference import run


def main() -> int:
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="hwgen-demo-"))
    lstm = torch.nn.LSTM(8, 32, num_layers=2, batch_first=True).eval()
    x = torch.randn(1, 8, 8)
    path = work / "lstm.onnx"
    torch.onnx.export(lstm, (x,), str(path), input_names=["x"], output_names=["y", "h", "c"], dynamo=False, opset_version=17)
    graph = load_graph(path)
    print(format_report(inspect_graph(graph)))
    out = run(graph, {"x": x.numpy()})
    ref = lstm(x)[0].detach().numpy()
    err = float(np.abs(out["y"] - ref).max())
    print(f"\nreference interpreter vs PyTorch: max |diff| = {err:.2e}")
    return 0 if err < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
