"""TVM 0.27's own ONNX frontend has no LSTM; hwgen imports the same file (why hwgen lowers from its own IR)."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from hwgen.cli import main
from hwgen.frontend import load_graph
from hwgen.ir.ops import LSTMAttrs
from tests.cli.models import lstm_model


def test_tvm_onnx_frontend_rejects_lstm_that_hwgen_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tvm
    from tvm.relax.frontend.onnx import from_onnx

    path = lstm_model(tmp_path / "lstm.onnx", hidden=8, ternary=True)
    with pytest.raises(tvm.error.OpNotImplemented, match="LSTM"):
        from_onnx(onnx.load(path))

    graph = load_graph(path)
    (lstm,) = list(graph.nodes_of(LSTMAttrs))
    assert lstm.attrs.hidden == 8
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "LSTM" in out and "ternary" in out
