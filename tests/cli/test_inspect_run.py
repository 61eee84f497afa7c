"""`hwgen inspect` and `hwgen run` on good models: what they print and write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from hwgen.cli import main
from hwgen.frontend.registry import coverage
from tests.cli import models
from tests.frontend.onnx_helpers import ort_run


def test_inspect_shows_ops_shapes_parameters_weight_kinds_and_targets(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = models.lstm_model(tmp_path / "m.onnx", hidden=8, inp=3, ternary=True)
    assert main(["inspect", str(path), "--ir", "--dump-ir", str(tmp_path / "ir")]) == 0
    out = capsys.readouterr().out
    params = 32 * 3 + 32 * 8 + 64 + 16 + 2 + 2 * 32  # W, R codes, B, fc_w, fc_b, two per-row scales
    assert f"{params:,} parameters" in out
    assert "f32[5, 1, 3]" in out and "f32[1, 2]" in out
    for op in ("LSTM", "Dequantize", "Gemm", "Squeeze"):
        assert f"│ {op}" in out
    assert out.count("ternary") >= 2 and "per-axis 1 [32]" in out
    assert "targets" in out
    assert "= LSTM[hidden=8" in out  # --ir
    assert (tmp_path / "ir" / "00-import.ir").read_text().startswith("graph lstm_clf(")


def test_inspect_ops_prints_the_coverage_table(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["inspect", "--ops"]) == 0
    out = capsys.readouterr().out
    for row in coverage():
        assert row.op_type in out
    assert "qonnx.custom_op.general" in out and "LayerNormalization" in out and "17+" in out
    assert main(["inspect"]) == 2
    assert "--ops" in capsys.readouterr().err


def test_run_writes_the_interpreter_output(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = models.lstm_model(tmp_path / "m.onnx", hidden=6, inp=3, seq=5, batch=2)
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(path), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
                 "--dump-ir", str(tmp_path / "ir")]) == 0
    assert "logits: float32[2, 2]" in capsys.readouterr().out
    assert "= LSTM[hidden=6" in (tmp_path / "ir" / "00-import.ir").read_text()
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ort_run(onnx.load(path), {"X": x})[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("named", [True, False])
def test_run_with_several_inputs_by_name(tmp_path: Path, named: bool, capsys) -> None:  # type: ignore[no-untyped-def]
    path = models.two_input_model(tmp_path / "two.onnx")
    a, b = np.ones((2, 3), np.float32), -2 * np.eye(2, 3, dtype=np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    specs = [f"a={tmp_path / 'a.npy'}", f"b={tmp_path / 'b.npy'}"] if named else [str(tmp_path / "a.npy")]
    argv = ["run", str(path)] + [arg for s in specs for arg in ("--input", s)] + ["-o", str(tmp_path / "y.npy")]
    if not named:
        assert main(argv) == 2
        return
    assert main(argv) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.maximum(a + b, 0))


def test_dynamic_axes_export_runs_with_the_input_shapes(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A torch export with dynamic batch/time: `run` takes the sizes from the arrays, `inspect` from --shape."""
    import torch

    from tests.frontend.torch_export import export_dynamic

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 6, num_layers=2, batch_first=True)
    path = export_dynamic(lstm, torch.randn(2, 5, 4), tmp_path / "dyn.onnx", {"x": {0: "batch", 1: "time"}})
    x = np.random.default_rng(1).standard_normal((3, 7, 4)).astype(np.float32)  # not the export's sizes
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(path), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "out.npz")]) == 0
    out = np.load(tmp_path / "out.npz")
    for name, ref in zip(("y", "h", "c"), ort_run(onnx.load(path), {"x": x})):
        np.testing.assert_allclose(out[name], ref, rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    assert main(["inspect", str(path)]) == 0  # symbolic batch and time stay symbolic (the zero state follows the batch)
    assert "f32[batch, time, 4]" in capsys.readouterr().out
    assert main(["inspect", str(path), "--shape", "1,9,4"]) == 0
    assert "f32[1, 9, 6]" in capsys.readouterr().out
    for bad, message in (("1,9,5", "the model expects ['batch', 'time', 4]"), ("1,x,4", "must be integers"),
                         ("z=1,9,4", "no input(s) 'z'")):
        assert main(["inspect", str(path), "--shape", bad]) == 2
        assert message in capsys.readouterr().err
