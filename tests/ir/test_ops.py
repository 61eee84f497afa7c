"""Op type inference: shapes and dtypes each op gives, and the errors it raises (naming the problem)."""

from __future__ import annotations

import pytest

from hwgen.errors import IRError
from hwgen.ir import Float32, Int, TensorType, Ternary
from hwgen.ir.ops import (
    CastAttrs, ClipAttrs, DequantizeAttrs, FlattenAttrs, LSTMAttrs, ModAttrs, ReduceMeanAttrs, SliceAttrs, SplitAttrs,
)
from hwgen.ir.ops.shape import slice_bounds

F = Float32()


def t(*shape: int | str, dtype=F) -> TensorType:  # type: ignore[no-untyped-def]
    return TensorType(tuple(shape), dtype)


def test_slice_follows_onnx_clamping() -> None:
    assert SliceAttrs((1,), (100,), (1,), (1,)).infer([t(2, 5)]) == [t(2, 4)]
    assert SliceAttrs((-100,), (-100,), (0,), (-1,)).infer([t(3, 2)]) == [t(1, 2)]  # ONNX clamps start to 0
    assert SliceAttrs((-1,), (-(2**63),), (0,), (-1,)).infer([t(4)]) == [t(4)]  # reverse the whole axis
    assert list(range(5))[slice_bounds(-1, -(2**63), -2, 5)] == [4, 2, 0]
    with pytest.raises(IRError, match="step must not be 0"):
        SliceAttrs((0,), (1,), (0,), (0,)).infer([t(3)])


def test_split_flatten_reduce_shapes() -> None:
    assert SplitAttrs(1, (1, 3)).infer([t(2, 4)]) == [t(2, 1), t(2, 3)]
    with pytest.raises(IRError, match=r"do not add up to 4"):
        SplitAttrs(1, (1, 2)).infer([t(2, 4)])
    assert FlattenAttrs(-1).infer([t(2, 3, 4)]) == [t(6, 4)]
    assert FlattenAttrs(0).infer([t(2, 3)]) == [t(1, 6)]
    assert ReduceMeanAttrs((1,), keepdims=False).infer([t(2, 3, 4)]) == [t(2, 4)]
    assert ReduceMeanAttrs((-1, 0), keepdims=True).infer([t(2, 3, 4)]) == [t(1, 3, 1)]


def test_elementwise_dtypes() -> None:
    assert CastAttrs(Int(32)).infer([t(3)]) == [t(3, dtype=Int(32))]
    assert ClipAttrs(-1, 1).infer([t(2, dtype=Int(8))]) == [t(2, dtype=Int(8))]
    assert ClipAttrs(2.0, 1.0).infer([t(3)]) == [t(3)]  # min above max is defined: every value is max
    assert ModAttrs().infer([t(2, 3), t(3)]) == [t(2, 3)]
    with pytest.raises(IRError, match="one dtype"):
        ModAttrs().infer([t(3), t(3, dtype=Int(64))])


def test_dequantize_checks_its_scale_layout() -> None:
    codes = t(8, 4, dtype=Ternary())
    assert DequantizeAttrs(axis=0).infer([codes, t(8)]) == [t(8, 4)]
    with pytest.raises(IRError, match=r"per-axis scale along axis 1 .* must be \[4\]"):
        DequantizeAttrs(axis=1).infer([codes, t(8)])
    with pytest.raises(IRError, match="must be integer codes"):
        DequantizeAttrs().infer([t(8, 4), t(1)])


def test_lstm_checks_every_weight_shape() -> None:
    a = LSTMAttrs(hidden=3, direction="bidirectional")
    y, h, c = a.infer([t(5, 2, 4), t(2, 12, 4), t(2, 12, 3), t(2, 24)])
    assert y == t(5, 2, 2, 3) and h == c == t(2, 2, 3)
    with pytest.raises(IRError, match=r"LSTM R must be \[2, 12, 3\]"):
        a.infer([t(5, 2, 4), t(2, 12, 4), t(2, 12, 4)])
    with pytest.raises(IRError, match="direction 'sideways'"):
        LSTMAttrs(hidden=3, direction="sideways")
    assert a.infer([t("seq", "batch", 4), t(2, 12, 4), t(2, 12, 3)])[0] == t("seq", 2, "batch", 3)
