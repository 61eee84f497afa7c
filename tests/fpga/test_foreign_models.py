"""Board designs for models written outside hwgen's trainer (issue 19's regression): a torch-style ONNX file,
W and R behind DequantizeLinear of int8 codes in {-1, 0, 1} with per-row scales, a dense head, wide inputs and
odd sizes. Each goes through the fpga target's path up to the run files (`design_for` + the `fpga.json`
manifest); no place-and-route, so they run by default.

Main once failed the H=256, input-256 model here with "acc_bits=16 is too small ... nearest valid acc_bits: 17":
the manifest re-validated the config against the generic worst case instead of the model's bound."""

import json

import numpy as np
import pytest

from hwgen.fpga.api import design
from hwgen.fpga.boards import get_board
from hwgen.fpga.fit import preferred_lanes, weight_bits
from hwgen.fpga.flow import block_ram_uses, write_run_files
from hwgen.fpga.options import BoardOptions
from hwgen.frontend import load_graph
from hwgen.hw.synthetic import write_onnx
from hwgen.rtl.options import AccelOptions


@pytest.mark.parametrize("hidden, inputs, layers, board", [
    (256, 256, 1, "icebreaker"),  # the model: wide input, weights fill the SPRAMs
    (48, 37, 1, "icebreaker"),    # odd sizes: lanes do not divide the input
    (24, 130, 2, "icebreaker"),   # input wider than hidden, two layers
    (40, 21, 1, "ulx3s-85f"),
])
def test_foreign_onnx_model_gets_a_board_design_and_manifest(tmp_path, hidden, inputs, layers, board):
    path = write_onnx(tmp_path / "model.onnx", hidden, inputs, steps=3, layers=layers, classes=10, seed=hidden)
    fpga = design(load_graph(path), AccelOptions(), BoardOptions(board=board))
    config = fpga.config
    assert (config.hidden, config.input, config.layers, config.outputs) == (hidden, inputs, layers, 10)
    assert config.acc_bits >= fpga.model.accumulator_bits()
    assert sum(u.blocks for u in block_ram_uses(fpga)) <= get_board(board).resource("EBR").capacity
    assert hidden % config.lanes == 0
    # the lanes policy: the most lanes up to the board's preference whose whole design fits
    assert config.lanes <= preferred_lanes(get_board(board), "ternary", weight_bits(hidden, inputs, layers, "ternary"))
    manifest = json.loads(write_run_files(fpga, tmp_path / "out").read_text())
    assert manifest["accelerator"]["acc_bits"] == config.acc_bits
    assert manifest["accelerator"]["lanes"] == config.lanes
    assert manifest["cycles_per_step"] == config.cycles_per_step()
    if config.weight_memory == "spram":
        words = np.load(tmp_path / "out" / "weights.npy")
        assert len(words) == config.weight_words
