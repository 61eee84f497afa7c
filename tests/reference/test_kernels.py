"""Every IR op has a reference kernel, and the kernels keep ONNX's dtypes."""

from __future__ import annotations

import numpy as np

from hwgen.ir import Binary, Float32, Int, Ternary
from hwgen.ir.ops import ALL_OPS, CastAttrs, ClipAttrs, DequantizeAttrs, FakeQuantAttrs, ModAttrs, QuantizeAttrs
from hwgen.reference.kernels import KERNELS, sigmoid


def test_every_op_has_a_kernel() -> None:
    missing = [name for name, cls in ALL_OPS.items() if cls not in KERNELS]
    assert not missing, f"ops without a reference kernel: {missing}"


def test_sigmoid_is_stable_and_float32() -> None:
    x = np.asarray([-1e4, -88.0, -1.0, 0.0, 1.0, 88.0, 1e4], np.float32)
    y = sigmoid(x)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    from scipy.special import expit

    np.testing.assert_allclose(y, expit(x.astype(np.float64)), rtol=1e-6, atol=1e-30)


def test_integer_kernels_keep_their_dtype() -> None:
    (clipped,) = KERNELS[ClipAttrs](ClipAttrs(-1, 1), [np.asarray([-5, 0, 7], np.int8)])
    assert clipped.dtype == np.int8 and clipped.tolist() == [-1, 0, 1]
    (mod,) = KERNELS[ModAttrs](ModAttrs(), [np.asarray([-7, 7], np.int64), np.asarray([3, -3], np.int64)])
    assert mod.tolist() == [2, -2]
    (cast,) = KERNELS[CastAttrs](CastAttrs(Int(32)), [np.asarray([-1.7, 2.9], np.float32)])
    assert cast.dtype == np.int32 and cast.tolist() == [-1, 2]
    (as_bool,) = KERNELS[CastAttrs](CastAttrs(Int(1, signed=False)), [np.asarray([0.0, 0.2], np.float32)])
    assert as_bool.tolist() == [0, 1]


def test_quantize_dequantize_round_trip_on_ternary_and_binary_codes() -> None:
    scale = np.asarray([0.5, 0.25], np.float32)
    for kind, codes in ((Ternary(), np.asarray([[-1, 0, 1], [1, 1, 0]], np.int8)), (Binary(), np.asarray([[-1, 1, 1], [1, -1, -1]], np.int8))):
        (w,) = KERNELS[DequantizeAttrs](DequantizeAttrs(axis=0), [codes.astype(kind.numpy), scale])
        assert w.dtype == np.float32
        (back,) = KERNELS[QuantizeAttrs](QuantizeAttrs(axis=0), [w, scale])
        np.testing.assert_array_equal(back, codes)
    assert Float32().numpy == np.float32


def test_fake_quant_narrow_signed_two_bits_is_ternary() -> None:
    x = np.asarray([-3.0, -0.6, -0.4, 0.0, 0.4, 0.6, 3.0], np.float32)
    (y,) = KERNELS[FakeQuantAttrs](FakeQuantAttrs(bits=2, signed=True, narrow=True), [x, np.float32(1.0), np.float32(0.0)])
    assert y.tolist() == [-1.0, -1.0, -0.0, 0.0, 0.0, 1.0, 1.0]


def test_reductions_of_an_empty_set_give_the_identity() -> None:
    from hwgen.ir.ops import ReduceMaxAttrs, ReduceMinAttrs, ReduceSumAttrs

    empty = np.zeros((2, 0, 3), np.float32)
    (s,) = KERNELS[ReduceSumAttrs](ReduceSumAttrs((1,)), [empty])
    (mx,) = KERNELS[ReduceMaxAttrs](ReduceMaxAttrs((1,), keepdims=False), [empty])
    (mn,) = KERNELS[ReduceMinAttrs](ReduceMinAttrs((1,)), [np.zeros((0, 2), np.int32)])
    assert s.shape == (2, 1, 3) and not s.any() and s.dtype == np.float32
    assert mx.shape == (2, 3) and np.all(mx == -np.inf)
    assert mn.dtype == np.int32 and np.all(mn == np.iinfo(np.int32).max)
    (any_,) = KERNELS[ReduceMaxAttrs](ReduceMaxAttrs((0,)), [np.asarray([[0, 1], [0, 0]], np.uint8)])
    np.testing.assert_array_equal(any_, [[0, 1]])


def test_elementwise_edge_values() -> None:
    from hwgen.ir.ops import IsInfAttrs, LogAttrs, MaxAttrs, MinAttrs, ReciprocalAttrs

    x = np.asarray([np.nan, -np.inf, np.inf, 0.0, -0.0, 2.0], np.float32)
    (pos,) = KERNELS[IsInfAttrs](IsInfAttrs(detect_positive=True, detect_negative=False), [x])
    np.testing.assert_array_equal(pos, [0, 0, 1, 0, 0, 0])
    (mx,) = KERNELS[MaxAttrs](MaxAttrs(), [x, np.float32(1.0), np.zeros((2, 1), np.float32)])
    assert mx.shape == (2, 6) and np.isnan(mx[:, 0]).all() and mx[0, 5] == 2.0  # NaN propagates
    (mn,) = KERNELS[MinAttrs](MinAttrs(), [np.asarray([3, -1], np.int8)])
    assert mn.dtype == np.int8
    (log,) = KERNELS[LogAttrs](LogAttrs(), [x])
    assert log[3] == -np.inf and np.isnan(log[1])
    (rec,) = KERNELS[ReciprocalAttrs](ReciprocalAttrs(), [x])
    assert rec[3] == np.inf and rec[4] == -np.inf and rec.dtype == np.float32


def test_clip_with_min_above_max_gives_max() -> None:
    (y,) = KERNELS[ClipAttrs](ClipAttrs(2.0, 1.0), [np.asarray([-5.0, 1.5, 7.0], np.float32)])
    np.testing.assert_array_equal(y, [1.0, 1.0, 1.0])


def test_index_kernels() -> None:
    import pytest

    from hwgen.errors import HwgenError
    from hwgen.ir.ops import GatherNDAttrs, PadAttrs, ScatterNDAttrs, TriluAttrs

    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    (rows,) = KERNELS[GatherNDAttrs](GatherNDAttrs(), [data, np.asarray([[2], [-3]], np.int64)])
    np.testing.assert_array_equal(rows, data[[2, 0]])
    with pytest.raises(HwgenError, match="GatherND: index out of range"):
        KERNELS[GatherNDAttrs](GatherNDAttrs(), [data, np.asarray([[3]], np.int64)])
    (last,) = KERNELS[ScatterNDAttrs](ScatterNDAttrs(), [data, np.asarray([[1, 1], [1, 1]]), np.float32([7, 9])])
    assert last[1, 1] == 9  # repeated indices without reduction: the last write wins
    (mul,) = KERNELS[ScatterNDAttrs](ScatterNDAttrs("mul"), [data, np.asarray([[1, 1], [1, 1]]), np.float32([2, 3])])
    assert mul[1, 1] == 5 * 6
    (cropped,) = KERNELS[PadAttrs](PadAttrs((-1, 2, 0, -1), "reflect"), [data])
    np.testing.assert_array_equal(cropped, np.pad(data[1:, :3], ((0, 0), (2, 0)), mode="reflect"))
    (upper,) = KERNELS[TriluAttrs](TriluAttrs(True, 1), [np.ones((2, 3, 3), np.int64)])
    np.testing.assert_array_equal(upper[1], [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
