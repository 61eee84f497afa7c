import numpy as np
import pytest

from hwgen.errors import IRError
from hwgen.ir import Constant, Float32, Graph, Node, TensorType, Value, print_graph, verify
from hwgen.ir.ops import AddAttrs, MatMulAttrs, ReluAttrs


def _graph(nodes, outputs, constants=None):
    x = Value("x", TensorType((2, 3), Float32()))
    g = Graph("g", tuple(nodes), (x,), tuple(outputs), constants or {})
    return g


def test_valid_graph_verifies_and_prints_stably():
    w = Constant.of("w", np.ones((3, 4), np.float32))
    g = _graph([Node("mm", MatMulAttrs(), ("x", "w"), ("y",)), Node("r", ReluAttrs(), ("y",), ("z",))],
               [Value("z", TensorType((2, 4), Float32()))], {"w": w}).with_types()
    verify(g)
    assert print_graph(g) == print_graph(g.with_types())
    assert "%z: f32[2, 4] = Relu[]" in print_graph(g)


def test_verify_lists_every_violation_at_once():
    w = Constant.of("w", np.ones((5, 4), np.float32))
    g = _graph(
        [Node("mm", MatMulAttrs(), ("x", "w"), ("y",)), Node("mm", AddAttrs(), ("nope", "x"), ("y",))],
        [Value("missing", TensorType((2, 4), Float32()))], {"w": w},
    )
    with pytest.raises(IRError) as info:
        verify(g)
    msg = str(info.value)
    assert "inner dimensions differ" in msg
    assert "'nope' is not defined" in msg
    assert "used twice" in msg
    assert "defined twice" in msg
    assert "'missing' is never defined" in msg
