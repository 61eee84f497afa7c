"""Shared fixtures: seeded RNGs and a temporary ONNX writer."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
