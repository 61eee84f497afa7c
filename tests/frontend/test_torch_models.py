"""Whole torch-exported models: hwgen's interpreter against onnxruntime and against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hwgen.frontend import import_onnx
from hwgen.ir import TensorType, print_graph
from hwgen.ir.ops import LSTMAttrs
from hwgen.reference import run
from tests.frontend.onnx_helpers import ort_run
from tests.frontend.torch_export import LSTMClassifier, LSTMModel, TransformerClassifier, export


def _compare(model, feeds, torch_out, rtol=1e-5, atol=1e-6):  # type: ignore[no-untyped-def]
    graph = import_onnx(model, "torch.onnx")
    got = run(graph, feeds)
    ours = [got[o.name] for o in graph.outputs]
    for a, b, c in zip(ours, ort_run(model, feeds), torch_out):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
        np.testing.assert_allclose(a, c.detach().numpy(), rtol=1e-4, atol=1e-5)
    return graph


LSTM_CASES = [
    # layers, batch_first, hidden, bidirectional, with_states, dynamo
    (1, False, 1, False, False, False),
    (1, True, 7, False, True, False),
    (2, True, 32, False, False, False),
    (2, False, 16, True, True, False),
    (1, True, 256, True, False, False),
    (2, False, 64, False, True, False),
    (2, True, 12, False, False, True),
]


@pytest.mark.parametrize("layers,batch_first,hidden,bidir,states,dynamo", LSTM_CASES)
def test_lstm_matches_onnxruntime_and_torch(layers, batch_first, hidden, bidir, states, dynamo):  # type: ignore[no-untyped-def]
    torch.manual_seed(hidden + layers)
    seq, batch, inp = 6, 3, 5
    m = LSTMModel(inp, hidden, layers, batch_first, bidir)
    x = torch.randn(batch, seq, inp) if batch_first else torch.randn(seq, batch, inp)
    args: tuple[torch.Tensor, ...] = (x,)
    names = ["x"]
    if states:
        dirs = layers * (2 if bidir else 1)
        args = (x, torch.randn(dirs, batch, hidden), torch.randn(dirs, batch, hidden))
        names = ["x", "h0", "c0"]
    model = export(m, args, names, ["y", "h", "c"], dynamo=dynamo)
    with torch.no_grad():
        expected = m(*args)
    graph = _compare(model, {n: a.numpy() for n, a in zip(names, args)}, expected)
    lstms = list(graph.nodes_of(LSTMAttrs))
    assert len(lstms) == layers
    assert all(n.attrs.hidden == hidden and n.attrs.num_directions == (2 if bidir else 1) for n in lstms)


def test_lstm_classifier_matches():
    torch.manual_seed(0)
    m = LSTMClassifier(inp=8, hidden=24, classes=5)
    x = torch.randn(2, 10, 8)
    model = export(m, (x,), ["x"], ["logp"])
    with torch.no_grad():
        expected = (m(x),)
    graph = _compare(model, {"x": x.numpy()}, expected)
    assert graph.outputs[0].type == TensorType((2, 5), graph.outputs[0].type.dtype)


@pytest.mark.parametrize("dynamo,opset,pool,activation", [
    (False, 17, "mean", "relu"), (False, 17, "first", "gelu"),
    (True, 18, "mean", "relu"),
    (True, 23, "first", "gelu"),  # opset 23: the exporter fuses attention into ONNX Attention
], ids=["legacy-mean-relu", "legacy-first-gelu", "dynamo18-mean-relu", "dynamo23-first-gelu"])
def test_transformer_classifier_matches(dynamo, opset, pool, activation):  # type: ignore[no-untyped-def]
    torch.manual_seed(1)
    m = TransformerClassifier(pool=pool, activation=activation).eval()
    x = torch.randn(2, 7, 16)
    model = export(m, (x,), ["x"], ["logits"], dynamo=dynamo, opset=opset)
    assert any(n.op_type == "Attention" for n in model.graph.node) == (opset >= 23)
    with torch.no_grad():
        expected = (m(x),)
    graph = _compare(model, {"x": x.numpy()}, expected, rtol=1e-4, atol=1e-5)
    assert print_graph(graph) == print_graph(import_onnx(model, "torch.onnx"))  # stable text for --dump-ir diffs
    ops = {n.op for n in graph.nodes}
    assert {"LayerNorm", "Softmax", "MatMul"} <= ops
    assert ("ReduceMean" in ops) == (pool == "mean")


def test_transformer_with_padding_mask_and_pre_norm_matches():
    """norm_first + src_key_padding_mask (a bool input): the exporter's Where/Equal/Expand mask arithmetic."""
    torch.manual_seed(2)
    m = TransformerClassifier(activation="gelu", norm_first=True).eval()
    x = torch.randn(2, 5, 16)
    mask = torch.tensor([[False] * 5, [False, False, False, True, True]])
    model = export(m, (x, mask), ["x", "mask"], ["logits"], opset=17)
    with torch.no_grad():
        expected = (m(x, mask),)
    graph = _compare(model, {"x": x.numpy(), "mask": mask.numpy()}, expected, rtol=1e-4, atol=1e-5)
    assert "Where" in {n.op for n in graph.nodes}


@settings(deadline=None, max_examples=5)
@given(hidden=st.integers(1, 256), layers=st.integers(1, 2), batch_first=st.booleans(), bidir=st.booleans(),
       seq=st.integers(1, 5), batch=st.integers(1, 3), inp=st.integers(1, 6))
def test_lstm_over_random_shapes(hidden, layers, batch_first, bidir, seq, batch, inp):  # type: ignore[no-untyped-def]
    torch.manual_seed(hidden)
    m = LSTMModel(inp, hidden, layers, batch_first, bidir)
    x = torch.randn(batch, seq, inp) if batch_first else torch.randn(seq, batch, inp)
    model = export(m, (x,), ["x"], ["y", "h", "c"])
    with torch.no_grad():
        expected = m(x)
    _compare(model, {"x": x.numpy()}, expected)
