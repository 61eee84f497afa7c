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


B = Int(1, signed=False)


def test_comparison_logic_and_predicates_give_bool() -> None:
    from hwgen.ir.ops import AndAttrs, GreaterAttrs, IsInfAttrs, IsNaNAttrs, LessOrEqualAttrs, MaxAttrs, NotAttrs

    assert GreaterAttrs().infer([t(2, 3), t(3)]) == [t(2, 3, dtype=B)]
    assert LessOrEqualAttrs().infer([t(4, dtype=Int(8)), t(1, dtype=Int(8))]) == [t(4, dtype=B)]
    assert AndAttrs().infer([t(2, 1, dtype=B), t(3, dtype=B)]) == [t(2, 3, dtype=B)]
    with pytest.raises(IRError, match="And inputs must be bool"):
        AndAttrs().infer([t(2), t(2)])
    with pytest.raises(IRError, match="Not input must be bool"):
        NotAttrs().infer([t(2)])
    assert IsNaNAttrs().infer([t(5)]) == [t(5, dtype=B)]
    with pytest.raises(IRError, match="IsInf input must be f32"):
        IsInfAttrs().infer([t(5, dtype=Int(32))])
    assert MaxAttrs().infer([t(2, 1), t(3), t(1, 3)]) == [t(2, 3)]
    with pytest.raises(IRError, match="one dtype"):
        MaxAttrs().infer([t(2), t(2, dtype=Int(32))])


def test_reductions_keep_or_drop_axes_and_dtypes() -> None:
    from hwgen.ir.ops import ReduceMaxAttrs, ReduceMinAttrs, ReduceSumAttrs

    assert ReduceSumAttrs((0, -1), keepdims=False).infer([t(2, 3, 4, dtype=Int(64))]) == [t(3, dtype=Int(64))]
    assert ReduceMaxAttrs((), keepdims=True).infer([t(2, 3)]) == [t(1, 1)]
    assert ReduceMinAttrs((1,), keepdims=True).infer([t(2, 0, dtype=B)]) == [t(2, 1, dtype=B)]
    with pytest.raises(IRError, match="ReduceSum of bool"):
        ReduceSumAttrs((0,)).infer([t(2, dtype=B)])
    with pytest.raises(IRError, match="axis 3 out of range"):
        ReduceMaxAttrs((3,)).infer([t(2, 3)])


def test_einsum_shapes_and_malformed_equations() -> None:
    from hwgen.ir.ops import EinsumAttrs

    assert EinsumAttrs("bhqd,bhkd->bhqk").infer([t(2, 4, 5, 8), t(2, 4, 7, 8)]) == [t(2, 4, 5, 7)]
    assert EinsumAttrs("...ij,jk->...ik").infer([t(2, 3, 4, 5), t(5, 6)]) == [t(2, 3, 4, 6)]
    assert EinsumAttrs("ij,jk").infer([t(3, 4), t(4, 2)]) == [t(3, 2)]  # implicit: i, k in alphabetical order
    assert EinsumAttrs("ii->i").infer([t(3, 3)]) == [t(3)]
    assert EinsumAttrs("i,i").infer([t(3), t(3)]) == [t()]
    with pytest.raises(IRError, match="letter 'j' is both 4 and 5"):
        EinsumAttrs("ij,jk->ik").infer([t(3, 4), t(5, 2)])
    with pytest.raises(IRError, match="2 operand"):
        EinsumAttrs("ij,jk->ik").infer([t(3, 4)])
    with pytest.raises(IRError, match="does not match an input of rank 3"):
        EinsumAttrs("ij->i").infer([t(3, 4, 5)])
    with pytest.raises(IRError, match="names one no input has"):
        EinsumAttrs("ij->z").infer([t(3, 4)])
    with pytest.raises(IRError, match="malformed"):
        EinsumAttrs("i1->i").infer([t(3, 4)])


def test_index_ops_check_their_shapes() -> None:
    from hwgen.ir.ops import GatherElementsAttrs, GatherNDAttrs, ScatterNDAttrs

    i64 = Int(64)
    assert GatherElementsAttrs(1).infer([t(3, 4), t(2, 6, dtype=i64)]) == [t(2, 6)]
    with pytest.raises(IRError, match="exceed data"):
        GatherElementsAttrs(1).infer([t(3, 4), t(5, 6, dtype=i64)])
    assert GatherNDAttrs(0).infer([t(3, 4, 5), t(6, 2, dtype=i64)]) == [t(6, 5)]
    assert GatherNDAttrs(1).infer([t(2, 4, 5), t(2, 3, 1, dtype=i64)]) == [t(2, 3, 5)]
    with pytest.raises(IRError, match="index depth 3 must be in 1..2"):
        GatherNDAttrs(0).infer([t(3, 4), t(6, 3, dtype=i64)])
    with pytest.raises(IRError, match="indices must be integers"):
        GatherNDAttrs(0).infer([t(3, 4), t(6, 1)])
    assert ScatterNDAttrs("add").infer([t(4, 3), t(2, 1, dtype=i64), t(2, 3)]) == [t(4, 3)]
    with pytest.raises(IRError, match=r"updates must be \[2, 3\]"):
        ScatterNDAttrs().infer([t(4, 3), t(2, 1, dtype=i64), t(2, 4)])
    with pytest.raises(IRError, match="reduction 'sub'"):
        ScatterNDAttrs("sub")


