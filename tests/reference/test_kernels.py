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
