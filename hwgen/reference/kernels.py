"""numpy kernels, one per IR op: the executable specification of each op's semantics.

`KERNELS[attrs_type](attrs, inputs)` returns the list of outputs; absent optional
inputs are None. Float math is done in float32 as ONNX does; LSTM accumulates in
float32 step by step like onnxruntime.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
from threadpoolctl import threadpool_limits

from hwgen.ir import ops
from hwgen.ir.ops import OpAttrs
from hwgen.ir.ops.shape import slice_bounds
from hwgen.ir.types import Int
from hwgen.reference.registry import KERNELS, Arrays, Kernel, _f32, kernel, sigmoid  # noqa: F401 (re-exported)

_BINARY = {
    ops.AddAttrs: np.add, ops.SubAttrs: np.subtract, ops.MulAttrs: np.multiply, ops.PowAttrs: np.power,
}
#: Bool-valued binary ops (bools are held as uint8 0/1).
_PREDICATES = {
    ops.EqualAttrs: np.equal, ops.GreaterAttrs: np.greater, ops.GreaterOrEqualAttrs: np.greater_equal,
    ops.LessAttrs: np.less, ops.LessOrEqualAttrs: np.less_equal,
    ops.AndAttrs: np.logical_and, ops.OrAttrs: np.logical_or, ops.XorAttrs: np.logical_xor,
}


@kernel(*_BINARY)
def _binary(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _BINARY[type(attrs)](x[0], x[1])  # type: ignore[index]
    return [out.astype(x[0].dtype)]  # type: ignore[union-attr]


@kernel(*_PREDICATES)
def _predicate(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    return [_PREDICATES[type(attrs)](x[0], x[1]).astype(np.uint8)]  # type: ignore[index]


@kernel(ops.MaxAttrs, ops.MinAttrs)
def _max_min(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    fn = np.maximum if isinstance(attrs, ops.MaxAttrs) else np.minimum  # both propagate NaN, as ONNX does
    out = x[0]
    assert out is not None
    for other in x[1:]:
        out = fn(out, other)
    return [np.asarray(out).astype(x[0].dtype)]  # type: ignore[union-attr]


@kernel(ops.DivAttrs)
def _div(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    a, b = x
    assert a is not None and b is not None
    if np.issubdtype(a.dtype, np.integer):
        return [np.trunc(a / b).astype(a.dtype)]
    return [np.divide(a, b).astype(a.dtype)]


@kernel(ops.ModAttrs)
def _mod(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ModAttrs) and x[0] is not None and x[1] is not None
    out = np.fmod(x[0], x[1]) if attrs.fmod else np.mod(x[0], x[1])
    return [out.astype(x[0].dtype)]


@kernel(ops.ClipAttrs)
def _clip(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ClipAttrs) and x[0] is not None
    v = x[0]
    lo = None if attrs.min is None else np.asarray(attrs.min).astype(v.dtype)
    hi = None if attrs.max is None else np.asarray(attrs.max).astype(v.dtype)
    out = v.copy() if lo is None else np.maximum(v, lo)
    return [(out if hi is None else np.minimum(out, hi)).astype(v.dtype)]  # min above max: every value is max


@kernel(ops.WhereAttrs)
def _where(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    return [np.where(np.asarray(x[0]).astype(bool), x[1], x[2])]


def _erf(v: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(v)

_UNARY: dict[type[OpAttrs], Callable[[np.ndarray], np.ndarray]] = {
    ops.IdentityAttrs: lambda v: v.copy(),
    ops.NegAttrs: np.negative,
    ops.SqrtAttrs: np.sqrt,
    ops.SigmoidAttrs: sigmoid,
    ops.TanhAttrs: np.tanh,
    ops.ReluAttrs: lambda v: np.maximum(v, 0).astype(v.dtype),
    ops.ErfAttrs: lambda v: _erf(v).astype(v.dtype),
    ops.ExpAttrs: np.exp,
    ops.LogAttrs: np.log,
    ops.ReciprocalAttrs: lambda v: np.reciprocal(v).astype(v.dtype),
    ops.NotAttrs: lambda v: (v == 0).astype(np.uint8),
    ops.IsNaNAttrs: lambda v: np.isnan(v).astype(np.uint8),
}


@kernel(*_UNARY)
def _unary(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # exp overflow, log(0), 1/0 are defined (inf, NaN)
        return [_UNARY[type(attrs)](x[0])]  # type: ignore[arg-type]


@kernel(ops.IsInfAttrs)
def _is_inf(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.IsInfAttrs) and x[0] is not None
    v = x[0]
    found = (np.isposinf(v) & attrs.detect_positive) | (np.isneginf(v) & attrs.detect_negative)
    return [found.astype(np.uint8)]


@kernel(ops.GeluAttrs)
def _gelu(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.GeluAttrs) and x[0] is not None
    v = x[0].astype(np.float64)
    if attrs.approximate == "tanh":
        out = 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
    else:
        out = 0.5 * v * (1 + _erf(v / math.sqrt(2)))
    return [out.astype(np.float32)]


@kernel(ops.CastAttrs)
def _cast(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.CastAttrs) and x[0] is not None
    to = attrs.to
    if isinstance(to, Int) and to.bits == 1:  # bool: non-zero is true
        return [(x[0] != 0).astype(to.numpy)]
    if isinstance(to, Int) and np.issubdtype(x[0].dtype, np.floating):  # ONNX truncates toward zero
        return [np.trunc(x[0]).astype(to.numpy)]
    return [x[0].astype(to.numpy)]


# ---- shapes --------------------------------------------------------------------------


@kernel(ops.ReshapeAttrs)
def _reshape(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ReshapeAttrs) and x[0] is not None
    return [x[0].reshape([int(d) for d in attrs.shape])]  # symbolic dims are bound before kernels run


@kernel(ops.ShapeAttrs)
def _shape(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ShapeAttrs) and x[0] is not None
    return [np.asarray(x[0].shape[attrs.start : attrs.end], dtype=np.int64).reshape(-1)]


@kernel(ops.RangeAttrs)
def _range(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.RangeAttrs)
    start, size = int(attrs.start), int(attrs.size)  # type: ignore[arg-type]
    return [(start + attrs.delta * np.arange(max(size, 0), dtype=np.int64)).astype(attrs.dtype.numpy)]


@kernel(ops.FlattenAttrs)
def _flatten(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.FlattenAttrs) and x[0] is not None
    a = x[0]
    axis = attrs.axis + a.ndim if attrs.axis < 0 else attrs.axis
    return [a.reshape(int(np.prod(a.shape[:axis])), -1)]


@kernel(ops.SqueezeAttrs)
def _squeeze(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.SqueezeAttrs) and x[0] is not None
    return [np.squeeze(x[0], axis=tuple(attrs.axes)) if attrs.axes else np.squeeze(x[0])]


@kernel(ops.UnsqueezeAttrs)
def _unsqueeze(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.UnsqueezeAttrs) and x[0] is not None
    rank = x[0].ndim + len(attrs.axes)
    return [np.expand_dims(x[0], axis=tuple(sorted(a % rank for a in attrs.axes)))]


@kernel(ops.TransposeAttrs)
def _transpose(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.TransposeAttrs) and x[0] is not None
    return [np.transpose(x[0], attrs.perm)]


@kernel(ops.ConcatAttrs)
def _concat(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ConcatAttrs)
    return [np.concatenate([a for a in x if a is not None], axis=attrs.axis)]


@kernel(ops.SliceAttrs)
def _slice(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.SliceAttrs) and x[0] is not None
    index = [slice(None)] * x[0].ndim
    for start, end, axis, step in zip(attrs.starts, attrs.ends, attrs.axes, attrs.steps):
        index[axis] = slice_bounds(start, end, step, x[0].shape[axis])
    return [x[0][tuple(index)]]


@kernel(ops.GatherAttrs)
def _gather(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.GatherAttrs) and x[0] is not None and x[1] is not None
    axis = attrs.axis % x[0].ndim
    idx = np.where(x[1] < 0, x[1] + x[0].shape[axis], x[1])
    return [np.take(x[0], idx, axis=axis)]


@kernel(ops.SplitAttrs)
def _split(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.SplitAttrs) and x[0] is not None
    return list(np.split(x[0], np.cumsum(attrs.sizes)[:-1], axis=attrs.axis))


@kernel(ops.ExpandAttrs)
def _expand(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ExpandAttrs) and x[0] is not None
    shape = np.broadcast_shapes(x[0].shape, tuple(int(d) for d in attrs.shape))
    return [np.broadcast_to(x[0], shape).copy()]


# ---- dense algebra -----------------------------------------------------------------------


@kernel(ops.MatMulAttrs)
def _matmul(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    a, b = x
    assert a is not None and b is not None
    if a.ndim > 2 or b.ndim > 2:  # numpy's stacked matmul drops to a slow non-BLAS loop on strided views
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)  # (e.g. attention's transposed keys): copy once
        if b.ndim == 2 and a.ndim > 2:  # [..., k] @ [k, n]: one BLAS call over the flattened leading dims
            return [(a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])]
    return [np.matmul(a, b)]


@kernel(ops.GemmAttrs)
def _gemm(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.GemmAttrs) and x[0] is not None and x[1] is not None
    a = x[0].T if attrs.trans_a else x[0]
    b = x[1].T if attrs.trans_b else x[1]
    y = np.float32(attrs.alpha) * (a @ b)
    if len(x) > 2 and x[2] is not None:
        y = y + np.float32(attrs.beta) * x[2]
    return [_f32(y)]


@kernel(ops.SoftmaxAttrs)
def _softmax(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.SoftmaxAttrs) and x[0] is not None
    shifted = x[0] - x[0].max(axis=attrs.axis, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=attrs.axis, keepdims=True)
    if isinstance(attrs, ops.LogSoftmaxAttrs):
        return [_f32(shifted - np.log(s))]
    return [_f32(e / s)]


KERNELS[ops.LogSoftmaxAttrs] = _softmax


@kernel(ops.LayerNormAttrs)
def _layernorm(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.LayerNormAttrs) and x[0] is not None
    v = x[0]
    axes = tuple(range(attrs.axis % v.ndim, v.ndim))
    mean = v.mean(axis=axes, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (v - mean) / np.sqrt(var + np.float32(attrs.epsilon)) * x[1]
    if len(x) > 2 and x[2] is not None:
        y = y + x[2]
    return [_f32(y)]


@kernel(ops.ReduceMeanAttrs)
def _reduce_mean(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ReduceMeanAttrs) and x[0] is not None
    axes = tuple(attrs.axes) if attrs.axes else None
    return [_f32(x[0].mean(axis=axes, keepdims=attrs.keepdims))]


@kernel(ops.ReduceSumAttrs)
def _reduce_sum(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.ReduceSumAttrs) and x[0] is not None
    axes = tuple(attrs.axes) if attrs.axes else None
    return [np.sum(x[0], axis=axes, keepdims=attrs.keepdims, dtype=x[0].dtype)]


def _extreme(dtype: np.dtype, highest: bool) -> object:
    """The identity of max (lowest value) or min (highest value) for `dtype`: what an empty set reduces to."""
    if np.issubdtype(dtype, np.floating):
        return np.inf if highest else -np.inf
    info = np.iinfo(dtype)
    return info.max if highest else info.min


@kernel(ops.ReduceMaxAttrs, ops.ReduceMinAttrs)
def _reduce_max_min(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, (ops.ReduceMaxAttrs, ops.ReduceMinAttrs)) and x[0] is not None
    axes = tuple(attrs.axes) if attrs.axes else None
    v = x[0]
    if isinstance(attrs, ops.ReduceMaxAttrs):
        out = np.max(v, axis=axes, keepdims=attrs.keepdims, initial=_extreme(v.dtype, highest=False))
    else:
        out = np.min(v, axis=axes, keepdims=attrs.keepdims, initial=_extreme(v.dtype, highest=True))
    return [np.asarray(out, dtype=v.dtype)]


# ---- quantization ---------------------------------------------------------------------


def _per_axis(param: np.ndarray, rank: int, axis: Optional[int]) -> np.ndarray:
    if axis is None or param.size == 1:
        return param.reshape(())
    shape = [1] * rank
    shape[axis % rank] = -1
    return param.reshape(shape)


@kernel(ops.DequantizeAttrs)
def _dequantize(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.DequantizeAttrs) and x[0] is not None and x[1] is not None
    codes = x[0].astype(np.int32)
    zp = _per_axis(x[2], codes.ndim, attrs.axis).astype(np.int32) if len(x) > 2 and x[2] is not None else np.int32(0)
    scale = _per_axis(x[1], codes.ndim, attrs.axis).astype(np.float32)
    return [_f32((codes - zp).astype(np.float32) * scale)]


@kernel(ops.QuantizeAttrs)
def _quantize(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.QuantizeAttrs) and x[0] is not None and x[1] is not None
    t = Int(attrs.bits, attrs.signed)
    scale = _per_axis(x[1], x[0].ndim, attrs.axis).astype(np.float32)
    zp = _per_axis(x[2], x[0].ndim, attrs.axis).astype(np.int64) if len(x) > 2 and x[2] is not None else 0
    q = np.rint(x[0] / scale).astype(np.int64) + zp
    return [np.clip(q, t.min, t.max).astype(t.numpy)]


def _round(v: np.ndarray, mode: str) -> np.ndarray:
    if mode == "ROUND":
        return np.rint(v)
    if mode == "CEIL":
        return np.ceil(v)
    if mode == "FLOOR":
        return np.floor(v)
    return np.trunc(v)


@kernel(ops.FakeQuantAttrs)
def _fake_quant(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.FakeQuantAttrs) and x[0] is not None and x[1] is not None and x[2] is not None
    bits = attrs.bits
    if attrs.signed:
        lo, hi = -(2 ** (bits - 1)) + int(attrs.narrow), 2 ** (bits - 1) - 1
    else:
        lo, hi = 0, 2**bits - 1 - int(attrs.narrow)
    q = np.clip(_round(x[0] / x[1] + x[2], attrs.rounding), lo, hi)
    return [_f32((q - x[2]) * x[1])]


@kernel(ops.BipolarQuantAttrs)
def _bipolar(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert x[0] is not None and x[1] is not None
    return [_f32(np.where(x[0] >= 0, 1.0, -1.0) * x[1])]


@kernel(ops.DynamicQuantizeAttrs)
def _dynamic_quantize(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert x[0] is not None
    v = _f32(x[0])
    lo = min(np.float32(v.min()) if v.size else np.float32(0), np.float32(0))
    hi = max(np.float32(v.max()) if v.size else np.float32(0), np.float32(0))
    scale = np.float32(1) if hi == lo else np.float32((hi - lo) / np.float32(255))
    zero_point = np.rint(np.clip(np.float32(0) - lo / scale, 0, 255))
    q = np.clip(np.rint(v / scale) + zero_point, 0, 255)
    return [q.astype(np.uint8), np.asarray(scale, np.float32), np.asarray(zero_point, np.uint8)]


def _centered(codes: np.ndarray, zero_point: Optional[np.ndarray], per_row: bool) -> np.ndarray:
    """codes - zero_point in int32; a 1-D zero point runs along the rows (per_row) or the columns."""
    c = codes.astype(np.int32)
    if zero_point is None:
        return c
    zp = zero_point.astype(np.int32)
    if zp.size > 1 and per_row:
        zp = zp.reshape(-1, 1)
    return c - (zp.reshape(()) if zp.size == 1 else zp)


def _int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int32 matmul, exact (numpy's integer matmul does not use BLAS; int64 guards the accumulation)."""
    return np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(np.int32)


