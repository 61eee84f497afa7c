"""Models exported with dynamic batch and sequence: Shape chains resolve to symbolic dims, one import
runs at any size, and what cannot be resolved is refused by node and element."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from hwgen.errors import HwgenError, IRError
from hwgen.frontend import import_onnx, load_graph
from hwgen.inspect import inspect_graph
from hwgen.ir import Graph, Node, Value, print_graph, verify
from hwgen.ir import dims as D
from hwgen.ir.ops import ReshapeAttrs, ShapeAttrs
from hwgen.ir.types import Float32, TensorType
from hwgen.reference import run
from tests.frontend.onnx_helpers import ORT_IR_VERSION, ort_run
from tests.frontend.torch_export import LSTMModel, export_dynamic

F = TensorProto.FLOAT


def _ort_vs_hwgen(path: Path, graph: Graph, feeds: dict[str, np.ndarray]) -> float:
    ours = run(graph, feeds)
    theirs = ort_run(onnx.load(path), feeds)
    return max(float(np.max(np.abs(ours[v.name] - t))) for v, t in zip(graph.outputs, theirs))


def test_lstm_without_initial_state_keeps_batch_and_sequence_symbolic(tmp_path: Path) -> None:
    """TorchScript writes the zero state as Shape → Gather → Concat → ConstantOfShape/Expand of the batch."""
    torch.manual_seed(0)
    m = LSTMModel(5, 7, 2, batch_first=True, bidirectional=False)
    path = export_dynamic(m, torch.randn(3, 6, 5), tmp_path / "lstm.onnx", {"x": {0: "batch", 1: "sequence"}})
    graph = load_graph(path)
    assert graph.inputs[0].type == TensorType(("batch", "sequence", 5), Float32())
    assert graph.types["h"].shape == (2, "batch", 7)
    for batch, seq in ((3, 6), (1, 11), (4, 2)):
        x = np.random.default_rng(seq).standard_normal((batch, seq, 5)).astype(np.float32)
        assert _ort_vs_hwgen(path, graph, {"x": x}) <= 1e-5


class Attention(torch.nn.Module):
    """Multi-head self-attention written the way exporters see dynamic shapes: view(b, s, heads, -1),
    reshape(b*heads, s, d), bmm, and back to (b, s, -1)."""

    def __init__(self, dim: int = 16, heads: int = 4) -> None:
        super().__init__()
        self.heads, self.qkv, self.out = heads, torch.nn.Linear(dim, 3 * dim), torch.nn.Linear(dim, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, s, self.heads, -1).transpose(1, 2).reshape(b * self.heads, s, -1)

        att = torch.softmax(torch.bmm(split(q), split(k).transpose(1, 2)) / 2.0, dim=-1)
        y = torch.bmm(att, split(v)).view(b, self.heads, s, -1).transpose(1, 2).reshape(b, s, -1)
        return self.out(y).mean(dim=1)


def test_attention_with_dynamic_axes_reshapes_by_symbolic_dims(tmp_path: Path) -> None:
    """Reshapes to (batch*heads, sequence, -1) and back resolve to dim expressions; no Shape op is left."""
    import warnings

    torch.manual_seed(1)
    m = Attention().eval()
    path = tmp_path / "attention.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.randn(2, 5, 16),), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch", 1: "sequence"}})
    model = onnx.load(path)
    model.ir_version = min(model.ir_version, ORT_IR_VERSION)
    onnx.save(model, path)
    graph = load_graph(path)
    targets = {tuple(str(d) for d in n.attrs.shape) for n in graph.nodes_of(ReshapeAttrs)}
    assert ("4*batch", "sequence", "4") in targets and ("batch", "sequence", "4", "4") in targets
    assert not list(graph.nodes_of(ShapeAttrs))  # every Shape chain resolved and dropped
    for batch, seq in ((2, 5), (3, 9), (1, 1)):
        x = np.random.default_rng(batch).standard_normal((batch, seq, 16)).astype(np.float32)
        assert _ort_vs_hwgen(path, graph, {"x": x}) <= 1e-5
    report = inspect_graph(graph)
    assert ("x", "f32[batch, sequence, 16]") in report.inputs and ("y", "f32[batch, 3]") in report.outputs
    assert any("f32[4*batch, sequence, sequence]" in shapes for op in report.ops for shapes in op.output_shapes)


def _model(nodes: list, inputs: list, outputs: list, inits: list = ()) -> onnx.ModelProto:  # type: ignore[assignment]
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = ORT_IR_VERSION
    return model


def _i64(name: str, values: list[int]) -> onnx.TensorProto:
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def test_reshape_with_minus_one_and_zero_and_constant_of_shape() -> None:
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["b"], axis=0),
        helper.make_node("Unsqueeze", ["b", "ax0"], ["b1"]),
        helper.make_node("Concat", ["b1", "m1", "four"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["r"], name="reshape"),
        helper.make_node("Concat", ["b1", "four"], ["zshape"], axis=0),
        helper.make_node("ConstantOfShape", ["zshape"], ["z"], value=helper.make_tensor("v", F, [1], [2.5])),
        helper.make_node("Range", ["zero", "b", "one"], ["ids"], name="range"),
    ]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, ["batch", "sequence", 8])],
                   [helper.make_tensor_value_info(o, t, None) for o, t in (("r", F), ("z", F), ("ids", TensorProto.INT64))],
                   [helper.make_tensor("i0", TensorProto.INT64, [], [0]), _i64("ax0", [0]), _i64("m1", [-1]),
                    _i64("four", [4]), helper.make_tensor("zero", TensorProto.INT64, [], [0]),
                    helper.make_tensor("one", TensorProto.INT64, [], [1])])
    graph = import_onnx(model, "m.onnx")
    assert graph.types["r"].shape == ("batch", D.mul(2, "sequence"), 4)
    assert graph.types["z"].shape == ("batch", 4) and graph.types["ids"].shape == ("batch",)
    assert "Reshape[shape=(batch, 2*sequence, 4)]" in print_graph(graph)
    for batch, seq in ((1, 3), (5, 2)):
        x = np.random.default_rng(0).standard_normal((batch, seq, 8)).astype(np.float32)
        got = run(graph, {"x": x})
        for name, theirs in zip(("r", "z", "ids"), ort_run(model, {"x": x})):
            np.testing.assert_array_equal(got[name], theirs)


def test_a_size_computed_in_floats_is_refused_by_node_and_element() -> None:
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Cast", ["s"], ["sf"], to=F),
        helper.make_node("Sqrt", ["sf"], ["root"]),
        helper.make_node("Cast", ["root"], ["si"], to=TensorProto.INT64),
        helper.make_node("Slice", ["si", "st", "en"], ["last"]),
        helper.make_node("Concat", ["m1", "last"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="the_reshape"),
    ]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, ["batch", 16])], [helper.make_tensor_value_info("y", F, None)],
                   [_i64("st", [1]), _i64("en", [2]), _i64("m1", [-1])])
    with pytest.raises(HwgenError, match=r"node 'the_reshape' \(Reshape\): element 1 of the shape \(input 1, 'target'\)"):
        import_onnx(model, "m.onnx")


def test_the_interpreter_checks_each_size_the_ops_compute() -> None:
    """A position table of 6 rows sliced up to `sequence`: longer sequences are refused by node and dim."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Slice", ["s", "one", "two"], ["seq"]),
        helper.make_node("Slice", ["table", "zero", "seq", "one"], ["pos"], name="positions"),
        helper.make_node("Add", ["x", "pos"], ["y"], name="add"),
    ]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, [1, "sequence"])], [helper.make_tensor_value_info("y", F, None)],
                   [_i64("one", [1]), _i64("two", [2]), _i64("zero", [0]),
                    helper.make_tensor("table", F, [1, 6], np.arange(6, dtype=np.float32))])
    graph = import_onnx(model, "m.onnx")
    assert graph.types["pos"].shape == (1, "sequence")
    np.testing.assert_array_equal(run(graph, {"x": np.zeros((1, 4), np.float32)})["y"], [[0, 1, 2, 3]])
    with pytest.raises(HwgenError, match=r"node 'positions' \(Slice\): dimension 1 of 'pos' is sequence = 9"):
        run(graph, {"x": np.zeros((1, 9), np.float32)})


def test_verify_refuses_dims_no_input_binds() -> None:
    x = Value("x", TensorType(("batch", 4), Float32()))
    node = Node("r", ReshapeAttrs(("batch", "heads", 4)), ("x",), ("y",))
    graph = Graph("g", (node,), (x,), (Value("y", TensorType(("batch", "heads", 4), Float32())),))
    with pytest.raises(IRError, match=r"node 'r' \(Reshape\): dimension\(s\) heads are not dims of any graph input"):
        verify(graph.with_types())
    bad = Graph("g", (Node("r", ReshapeAttrs((3, 4)), ("x",), ("y",)),), (Value("x", TensorType((2, 4), Float32())),),
                (Value("y", TensorType((3, 4), Float32())),))
    with pytest.raises(IRError, match="changes the element count"):
        bad.with_types()
    sym = Graph("g", (Node("r", ReshapeAttrs(("batch", 2, 2)), ("x",), ("y",)),), (x,), (Value("y", TensorType(("batch", 2, 2), Float32())),))
    verify(sym.with_types())
