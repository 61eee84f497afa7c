"""Every way a user can hand hwgen a bad model or input: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.errors import HwgenError
from tests.cli import models


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith(f"hwgen {argv[0]}: error: ")
    return err


@pytest.fixture
def lstm_file(tmp_path: Path) -> Path:
    return models.lstm_model(tmp_path / "lstm.onnx")


def test_missing_empty_text_and_truncated_files(tmp_path: Path, lstm_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert "no such file" in _fails(capsys, ["inspect", str(tmp_path / "absent.onnx")])
    (tmp_path / "empty.onnx").write_bytes(b"")
    assert "file is empty" in _fails(capsys, ["inspect", str(tmp_path / "empty.onnx")])
    (tmp_path / "notes.onnx").write_text("this is a text file, not a model\n")
    assert "not a readable ONNX model" in _fails(capsys, ["run", str(tmp_path / "notes.onnx"), "--input", "x.npy"])
    data = lstm_file.read_bytes()
    for cut in (7, len(data) // 3, len(data) // 2, len(data) - 5):
        (tmp_path / "cut.onnx").write_bytes(data[:cut])
        msg = _fails(capsys, ["inspect", str(tmp_path / "cut.onnx")])
        assert "cut.onnx" in msg and ("truncated" in msg or "not an ONNX model" in msg or "opset" in msg)
    assert "is a directory" in _fails(capsys, ["inspect", str(tmp_path)])


def test_opset_too_old(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    msg = _fails(capsys, ["inspect", str(models.old_opset_model(tmp_path / "old.onnx"))])
    assert "opset 6 is too old" in msg and "opset 7 and newer" in msg


def test_unsupported_ops_are_listed_at_once_with_nodes_and_the_supported_list(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    msg = _fails(capsys, ["inspect", str(models.unsupported_model(tmp_path / "u.onnx"))])
    assert "Conv (nodes: conv1, conv2)" in msg and "TopK (nodes: topk)" in msg
    assert "Supported:" in msg and "LSTM" in msg and "Relu" in msg


def test_inconsistent_shapes_name_the_node(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    msg = _fails(capsys, ["inspect", str(models.mismatched_matmul_model(tmp_path / "bad.onnx"))])
    assert "'proj' (MatMul)" in msg and "inner dimensions differ" in msg and "f32[2, 8]" in msg and "f32[5, 3]" in msg


@pytest.mark.parametrize("attrs,expected", [
    ({"activations": ["Sigmoid", "Relu", "Tanh"]}, "activations ['Sigmoid', 'Relu', 'Tanh'] are not supported"),
    ({"input_forget": 1}, "input_forget=1"),
    ({"activation_alpha": [0.5]}, "activation_alpha"),
])
def test_lstm_features_rejected_by_name(tmp_path: Path, capsys, attrs, expected) -> None:  # type: ignore[no-untyped-def]
    msg = _fails(capsys, ["inspect", str(models.lstm_model(tmp_path / "l.onnx", **attrs))])
    assert expected in msg and "'lstm' (LSTM)" in msg


def _lstm_with_extra_input(tmp_path: Path, index: int, name: str, value: np.ndarray | None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path = models.lstm_model(tmp_path / "l.onnx", seq=5, batch=1)
    model = onnx.load(path)
    lstm = next(n for n in model.graph.node if n.op_type == "LSTM")
    while len(lstm.input) <= index:
        lstm.input.append("")
    lstm.input[index] = name
    if value is None:
        model.graph.input.append(helper.make_tensor_value_info(name, TensorProto.INT32, [1]))
    else:
        model.graph.initializer.append(numpy_helper.from_array(value, name))
    onnx.save(model, path)
    return path


def test_lstm_peepholes_and_variable_sequence_lengths_rejected(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    peep = _lstm_with_extra_input(tmp_path, 7, "P", np.ones((1, 12), np.float32))
    assert "peephole" in _fails(capsys, ["inspect", str(peep)])
    lens = _lstm_with_extra_input(tmp_path, 4, "lens", None)
    assert "variable-length sequences are not supported" in _fails(capsys, ["inspect", str(lens)])
    short = _lstm_with_extra_input(tmp_path, 4, "lens", np.asarray([3], np.int32))
    assert "sequence_lens" in _fails(capsys, ["inspect", str(short)])
    full = _lstm_with_extra_input(tmp_path, 4, "lens", np.asarray([5], np.int32))
    assert main(["inspect", str(full)]) == 0


def test_run_rejects_wrong_input_shape_dtype_and_names(tmp_path: Path, lstm_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "bad.npy", np.zeros((5, 2, 3), np.float32))
    msg = _fails(capsys, ["run", str(lstm_file), "--input", str(tmp_path / "bad.npy")])
    assert "input 'X' has shape [5, 2, 3], the model expects [5, 1, 3]" in msg
    np.save(tmp_path / "int.npy", np.zeros((5, 1, 3), np.int64))
    assert "dtype int64" in _fails(capsys, ["run", str(lstm_file), "--input", str(tmp_path / "int.npy")])
    assert "no such input file" in _fails(capsys, ["run", str(lstm_file), "--input", str(tmp_path / "none.npy")])
    (tmp_path / "junk.npy").write_text("junk")
    assert "not a readable .npy" in _fails(capsys, ["run", str(lstm_file), "--input", str(tmp_path / "junk.npy")])
    assert "no --input given" in _fails(capsys, ["run", str(lstm_file)])
    two = models.two_input_model(tmp_path / "two.onnx")
    np.save(tmp_path / "a.npy", np.zeros((2, 3), np.float32))
    assert "use --input NAME=FILE" in _fails(capsys, ["run", str(two), "--input", str(tmp_path / "a.npy")])
    assert "has no input 'c'" in _fails(capsys, ["run", str(two), "--input", f"c={tmp_path / 'a.npy'}"])
    assert "missing input(s): b" in _fails(capsys, ["run", str(two), "--input", f"a={tmp_path / 'a.npy'}"])


def test_console_script_exit_code_and_debug_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("hwgen")
    missing = str(tmp_path / "absent.onnx")
    plain = subprocess.run([str(exe), "inspect", missing], capture_output=True, text=True)
    assert plain.returncode == 2 and plain.stdout == ""
    assert plain.stderr.strip() == f"hwgen inspect: error: {missing}: no such file"
    with pytest.raises(HwgenError, match="no such file"):  # --debug lets the error (and its traceback) through
        main(["--debug", "inspect", missing])


def test_external_weight_data_is_read_and_its_absence_reported(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import onnx
    from onnx.external_data_helper import convert_model_to_external_data

    model = onnx.load(models.lstm_model(tmp_path / "inline.onnx"))
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    (tmp_path / "ext").mkdir()
    onnx.save(model, tmp_path / "ext" / "m.onnx")
    assert main(["inspect", str(tmp_path / "ext" / "m.onnx")]) == 0
    assert "LSTM" in capsys.readouterr().out
    (tmp_path / "ext" / "weights.bin").unlink()
    assert "external weight data" in _fails(capsys, ["inspect", str(tmp_path / "ext" / "m.onnx")])
