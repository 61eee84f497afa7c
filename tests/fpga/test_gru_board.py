"""GRUs on boards: the board fit, run files and the whole board top (UART, frame engine, SPRAM upload, the GRU
accelerator) in the Verilator host simulation, bit-exact against `IntegerGRUModel` at the expected cycles, for a
classifier from a foreign-style ONNX file and for a trained char-LM streaming its logits step by step."""

import json

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.fpga.api import design
from hwgen.fpga.board_run import board_session
from hwgen.fpga.boards import get_board
from hwgen.fpga.driver import Device
from hwgen.fpga.fit import preferred_lanes, weight_bits
from hwgen.fpga.flow import block_ram_uses, design_for, design_from_manifest, write_run_files
from hwgen.fpga.generate import Sampling, generate, reference_stepper, run_generation
from hwgen.fpga.options import BoardOptions
from hwgen.fpga.protocol import StreamMode
from hwgen.frontend import load_graph
from hwgen.hw.synthetic import random_gru_stack, write_onnx
from hwgen.model.gru import IntegerGRUModel
from hwgen.passes.lower_gru import lower_gru
from hwgen.rtl.options import AccelOptions
from tests.fpga.charlm import board_folder, train_tiny_charlm
from tests.fpga.conftest import SIM_DIVISOR


@pytest.mark.parametrize("hidden, inputs, layers, board", [
    (48, 37, 1, "icebreaker"),   # odd input: lanes do not divide it
    (24, 130, 2, "icebreaker"),  # input wider than hidden, two layers
    (40, 21, 1, "ulx3s-85f"),    # weights in block RAM
])
def test_foreign_gru_onnx_gets_a_board_design_and_manifest(tmp_path, hidden, inputs, layers, board):
    path = write_onnx(tmp_path / "gru.onnx", hidden, inputs, steps=3, layers=layers, classes=10, seed=hidden, cell="gru")
    fpga = design(load_graph(path), AccelOptions(), BoardOptions(board=board))
    config = fpga.config
    assert config.cell == "gru" and config.gate_rows == 1  # a GRU word holds one gate row
    assert (config.hidden, config.input, config.layers, config.outputs) == (hidden, inputs, layers, 10)
    assert config.acc_bits >= fpga.model.accumulator_bits()
    assert sum(u.blocks for u in block_ram_uses(fpga)) <= get_board(board).resource("EBR").capacity
    assert config.lanes <= preferred_lanes(get_board(board), "ternary",
                                           weight_bits(hidden, inputs, layers, "ternary", "gru"))
    out = tmp_path / "out"
    manifest = json.loads(write_run_files(fpga, out).read_text())
    assert manifest["accelerator"]["cell"] == "gru" and manifest["cycles_per_step"] == config.cycles_per_step()
    again = design_from_manifest(out, manifest)  # what `hwgen run --device` and the host simulation read back
    assert isinstance(again.model, IntegerGRUModel) and again.config == config
    if config.weight_memory == "spram":
        assert len(np.load(out / "weights.npy")) == config.weight_words


def test_gru_weights_take_three_quarters_of_the_lstms():
    assert 4 * weight_bits(64, 20, 2, "ternary", "gru") == 3 * weight_bits(64, 20, 2, "ternary")


def test_a_gru_too_large_for_the_board_names_the_largest_gru_that_fits(tmp_path, capsys):
    path = write_onnx(tmp_path / "big.onnx", 320, 256, steps=2, classes=4, cell="gru")
    assert main(["build", str(path), "--target", "fpga", "--board", "icebreaker", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "ternary GRU (hidden 320" in err and "the largest ternary GRU with input 256" in err and "SPRAM" in err


def test_gate_rows_4_is_refused_for_a_gru_board_build_by_name(tmp_path, capsys):
    path = write_onnx(tmp_path / "gru.onnx", 8, 4, steps=2, classes=2, cell="gru")
    assert main(["build", str(path), "--target", "fpga", "--board", "icebreaker", "--gate-rows", "4",
                 "-o", str(tmp_path / "o")]) == 2
    assert "gate_rows=4 is for LSTMs" in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def gru_classifier():
    model = lower_gru(random_gru_stack(8, 4, classes=3, kind="ternary", seed=5))
    return model, design_for(model, "icebreaker", input_words=32)


def test_gru_classifier_on_the_simulated_board_is_bit_exact_at_the_expected_cycles(gru_classifier):
    from hwgen.fpga.hostsim import simulate

    model, fpga = gru_classifier
    rng = np.random.default_rng(11)
    with simulate(fpga.link(simulate=True, divisor=SIM_DIVISOR)) as board, Device(board.port, timeout=20) as dev:
        dev.write_weights(fpga.weight_words())
        for steps in (1, 5):
            x = model.quantize_input(rng.uniform(-2, 2, (steps, model.input_size)))
            y, result = dev.infer(x)
            np.testing.assert_array_equal(y, model.run(x).reshape(-1))
            assert result.cycles == fpga.config.expected_cycles(steps)
        steps = 3 * fpga.input_depth // model.input_size - 2  # three input-buffer chunks, the last one short
        x = model.quantize_input(rng.uniform(-2, 2, (steps, model.input_size)))
        np.testing.assert_array_equal(dev.infer(x)[0], model.run(x).reshape(-1))


@pytest.fixture(scope="module")
def gru_lm(tmp_path_factory):
    return train_tiny_charlm(tmp_path_factory.mktemp("grulm"), cell="gru")


@pytest.fixture(scope="module")
def gru_lm_folder(gru_lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("gruboard")
    board_folder(gru_lm, out)
    return out


def test_gru_charlm_streams_each_steps_logits(gru_lm, gru_lm_folder):
    lm = gru_lm
    assert isinstance(lm.model, IntegerGRUModel) and lm.model.output_steps == "every_step"
    x = lm.model.quantize_input(np.eye(len(lm.vocab.symbols))[lm.vocab.encode("the mat")])
    want = lm.model.run(x)
    config = design_from_manifest(gru_lm_folder, json.loads((gru_lm_folder / "fpga.json").read_text())).config
    with board_session(gru_lm_folder) as dev:  # no port: the host simulation, weights uploaded over the link
        for t in range(len(x)):
            final = t == len(x) - 1
            y, result = dev.step(x[t], final)
            np.testing.assert_array_equal(y, want[t])
            assert result.cycles == config.expected_cycles(1) + (0 if final else 2)


def test_gru_charlm_generates_the_reference_text(gru_lm, gru_lm_folder):
    sampling = Sampling(0.8, seed=2)
    got = generate(gru_lm_folder, "the ", 8, sampling=sampling)
    want = run_generation(gru_lm.model, StreamMode.LOGITS, gru_lm.vocab, "the ", 8, sampling,
                          reference_stepper(gru_lm.model, StreamMode.LOGITS))
    assert got.bit_exact and got.text == want.text and len(got.text) == 8
    np.testing.assert_array_equal(got.outputs, want.outputs)
