"""GRU on the TVM target: random IR graphs (direction x linear_before_reset x initial h x clip) built once
with symbolic steps and batch and run at two sizes against the reference interpreter, and the torch
nn.GRU classifier exported with dynamic axes through `hwgen build --target tvm` and `hwgen run`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import onnx
import pytest

from hwgen.cli import main
from hwgen.frontend import import_onnx
from hwgen.ir import ops
from hwgen.ir.graph import Constant, Graph, Node, Value
from hwgen.ir.types import Float32, TensorType
from hwgen.reference import run as interpret
from hwgen.targets import target_report
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.library import compile_lowered, manifest_for, with_input_shapes
from hwgen.tvm_backend.lower import lower_graph
from hwgen.tvm_backend.runner import from_executable
from tests.frontend import whole_models
from tests.frontend.test_whole_models import hwgen_run_cli, onnxruntime

SIZE, HIDDEN = 5, 7


def _weights(rng: np.random.Generator, prefix: str, dirs: int, size: int, hid: int) -> dict[str, Constant]:
    shapes = {"w": (dirs, 3 * hid, size), "r": (dirs, 3 * hid, hid), "b": (dirs, 6 * hid)}
    return {f"{prefix}{k}": Constant.of(f"{prefix}{k}", rng.normal(0, 0.6 if k != "b" else 0.4, s).astype(np.float32))
            for k, s in shapes.items()}


def _gru_graph(cases: list[tuple[str, bool, bool, Optional[float]]], seed: int = 0, size: object = SIZE) -> Graph:
    """One GRU node per case (direction, linear_before_reset, initial h, clip) over the same x[steps, batch, size]
    (symbolic steps and batch), random float weights and biases: outputs y{i}, y_h{i}; initial states h0_{i}."""
    rng = np.random.default_rng(seed)
    consts: dict[str, Constant] = {}
    nodes, inputs, outputs = [], [Value("x", TensorType(("steps", "batch", size), Float32()))], []
    for i, (direction, linear_before_reset, initial_h, clip) in enumerate(cases):
        dirs = 2 if direction == "bidirectional" else 1
        consts.update(_weights(rng, f"g{i}_", dirs, SIZE, HIDDEN))
        if initial_h:
            inputs.append(Value(f"h0_{i}", TensorType((dirs, "batch", HIDDEN), Float32())))
        attrs = ops.GRUAttrs(hidden=HIDDEN, direction=direction, linear_before_reset=linear_before_reset, clip=clip)
        nodes.append(Node(f"gru{i}", attrs, ("x", f"g{i}_w", f"g{i}_r", f"g{i}_b", f"h0_{i}" if initial_h else ""),
                          (f"y{i}", f"y_h{i}")))
        outputs += [Value(f"y{i}", TensorType(("steps", dirs, "batch", HIDDEN), Float32())),
                    Value(f"y_h{i}", TensorType((dirs, "batch", HIDDEN), Float32()))]
    return Graph("grus", tuple(nodes), tuple(inputs), tuple(outputs), consts).with_types()


#: direction x linear_before_reset x initial h x clip: every value of each, every direction with both reset modes
CASES = [("forward", False, False, None), ("forward", True, True, 0.6), ("reverse", True, True, 0.8),
         ("reverse", False, False, None), ("bidirectional", True, False, None), ("bidirectional", False, True, 0.5)]


def test_grus_build_once_and_match_the_reference_at_two_sizes() -> None:
    graph = _gru_graph(CASES)
    lowered = lower_graph(graph)
    assert lowered.symbolic_dims == ("steps", "batch")
    model = from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
    for steps, batch in ((3, 1), (10, 4)):
        rng = np.random.default_rng(steps)
        feeds = {"x": rng.standard_normal((steps, batch, SIZE)).astype(np.float32) * 1.5}
        feeds.update({v.name: rng.standard_normal((v.type.shape[0], batch, HIDDEN)).astype(np.float32)
                      for v in graph.inputs[1:]})
        got = model(feeds)
        expected = interpret(with_input_shapes(graph, {k: v.shape for k, v in feeds.items()}), feeds)
        for i, case in enumerate(CASES):
            for name in (f"y{i}", f"y_h{i}"):
                assert got[name].shape == expected[name].shape
                assert float(np.max(np.abs(got[name] - expected[name]))) <= 1e-4, (case, name, steps, batch)


def test_gru_is_supported_and_a_symbolic_input_size_is_reported() -> None:
    assert target_report(_gru_graph(CASES[:1]))["tvm"] == []
    graph = _gru_graph(CASES[:1], size="X")
    assert target_report(graph)["tvm"] == ["node 'gru0' (GRU): input size 'X' is symbolic"]
    with pytest.raises(TVMUnsupportedError, match="input size 'X' is symbolic"):
        lower_graph(graph)


def test_torch_gru_classifier_builds_once_and_runs_at_two_batches_and_lengths(tmp_path: Path) -> None:
    path = whole_models.export_gru(tmp_path / "gru.onnx", dynamo=False)
    out = tmp_path / "build"
    assert main(["build", str(path), "--target", "tvm", "-o", str(out)]) == 0
    graph = import_onnx(onnx.load(str(path)), str(path))
    for batch, length in ((1, 3), (5, 12)):
        x = whole_models.features(batch, length, 6, seed=length)
        got = hwgen_run_cli(out, {"x": x}, tmp_path)
        reference = interpret(with_input_shapes(graph, {"x": x.shape}), {"x": x})["logits"]
        assert got.shape == (batch, 4)
        assert float(np.max(np.abs(got - reference))) <= 1e-4
        assert float(np.max(np.abs(got - onnxruntime(path, {"x": x})))) <= 1e-4
