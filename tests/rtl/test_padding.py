"""`hwgen build --target rtl` of a char-LM whose vocabulary lanes do not divide (hwgen.quant's own export):
it builds with the widest lanes that divide hidden, the input zero-padded inside the accelerator."""

import json
import re

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.rtl.artifact import load
from hwgen.hw.config import AccelConfig
from hwgen.rtl.options import RTL_PREFERRED_LANES
from tests.rtl.exported import export_perturbed


@pytest.fixture(scope="module")
def odd_vocab(tmp_path_factory):
    root = tmp_path_factory.mktemp("oddvocab")
    vocab = 11
    path = export_perturbed(root / "lm.onnx", "charlm", vocab, hidden=8, layers=1, outputs=vocab)
    x = np.eye(vocab, dtype=np.float32)[np.random.default_rng(0).integers(0, vocab, (4, 5))]  # one-hot characters
    np.save(root / "x.npy", x)
    out = root / "out"
    assert main(["build", str(path), "--target", "rtl", "-o", str(out), "--calibrate", str(root / "x.npy")]) == 0
    return out


def test_odd_vocab_builds_with_more_than_one_lane(odd_vocab, capsys):
    art = load(odd_vocab)
    manifest = json.loads((odd_vocab / "manifest.json").read_text())
    assert art.config.lanes == 8 and art.config.output_steps == "every_step"
    assert manifest["input"]["size"] == manifest["input"]["beats_per_step"] == 11 and manifest["input"]["padded"] == 16
    weights = next(m for m in manifest["memories"] if m["name"] == "weights")
    assert weights["depth"] == 4 * 8 * (2 + 1)  # ceil(11 / 8) + 8 / 8 chunks per row
    assert manifest["cycles"]["per_sequence"] == art.config.expected_cycles(art.inputs().shape[1])
    assert manifest["cycles"]["ideal_per_step"] == 4 * 8 * (11 + 8) / 8  # useful work: pad columns excluded
    np.testing.assert_array_equal(art.model.run(art.inputs()), art.expected())


def test_vector_memory_starts_all_zero_so_pad_slots_read_0(odd_vocab):
    """The pad slots are never written: their value is the memory's initial contents (Verilog `initial`, the
    FPGA block RAM's init), which must be 0 for every word."""
    text = (odd_vocab / "hwgen_accel.v").read_text()
    inits = re.findall(r"^\s*vmem\[(\d+)\] = \d+'h([0-9a-f]+);", text, re.M)
    depth = 2 * 2 + 2 * 1  # two x banks of 2 chunks, two h banks of 1
    assert sorted(int(i) for i, _ in inits) == list(range(depth))
    assert all(int(v, 16) == 0 for _, v in inits)


@pytest.mark.parametrize("hidden,inputs,lanes", [(16, 99, 8), (8, 1, 8), (12, 99, 6), (6, 7, 6), (5, 99, 5), (1, 1, 1),
                                                 (64, 99, 8), (24, 3, 8)])
def test_default_lanes_follow_hidden_only(hidden, inputs, lanes):
    """The rtl default: the most lanes up to 8 that divide hidden, whatever the (zero-padded) input size."""
    def make(n: int) -> AccelConfig:
        return AccelConfig(hidden=hidden, input=inputs, lanes=n, acc_bits=24)

    assert AccelConfig.choose_lanes(hidden, make, prefer=RTL_PREFERRED_LANES).lanes == lanes