def test_tile_pad_trilu_shapes() -> None:
    from hwgen.ir.ops import PadAttrs, TileAttrs, TriluAttrs

    assert TileAttrs((2, 1, 3)).infer([t(2, 3, 4)]) == [t(4, 3, 12)]
    with pytest.raises(IRError, match="one entry per axis"):
        TileAttrs((2,)).infer([t(2, 3)])
    assert PadAttrs((1, 0, 2, -1)).infer([t(3, 4)]) == [t(6, 3)]  # begins (1, 0), ends (2, -1): a negative pad crops
    with pytest.raises(IRError, match="2 entries per axis"):
        PadAttrs((1, 1)).infer([t(3, 4)])
    with pytest.raises(IRError, match="crop axis 0"):
        PadAttrs((-2, 0, -2, 0)).infer([t(3, 4)])
    with pytest.raises(IRError, match="mode 'mirror'"):
        PadAttrs((0, 0), "mirror")
    assert TriluAttrs(False, -1).infer([t(2, 3, 4)]) == [t(2, 3, 4)]
    with pytest.raises(IRError, match="rank >= 2"):
        TriluAttrs().infer([t(3)])


def test_gru_checks_every_weight_shape() -> None:
    from hwgen.ir.ops import GRUAttrs

    a = GRUAttrs(hidden=3, direction="bidirectional", linear_before_reset=True)
    y, h = a.infer([t(5, 2, 4), t(2, 9, 4), t(2, 9, 3), t(2, 18), t(2, 2, 3)])
    assert y == t(5, 2, 2, 3) and h == t(2, 2, 3)
    with pytest.raises(IRError, match=r"GRU R must be \[2, 9, 3\]"):
        a.infer([t(5, 2, 4), t(2, 9, 4), t(2, 12, 3)])
    with pytest.raises(IRError, match=r"GRU initial_h must be \[2, 2, 3\]"):
        a.infer([t(5, 2, 4), t(2, 9, 4), t(2, 9, 3), None, t(1, 2, 3)])
    with pytest.raises(IRError, match="direction 'up'"):
        GRUAttrs(hidden=3, direction="up")
    assert a.infer([t("seq", "batch", 4), t(2, 9, 4), t(2, 9, 3)])[0] == t("seq", 2, "batch", 3)


def test_onnxruntime_quantized_ops_check_dtypes_and_zero_points() -> None:
    from hwgen.ir.ops import DynamicQuantizeAttrs, MatMulIntegerAttrs, QLinearMatMulAttrs

    u8, s8 = Int(8, signed=False), Int(8)
    assert DynamicQuantizeAttrs().infer([t(3, 4)]) == [t(3, 4, dtype=u8), t(), t(dtype=u8)]
    assert MatMulIntegerAttrs().infer([t(2, 3, 4, dtype=u8), t(4, 5, dtype=s8), t(dtype=u8), t(5, dtype=s8)]) == [t(2, 3, 5, dtype=Int(32))]
    with pytest.raises(IRError, match="B must be int8 or uint8"):
        MatMulIntegerAttrs().infer([t(3, 4, dtype=u8), t(4, 5)])
    with pytest.raises(IRError, match=r"b_zero_point must be a scalar or \[5\]"):
        MatMulIntegerAttrs().infer([t(3, 4, dtype=u8), t(4, 5, dtype=s8), None, t(4, dtype=s8)])
    with pytest.raises(IRError, match="a_zero_point must have the dtype of its input"):
        MatMulIntegerAttrs().infer([t(3, 4, dtype=u8), t(4, 5, dtype=s8), t(dtype=s8)])
    q = [t(3, 4, dtype=s8), t(), t(dtype=s8), t(4, 5, dtype=s8), t(5), t(5, dtype=s8), t(), t(dtype=u8)]
    assert QLinearMatMulAttrs().infer(q) == [t(3, 5, dtype=u8)]
    with pytest.raises(IRError, match=r"y_scale must be an f32 scalar, got f32\[2\]"):
        QLinearMatMulAttrs().infer(q[:6] + [t(2), q[7]])
