"""`hwgen generate` and `hwgen run --device` on a char-LM board build, in the host simulation of the whole board
top: the printed text and per-step outputs, and bad input (exit 2)."""

from pathlib import Path

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.fpga.board_run import load_build
from hwgen.fpga.generate import Sampling, reference_stepper, run_generation
from hwgen.fpga.hostsim import simulate_build
from hwgen.fpga.protocol import StreamMode
from tests.fpga.charlm import board_folder, train_tiny_charlm


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return train_tiny_charlm(tmp_path_factory.mktemp("charlm"))


@pytest.fixture(scope="module")
def folder(lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    board_folder(lm, out, output_depth=4 * lm.model.output_size, with_vocab=False)  # test_stream's design
    return out


def test_generate_prints_the_reference_generators_text(folder, lm, capsys):
    args = ["generate", str(folder), "--prompt", "the ", "--chars", "6", "--temperature", "0.7", "--seed", "5",
            "--vocab", str(lm.run)]  # the training run folder: the vocabulary from its checkpoint
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    want = run_generation(lm.model, StreamMode.LOGITS, lm.vocab, "the ", 6, Sampling(0.7, 5),
                          reference_stepper(lm.model, StreamMode.LOGITS))
    assert out[0] == "the " + want.text
    assert out[1] == "9 steps on the host simulation: bit-exact with the integer reference"


def test_run_device_prints_every_steps_output(folder, lm, tmp_path, capsys):
    x = lm.model.quantize_input(np.eye(len(lm.vocab.symbols))[lm.vocab.encode("a cat")])
    np.save(tmp_path / "x.npy", x)
    with simulate_build(folder, load_build(folder)) as board:  # a pty that behaves like the board's serial port
        assert main(["run", str(folder), "--device", board.port, "--input", str(tmp_path / "x.npy"),
                     "-o", str(tmp_path / "y.npy")]) == 0
    out = capsys.readouterr().out
    want = lm.model.run(x)
    for t in range(5):
        assert f"step {t}: argmax {want[t].argmax()} (logit {want[t].max()})" in out
    assert "bit-exact with the reference" in out
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), want[None])


@pytest.mark.parametrize("extra, message", [
    (["--prompt", "the Q", "--chars", "3"], "outside the model's vocabulary: 'Q'"),
    (["--prompt", "the", "--chars", "0"], "--chars 0: generate at least 1"),
    (["--prompt", "the", "--chars", "3"], "no vocabulary"),  # the folder has no vocab.json and no --vocab
])
def test_bad_input_exits_2(folder, lm, extra, message, capsys):
    vocab = [] if message == "no vocabulary" else ["--vocab", str(lm.run)]
    assert main(["generate", str(folder), *extra, *vocab]) == 2
    assert message in capsys.readouterr().err


def test_a_per_sequence_build_is_refused(tmp_path: Path, capsys):
    from hwgen.fpga.flow import design_for, write_run_files
    from hwgen.fpga.generate import Vocabulary
    from hwgen.hw.synthetic import random_stack
    from hwgen.passes.lower_fixed_point import lower_stack

    model = lower_stack(random_stack(8, 4, classes=4, kind="ternary", seed=3))  # a classifier: last step only
    write_run_files(design_for(model, "icebreaker", input_words=32), tmp_path)
    Vocabulary(b"abcd").save(tmp_path / "vocab.json")
    assert main(["generate", str(tmp_path), "--prompt", "ab", "--chars", "2"]) == 2
    assert "one output burst per sequence" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "nowhere"), "--prompt", "ab", "--chars", "2"]) == 2
    assert "not an FPGA build folder" in capsys.readouterr().err
