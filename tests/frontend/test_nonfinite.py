"""An initializer with NaN or Inf values: `hwgen inspect` names it, the hardware targets refuse it by
name, the interpreter still runs it; never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from hwgen.cli import main
from hwgen.frontend import load_graph
from hwgen.ir.nonfinite import nonfinite_constants
from hwgen.passes.match_lstm_stack import accelerator_reasons
from hwgen.reference import run
from tests.cli import models


def _poison(path: Path, name: str, values: dict[tuple[int, ...], float]) -> Path:
    model = onnx.load(path)
    for init in model.graph.initializer:
        if init.name == name:
            array = numpy_helper.to_array(init).copy()
            for index, value in values.items():
                array[index] = value
            init.CopyFrom(numpy_helper.from_array(array, name))
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("ternary", [False, True], ids=["float", "ternary"])
def test_nan_and_inf_weights_are_named_and_refused_by_the_hardware_targets(tmp_path: Path, ternary: bool, capsys) -> None:  # type: ignore[no-untyped-def]
    path = models.lstm_model(tmp_path / "m.onnx", hidden=4, inp=3, ternary=ternary)
    clean = accelerator_reasons(load_graph(path))
    poisoned = "W_scale" if ternary else "W"
    index = (1,) if ternary else (0, 1, 2)
    _poison(path, poisoned, {index: np.nan, (2,) if ternary else (0, 3, 0): np.inf})
    graph = load_graph(path)
    assert [str(c) for c in nonfinite_constants(graph)] == [f"initializer {poisoned!r} has 1 NaN and 1 Inf value(s)"]
    reasons = accelerator_reasons(graph)
    assert any(poisoned in r and "NaN" in r for r in reasons) and len(reasons) == len(clean) + 1

    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"warning: initializer {poisoned!r} has 1 NaN and 1 Inf value(s)" in out
    for target in (["rtl"], ["fpga", "--board", "icebreaker"]):
        assert main(["build", str(path), "--target", *target, "-o", str(tmp_path / target[0])]) != 0
        err = capsys.readouterr().err
        assert poisoned in err and "NaN" in err and "Traceback" not in err
    x = np.ones((5, 1, 3), np.float32)
    assert np.isnan(run(graph, {"X": x})["logits"]).any()  # the interpreter runs it: NaN propagates
