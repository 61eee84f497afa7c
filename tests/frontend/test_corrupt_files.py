"""Corrupted ONNX files (random bytes flipped, cut anywhere) give a HwgenError or a working graph, never a crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hwgen.errors import HwgenError
from hwgen.frontend import load_graph
from hwgen.reference import run
from tests.cli.models import lstm_model


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return lstm_model(tmp_path_factory.mktemp("corrupt") / "m.onnx", hidden=4, ternary=True).read_bytes()


def _load_and_run(path: Path) -> None:
    try:
        graph = load_graph(path)
        x = np.zeros([d if isinstance(d, int) else 1 for d in graph.inputs[0].type.shape], np.float32)
        run(graph, {graph.inputs[0].name: x})
    except HwgenError:
        pass


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4))
@example(edits=[(0.9609375, 16)])  # X's width loses its size: symbolic, then fed a width W cannot take
def test_flipped_bytes(model_bytes: bytes, tmp_path: Path, edits: list[tuple[float, int]]) -> None:
    data = bytearray(model_bytes)
    for where, value in edits:
        data[int(where * len(data))] = value
    (tmp_path / "m.onnx").write_bytes(bytes(data))
    _load_and_run(tmp_path / "m.onnx")


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_min=True, exclude_max=True))
def test_truncated(model_bytes: bytes, tmp_path: Path, cut: float) -> None:
    (tmp_path / "m.onnx").write_bytes(model_bytes[: max(1, int(cut * len(model_bytes)))])
    with pytest.raises(HwgenError):
        load_graph(tmp_path / "m.onnx")
