"""Designs shared by the sim tests: Verilator builds are cached by content, so each is built once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwgen.sim.design import Design
from hwgen.sim.selftest import StepSumConfig, write_design

#: The small self-test design every sim test uses (3 beats per step, 4 busy cycles).
CONFIG = StepSumConfig(elements=3, in_width=8, out_width=16, latency=4)


def stepsum(tmp_path_factory: pytest.TempPathFactory, **changes) -> tuple[Design, StepSumConfig]:
    config = StepSumConfig(**{**CONFIG.__dict__, **changes})
    folder = tmp_path_factory.mktemp(f"stepsum{changes.get('fault', '')}")
    return write_design(config, Path(folder)), config


@pytest.fixture(scope="session")
def good_design(tmp_path_factory) -> tuple[Design, StepSumConfig]:
    return stepsum(tmp_path_factory)


def random_sequences(rng: np.random.Generator, count: int, max_steps: int, elements: int = CONFIG.elements,
                     bits: int = CONFIG.in_width) -> list[np.ndarray]:
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    return [rng.integers(lo, hi, (int(rng.integers(1, max_steps + 1)), elements)) for _ in range(count)]
