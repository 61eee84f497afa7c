"""The surprisal-gated pair on a board: `hwgen build small.onnx --gated-with big.onnx --target fpga`, both weight
sets in block RAM behind the UART host link, run in the Verilator host simulation of the whole board top. Every
step's beats (decision, logits used, small logits) are the gated reference's, each step takes the gate's exact
cycles, and `hwgen generate` feeds the picked characters back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.fpga.board_run import board_session
from hwgen.fpga.generate import VOCAB_FILE, Sampling, Vocabulary, generate
from hwgen.fpga.gated_board import gated_design, gated_design_from_manifest
from hwgen.fpga.options import BoardOptions
from hwgen.frontend import load_graph
from hwgen.rtl.options import AccelOptions, GateOptions, OptionsError
from tests.rtl.test_gated import VOCAB, _cases, pair_files  # noqa: F401  (the module's tiny exported pair)

SYMBOLS = b"abcde"


@pytest.fixture(scope="module")
def folder(pair_files, tmp_path_factory):  # noqa: F811
    _, s_path, b_path, _ = pair_files
    design = gated_design(load_graph(s_path), AccelOptions(), BoardOptions(board="icebreaker"),
                          GateOptions(gated_with=b_path))
    out = tmp_path_factory.mktemp("gatedboard")
    design.write_run_files(out)
    Vocabulary(SYMBOLS).save(out / VOCAB_FILE)
    return out


def test_the_run_files_describe_the_pair_with_weights_in_block_ram(folder, pair_files):  # noqa: F811
    *_, pair = pair_files
    meta = json.loads((folder / "fpga.json").read_text())
    assert meta["kind"] == "surprisal_gated" and meta["stream"] == "logits" and meta["weights"] is None
    design = gated_design_from_manifest(folder, meta)
    cfg = design.config
    assert cfg.threshold == pair.threshold and cfg.small.weight_memory == cfg.big.weight_memory == "ebr"
    # the UP5K's logic and 8 DSPs shared: two codes a cycle each, one head lane each (3 + 3 + 1 + 1 DSPs)
    assert (cfg.small.lanes, cfg.big.lanes, cfg.small.head_lanes, cfg.big.head_lanes) == (2, 2, 1, 1)
    assert meta["device_info"]["step_outputs"] == 1 + 2 * VOCAB and meta["device_info"]["input_depth"] == 512


def test_every_step_on_the_simulated_board_is_the_gated_reference_at_its_cycles(folder, pair_files):  # noqa: F811
    *_, pair = pair_files
    cfg = gated_design_from_manifest(folder, json.loads((folder / "fpga.json").read_text())).config
    with board_session(folder) as dev:
        for ids in _cases(pair):  # skips inside, a skipped end then another sequence, one step, all big
            want, run = cfg.reference(ids[:, 0][None])
            for t, i in enumerate(ids[:, 0]):
                final = t == len(ids) - 1
                beats, result = dev.step(np.array([i]), final)
                np.testing.assert_array_equal(beats, want[0, t])
                assert result.cycles == cfg.expected_cycles(run.big_ran[0, t:t + 1]) + (0 if final else 2)


def test_generate_feeds_the_picked_characters_back_bit_exactly(folder, pair_files):  # noqa: F811
    *_, pair = pair_files
    got = generate(folder, "abca", 12, sampling=Sampling(0.9, seed=4))
    assert got.bit_exact and len(got.text) == 12 and got.outputs.shape == (4 + 12 - 1, 1 + 2 * VOCAB)
    decisions = got.outputs[:, 0]
    assert decisions[0] == 1 and set(decisions) <= {0, 1}
    # the text is what the gated reference itself generates with the same sampler
    ids = [SYMBOLS.index(c) for c in b"abca"]
    sample, scales = Sampling(0.9, seed=4).picker(), (pair.small.output_scale, pair.big.output_scale)
    for t in range(len(got.outputs)):
        beats = pair.run(np.array(ids[:t + 1])[None])
        used = np.where(beats.big_ran[0, t], beats.big[0, t], beats.small[0, t])
        if t >= 3:
            ids.append(sample(used, scales[int(beats.big_ran[0, t])]))
    assert got.text == bytes(SYMBOLS[i] for i in ids[4:]).decode()


def test_gated_board_requests_that_cannot_work_are_refused(folder, pair_files, tmp_path, capsys):  # noqa: F811
    _, s_path, b_path, _ = pair_files
    with pytest.raises(OptionsError, match="--stream argmax is for a single char-LM"):
        gated_design(load_graph(s_path), AccelOptions(), BoardOptions(board="icebreaker", stream="argmax"),
                     GateOptions(gated_with=b_path))
    with pytest.raises(OptionsError, match="no SPRAM upload port"):
        gated_design(load_graph(s_path), AccelOptions(weight_memory="spram"), BoardOptions(board="icebreaker"),
                     GateOptions(gated_with=b_path))
    with pytest.raises(OptionsError, match="board icebreaker is an ice40 board"):
        gated_design(load_graph(s_path), AccelOptions(device="ecp5"), BoardOptions(board="icebreaker"),
                     GateOptions(gated_with=b_path))
    with pytest.raises(HwgenError, match="not this pair's vocabulary"):
        generate(folder, "ab", 3, vocab=Vocabulary(b"abcdef").save(tmp_path / "v.json"))
    np.save(tmp_path / "x.npy", np.zeros((3, VOCAB), np.float32))
    assert main(["run", "--device", "/dev/null", str(folder), "--input", str(tmp_path / "x.npy")]) == 2
    assert "surprisal-gated pair" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_builds_the_gated_pair_into_a_bitstream_and_generates_from_it(pair_files, tmp_path, capsys):  # noqa: F811
    _, s_path, b_path, _ = pair_files
    out = tmp_path / "out"
    assert main(["build", str(s_path), "--gated-with", str(b_path), "--target", "fpga", "--board", "icebreaker",
                 "-o", str(out)]) == 0  # the default lanes: two a cycle each (PAIR_PRODUCTS), one head lane each
    meta = json.loads((out / "fpga.json").read_text())
    assert (out / meta["bitstream"]).exists() and json.loads((out / "report.json").read_text())["timing"] == "met"
    assert "surprisal-gated pair" in (out / "report.txt").read_text()
    Vocabulary(SYMBOLS).save(out / VOCAB_FILE)
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "abc", "--chars", "6"]) == 0
    assert "bit-exact with the integer reference" in capsys.readouterr().out
