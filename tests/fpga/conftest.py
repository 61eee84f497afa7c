"""Shared fixtures: a small ternary LSTM classifier and its FPGA design (UP5K: weights in SPRAM)."""

import numpy as np
import pytest

from hwgen.fpga.flow import design_for
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import lower_stack

SIM_DIVISOR = 8  # UART clocks per bit in simulation: a fast serial line, same logic


@pytest.fixture(scope="session")
def small_model():
    return lower_stack(random_stack(8, 4, classes=3, kind="ternary", seed=3))


@pytest.fixture(scope="session")
def small_design(small_model):
    return design_for(small_model, "icebreaker", input_words=32)  # 8 steps: longer ones go in chunks


@pytest.fixture(scope="session")
def sim_board(small_design):
    """The whole top level (UART, frame engine, accelerator) in Verilator behind a pty."""
    from hwgen.fpga.hostsim import simulate

    with simulate(small_design.link(simulate=True, divisor=SIM_DIVISOR)) as board:
        yield board


@pytest.fixture()
def rng():
    return np.random.default_rng(7)
