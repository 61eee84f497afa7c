"""Per-token symmetric int8 quantisation inside a TIR kernel: the first step of every int8-activation Linear.

The x86 kernel (`quad_kernels.linear`: int8 codes and their sum, `quantise_int8_macro`), the float-panel one
(`gemm_kernels.int_linear`: integer-valued float codes, `quantise_macro`) and the AMX one (`amx_kernels.linear`:
int8 codes, `quantise_macro(..., "int8")`) quantise with the same float operations,
those of `linear.reference_int8`: scale = max|x_token| / act_max (1 for an all-zero token), codes =
clip(round_half_even(x / scale), -act_max, act_max).
"""

from __future__ import annotations

from tvm import tirx
from tvm.script import tirx as T

#: float32 lanes of the vectorised loops (AVX2; NEON uses two registers per vector).
LANES = 8


def _scale_macro(k: int, act_max: int, lanes: int):
    """T.macro(x, i, scale, srow, peak): scale[srow] of token i of x[., k]; peak: a [1, lanes] float32 scratch."""
    kv = k // lanes * lanes

    @T.macro
    def token_scale(x, i, scale, srow, peak):
        peak[0, T.ramp(0, 1, lanes)] = T.broadcast(T.float32(0), lanes)
        for j0 in range(kv // lanes):
            peak[0, T.ramp(0, 1, lanes)] = T.max(peak[0, T.ramp(0, 1, lanes)], T.abs(x[i, T.ramp(j0 * lanes, 1, lanes)]))
        for j in range(kv, k):
            peak[0, 0] = T.max(peak[0, 0], T.abs(x[i, j]))
        scale[srow] = peak[0, 0]
        for lane in range(1, lanes):
            scale[srow] = T.max(scale[srow], peak[0, lane])
        scale[srow] = T.if_then_else(scale[srow] == T.float32(0), T.float32(1), scale[srow] / T.float32(act_max))

    return token_scale


def _codes(v: tirx.PrimExpr, scale: tirx.PrimExpr, act_max: int, lanes: int) -> tirx.PrimExpr:
    """clip(round_half_even(v / scale), -act_max, act_max) of a float32 vector of `lanes` (1: a scalar)."""
    if lanes == 1:
        return T.max(T.min(T.round(v / scale), T.float32(act_max)), T.float32(-act_max))
    return T.max(T.min(T.round(v / T.broadcast(scale, lanes)), T.broadcast(T.float32(act_max), lanes)),
                 T.broadcast(T.float32(-act_max), lanes))


def quantise_macro(k: int, act_max: int, lanes: int = LANES, dtype: str = "float32"):
    """T.macro(x, i, codes, crow, scale, srow, peak): token i of x[., k] float32 into codes[crow, :k] and
    scale[srow]; peak: a [1, lanes] float32 scratch buffer. `dtype`: the codes' type, "float32" (integer-valued
    floats, `gemm_kernels.int_linear`) or "int8" (`amx_kernels`: signed x signed products need no code sum)."""
    kv = k // lanes * lanes
    token_scale = _scale_macro(k, act_max, lanes)

    def as_codes(v, n):
        return v if dtype == "float32" else T.Cast(dtype if n == 1 else f"{dtype}x{n}", v)

    @T.macro
    def quantise(x, i, codes, crow, scale, srow, peak):
        token_scale(x, i, scale, srow, peak)
        for j0 in range(kv // lanes):
            codes[crow, T.ramp(j0 * lanes, 1, lanes)] = as_codes(
                _codes(x[i, T.ramp(j0 * lanes, 1, lanes)], scale[srow], act_max, lanes), lanes)
        for j in range(kv, k):
            codes[crow, j] = as_codes(_codes(x[i, j], scale[srow], act_max, 1), 1)

    return quantise


def quantise_int8_macro(k: int, act_max: int, lanes: int = LANES):
    """T.macro(x, i, row, t, hsum, scale, peak, total): token i of x[., k] float32 into int8 codes row[t, :k], their
    sum hsum[t] and scale[t] (the codes of `quantise_macro`, written as int8 and summed in the same vector pass);
    peak: a [1, lanes] float32 and total a [1, lanes] int32 scratch buffer."""
    kv = k // lanes * lanes
    token_scale = _scale_macro(k, act_max, lanes)

    @T.macro
    def quantise(x, i, row, t, hsum, scale, peak, total):
        token_scale(x, i, scale, t, peak)
        total[0, T.ramp(0, 1, lanes)] = T.broadcast(T.int32(0), lanes)
        for j0 in range(kv // lanes):
            row[t, T.ramp(j0 * lanes, 1, lanes)] = T.Cast(
                f"int8x{lanes}", _codes(x[i, T.ramp(j0 * lanes, 1, lanes)], scale[t], act_max, lanes))
            total[0, T.ramp(0, 1, lanes)] = total[0, T.ramp(0, 1, lanes)] + T.Cast(
                f"int32x{lanes}", _codes(x[i, T.ramp(j0 * lanes, 1, lanes)], scale[t], act_max, lanes))
        hsum[t] = 0
        for j in range(kv, k):
            row[t, j] = T.Cast("int8", _codes(x[i, j], scale[t], act_max, 1))
            hsum[t] = hsum[t] + T.Cast("int32", _codes(x[i, j], scale[t], act_max, 1))
        for lane in range(lanes):
            hsum[t] = hsum[t] + total[0, lane]

    return quantise
