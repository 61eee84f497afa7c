"""numpy kernels of the recurrent ops beside LSTM (which stays in kernels.py): GRU.

Registered in `hwgen.reference.kernels.KERNELS` on import (kernels.py imports this module).
Like the LSTM kernel: float32 step by step, the input projection batched over all steps,
one BLAS thread for the chain of small matrix-vector products.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from threadpoolctl import threadpool_limits

from hwgen.ir import ops
from hwgen.ir.ops import OpAttrs
from hwgen.reference.registry import Arrays, _f32, kernel, sigmoid


@kernel(ops.GRUAttrs)
def _gru(attrs: OpAttrs, x: Arrays) -> list[np.ndarray]:
    assert isinstance(attrs, ops.GRUAttrs)
    xs, w, r, b, h0 = list(x) + [None] * (5 - len(x))
    assert xs is not None and w is not None and r is not None
    seq, batch, _ = xs.shape
    dirs, hid = attrs.num_directions, attrs.hidden
    y = np.zeros((seq, dirs, batch, hid), np.float32)
    y_h = np.zeros((dirs, batch, hid), np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        for d in range(dirs):
            bias = b[d] if b is not None else np.zeros(6 * hid, np.float32)
            h = h0[d].copy() if h0 is not None else np.zeros((batch, hid), np.float32)
            reverse = attrs.direction == "reverse" or d == 1
            y_h[d] = _gru_direction(attrs, xs, w[d], r[d], bias, h, y[:, d], reverse)
    return [y, y_h]


def _clip(v: np.ndarray, clip: Optional[float]) -> np.ndarray:
    return v if clip is None else np.clip(v, -clip, clip)


def _gru_direction(attrs: ops.GRUAttrs, xs: np.ndarray, w: np.ndarray, r: np.ndarray, bias: np.ndarray,
                   h: np.ndarray, y: np.ndarray, reverse: bool) -> np.ndarray:
    """One direction (w [3H, input], r [3H, H], bias [6H]): writes each step's state into y [seq, batch, H]; returns the last."""
    hid = attrs.hidden
    wb, rb = bias[: 3 * hid], bias[3 * hid :]
    xw = _f32(xs @ w.T + wb)  # the input projection of every step; gate order z, r, h
    r_zr = np.ascontiguousarray(r[: 2 * hid].T)
    r_h = np.ascontiguousarray(r[2 * hid :].T)
    for t in (range(xs.shape[0] - 1, -1, -1) if reverse else range(xs.shape[0])):
        zr = sigmoid(_clip(_f32(xw[t, :, : 2 * hid] + (h @ r_zr + rb[: 2 * hid])), attrs.clip))
        z, reset = zr[:, :hid], zr[:, hid:]
        if attrs.linear_before_reset:
            pre = xw[t, :, 2 * hid :] + reset * (h @ r_h + rb[2 * hid :])
        else:
            pre = xw[t, :, 2 * hid :] + ((reset * h) @ r_h + rb[2 * hid :])
        candidate = np.tanh(_clip(_f32(pre), attrs.clip))
        h = _f32((1 - z) * candidate + z * h)
        y[t] = h
    return h
