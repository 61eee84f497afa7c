"""`hwgen build --target fpga` argument errors and `hwgen run --device` against the simulated board."""

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.fpga.flow import write_run_files
from hwgen.hw.synthetic import write_onnx


@pytest.fixture(scope="module")
def big_onnx(tmp_path_factory):
    return write_onnx(tmp_path_factory.mktemp("m") / "big.onnx", 320, 256, steps=2, classes=4)


def test_build_needs_a_board(tmp_path, capsys):
    onnx_path = write_onnx(tmp_path / "m.onnx", 8, 4, steps=2, classes=3)
    assert main(["build", str(onnx_path), "--target", "fpga", "-o", str(tmp_path / "out")]) == 2
    assert "--board" in capsys.readouterr().err


def test_model_too_large_for_the_board(big_onnx, tmp_path, capsys):
    code = main(["build", str(big_onnx), "--target", "fpga", "--board", "icebreaker", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "SPRAM" in err and "hidden=256" in err


def test_run_device_not_a_build_folder(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    code = main(["run", "--device", "/dev/null", str(tmp_path), "--input", str(tmp_path / "x.npy")])
    assert code == 2 and "fpga.json" in capsys.readouterr().err


def test_run_device_on_simulated_board(sim_board, small_design, small_model, tmp_path, capsys):
    write_run_files(small_design, tmp_path / "build")
    x = np.random.default_rng(1).uniform(-1, 1, (3, 5, small_model.input_size)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = main(["run", "--device", sim_board.port, str(tmp_path / "build"), "--input", str(tmp_path / "x.npy"),
                 "-o", str(tmp_path / "y.npy")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "bit-exact" in out
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, small_model.run(small_model.quantize_input(x)).reshape(3, -1))