@kernel(ops.MatMulIntegerAttrs)
def _matmul_integer(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    a, b, a_zp, b_zp = list(x) + [None] * (4 - len(x))
    assert a is not None and b is not None
    return [_int_matmul(_centered(a, a_zp, per_row=True), _centered(b, b_zp, per_row=False))]


@kernel(ops.QLinearMatMulAttrs)
def _qlinear_matmul(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp = x
    assert a is not None and b is not None and a_scale is not None and b_scale is not None
    assert y_scale is not None and y_zp is not None
    acc = _int_matmul(_centered(a, a_zp, per_row=True), _centered(b, b_zp, per_row=False))
    sa = _f32(a_scale).reshape(-1, 1) if a_scale.size > 1 else _f32(a_scale).reshape(())
    multiplier = _f32(sa * _f32(b_scale).reshape(-1 if b_scale.size > 1 else ()) / _f32(y_scale).reshape(()))
    info = np.iinfo(y_zp.dtype)
    q = np.rint(acc.astype(np.float32) * multiplier) + y_zp.astype(np.int32).reshape(())
    return [np.clip(q, info.min, info.max).astype(y_zp.dtype)]


# ---- recurrent ----------------------------------------------------------------------------


@kernel(ops.LSTMAttrs)
def _lstm(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.LSTMAttrs)
    arr = list(x) + [None] * (8 - len(x))
    xs, w, r, b, h0, c0, cscale, cshift = arr
    assert xs is not None and w is not None and r is not None
    seq, batch, _ = xs.shape
    hid, dirs = attrs.hidden, attrs.num_directions
    y = np.zeros((seq, dirs, batch, hid), np.float32)
    y_h = np.zeros((dirs, batch, hid), np.float32)
    y_c = np.zeros((dirs, batch, hid), np.float32)
    # The recurrence is a chain of small matrix-vector products: BLAS threads only add
    # synchronisation (30x slower on a busy 2-core machine), so it runs on one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        for d in range(dirs):
            _lstm_direction(attrs, d, xs, w[d], r[d], b, h0, c0, cscale, cshift, y, y_h, y_c)
    return [y, y_h, y_c]


def _lstm_direction(attrs: ops.LSTMAttrs, d: int, xs: np.ndarray, w: np.ndarray, r: np.ndarray,
                    b: Optional[np.ndarray], h0: Optional[np.ndarray], c0: Optional[np.ndarray],
                    cscale: Optional[np.ndarray], cshift: Optional[np.ndarray],
                    y: np.ndarray, y_h: np.ndarray, y_c: np.ndarray) -> None:
    """Direction `d` of the LSTM (w, r are that direction's matrices), writing y[:, d], y_h[d], y_c[d]."""
    seq, batch, _ = xs.shape
    hid = attrs.hidden
    bias = b[d, : 4 * hid] + b[d, 4 * hid :] if b is not None else np.zeros(4 * hid, np.float32)
    h = h0[d].copy() if h0 is not None else np.zeros((batch, hid), np.float32)
    c = c0[d].copy() if c0 is not None else np.zeros((batch, hid), np.float32)
    reverse = attrs.direction == "reverse" or d == 1
    xw = _f32(xs @ w.T + bias)  # the input projection, batched over all steps
    r_t = np.ascontiguousarray(r.T)
    for t in (range(seq - 1, -1, -1) if reverse else range(seq)):
        gates = _f32(xw[t] + h @ r_t)
        if attrs.clip is not None:
            gates = np.clip(gates, -attrs.clip, attrs.clip)
        iof = sigmoid(gates[:, : 3 * hid])  # gate order i, o, f, c: the three sigmoid gates are contiguous
        i, o, f = iof[:, :hid], iof[:, hid : 2 * hid], iof[:, 2 * hid :]
        c = _f32(f * c + i * np.tanh(gates[:, 3 * hid :]))
        cn = c * cscale[d] + cshift[d] if cscale is not None and cshift is not None else c
        h = _f32(o * np.tanh(cn))
        y[t, d] = h
    y_h[d], y_c[d] = h, c


# The kernels of the index/layout ops and of the recurrent ops beside LSTM register themselves on import.
from hwgen.reference import index_kernels, recurrent_kernels  # noqa: E402,F401
