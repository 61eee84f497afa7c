"""The whole board top in Verilator (UART, frame engine, SPRAM weight upload over the link) around the board
default for wide ternary models: four gate rows a word (8 lanes × 4 rows = the SPRAMs' 64-bit word at H=64; here
2 lanes × 4 rows on a tiny model), and two rows a word. Bit-exact against the reference, cycles == expected_cycles."""

import numpy as np
import pytest

from hwgen.fpga.driver import Device
from hwgen.fpga.flow import design_for
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import lower_stack

from tests.fpga.conftest import SIM_DIVISOR


@pytest.fixture(scope="module", params=[4, 2])
def gate_rows_board(request):
    from hwgen.fpga.hostsim import simulate

    rows = request.param  # 2: rows i, f then g, o (asked for by name; the board fit picks it only where it saves 5 %)
    model = lower_stack(random_stack(8, 11, classes=3, kind="ternary", seed=5))
    design = design_for(model, "icebreaker", lanes=2, gate_rows=rows, input_words=64)
    assert (design.config.gate_rows, design.config.word_bits) == (rows, rows * 2 * 2)
    with simulate(design.link(simulate=True, divisor=SIM_DIVISOR)) as board:
        yield model, design, board


def test_gate_rows_through_the_host_link_are_bit_exact_with_cycle_count(gate_rows_board):
    model, design, board = gate_rows_board
    rng = np.random.default_rng(11)
    with Device(board.port, timeout=20) as dev:
        dev.write_weights(design.weight_words())
        assert dev.info().weight_width == design.config.word_bits
        for steps in (1, 4):
            x = model.quantize_input(rng.uniform(-2, 2, (steps, model.input_size)))
            y, result = dev.infer(x)
            np.testing.assert_array_equal(y, model.run(x).reshape(-1))
            assert result.cycles == design.config.expected_cycles(steps)
