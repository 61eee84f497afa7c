"""Per-step outputs streamed by a board: a tiny char-LM (the real charlm vocabulary and one-hot encoding) in the
Verilator host simulation of the whole board top, driven by the pyserial host driver over a pty."""

import json
import struct

import numpy as np
import pytest

from hwgen.errors import HwgenError
from hwgen.fpga.board_run import board_session, load_build
from hwgen.fpga.generate import Sampling, generate, reference_stepper, run_generation
from hwgen.fpga.protocol import PROTOCOL_VERSION, DeviceInfo, StreamMode
from tests.fpga.charlm import board_folder, train_tiny_charlm

STEPS_PER_RUN = 4  # the output buffer holds 4 steps' logits: whole sequences of <= 4 steps in one RUN


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return train_tiny_charlm(tmp_path_factory.mktemp("charlm"))


@pytest.fixture(scope="module")
def folder(lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    board_folder(lm, out, output_depth=STEPS_PER_RUN * lm.model.output_size)
    return out


@pytest.fixture(scope="module")
def device(folder):
    with board_session(folder) as dev:  # no port: the host simulation, weights uploaded over the link
        yield dev


@pytest.fixture(scope="module")
def config(folder, lm):
    from hwgen.fpga.flow import design_from_manifest

    return design_from_manifest(folder, load_build(folder)).config


def codes(lm, text: str) -> np.ndarray:
    return lm.model.quantize_input(np.eye(len(lm.vocab.symbols))[lm.vocab.encode(text)])


def test_the_build_and_the_device_say_they_stream_logits(device, folder, lm):
    meta = json.loads((folder / "fpga.json").read_text())
    assert meta["protocol"] == PROTOCOL_VERSION and meta["stream"] == "logits"
    info = device.info()
    assert info.mode == StreamMode.LOGITS and info.step_outputs == lm.model.output_size == len(lm.vocab.symbols)


def test_the_vocabulary_and_encoding_are_the_charlm_trainers(lm):
    from hwgen.quant.checkpoint import load_checkpoint
    from hwgen.quant.data import corpus_from_bytes
    from tests.fpga.charlm import CORPUS, SEQ_LEN

    assert lm.vocab.symbols == load_checkpoint(lm.run).vocab
    np.testing.assert_array_equal(lm.vocab.encode("the cat"), corpus_from_bytes(CORPUS, SEQ_LEN).encode(b"the cat"))


def test_whole_sequences_in_one_run_bit_exact_at_the_expected_cycles(device, lm, config):
    for steps in (1, 3, STEPS_PER_RUN):
        x = codes(lm, "a dog ran"[:steps])
        y, result = device.infer(x)
        np.testing.assert_array_equal(y, lm.model.run(x).reshape(-1))
        assert result.cycles == config.expected_cycles(steps)


def test_every_step_streams_its_logits_as_the_sequence_runs(device, lm, config):
    """One step per RUN: each RUN returns that step's logits, equal to the reference's row for the step; a non-final
    RUN ends two cycles after its last output (the engine's end test reads registered step counts)."""
    x = codes(lm, "the mat.")
    want = lm.model.run(x)
    for t in range(len(x)):
        final = t == len(x) - 1
        y, result = device.step(x[t], final)
        np.testing.assert_array_equal(y, want[t])
        assert result.cycles == config.expected_cycles(1) + (0 if final else 2)


def test_a_sequence_longer_than_a_run_goes_in_whole_steps(device, lm, config):
    x = codes(lm, "the cat s")  # 9 steps: RUNs of 4, 4, 1
    y, result = device.infer(x)
    np.testing.assert_array_equal(y, lm.model.run(x).reshape(-1))
    assert result.cycles == 2 * (config.expected_cycles(STEPS_PER_RUN) + 2) + config.expected_cycles(1)


@pytest.mark.parametrize("sampling", [Sampling(0.0), Sampling(0.8, seed=3)])
def test_generated_text_equals_the_reference_generators(folder, lm, sampling):
    got = generate(folder, "the ", 10, sampling=sampling)
    model = lm.model
    want = run_generation(model, StreamMode.LOGITS, lm.vocab, "the ", 10, sampling,
                          reference_stepper(model, StreamMode.LOGITS))
    assert got.text == want.text and len(got.text) == 10
    np.testing.assert_array_equal(got.outputs, want.outputs)
    assert got.bit_exact and got.outputs.shape == (4 + 10 - 1, model.output_size)
    # the fed-back inputs are the prompt and the generated characters but the last
    np.testing.assert_array_equal(got.inputs, codes(lm, "the " + got.text[:-1]))


def test_bad_requests_are_refused_before_any_simulation(folder, lm, tmp_path):
    with pytest.raises(HwgenError, match="outside the model's vocabulary: 'X' 'Z'"):
        generate(folder, "XZ the", 3)
    with pytest.raises(HwgenError, match="--chars 0"):
        generate(folder, "the", 0)
    with pytest.raises(HwgenError, match="--prompt is empty"):
        generate(folder, "", 3)
    with pytest.raises(HwgenError, match="--temperature -1"):
        Sampling(-1.0)
    with pytest.raises(HwgenError, match="no vocabulary.*--vocab"):
        generate(folder, "the", 3, vocab=tmp_path)


def test_old_hosts_and_old_builds_are_refused_clearly(folder, tmp_path):
    info = DeviceInfo(8, 19, 8, 64, 64, 512, StreamMode.LOGITS, 16)
    v1 = struct.pack("<4sBBBBHHI", b"HWGN", 1, 8, 19, 8, 64, 64, 512)  # what a version-1 bitstream answers
    with pytest.raises(ValueError, match="protocol version 1 and this host speaks version 2; rebuild"):
        DeviceInfo.unpack(v1)
    # a version-1 host checks the INFO length first: version 2's is longer, so it refuses the new bitstream
    assert len(info.pack()) != struct.calcsize("<4sBBBBHHI") and info.pack()[4] == 2
    meta = json.loads((folder / "fpga.json").read_text())
    meta.pop("protocol")  # a folder built before streaming
    old = tmp_path / "old"
    old.mkdir()
    (old / "fpga.json").write_text(json.dumps(meta))
    with pytest.raises(HwgenError, match="protocol version 1.*rebuild"):
        load_build(old)


def test_stream_options_are_checked(lm):
    from hwgen.fpga.flow import design_for
    from hwgen.fpga.options import BoardOptions
    from hwgen.hw.synthetic import random_stack
    from hwgen.passes.lower_fixed_point import lower_stack
    from hwgen.rtl.options import OptionsError

    with pytest.raises(OptionsError, match="stream 'sampled' is not one of logits, argmax"):
        BoardOptions(board="icebreaker", stream="sampled")
    classifier = lower_stack(random_stack(8, 4, classes=3, kind="ternary", seed=3))
    with pytest.raises(HwgenError, match="--stream argmax: the model outputs after its last step only"):
        design_for(classifier, "icebreaker", stream="argmax")
    assert design_for(lm.model, "icebreaker").stream == StreamMode.LOGITS  # a char-LM streams by default
