"""Per-token symmetric int8 quantisation inside a TIR kernel: the first step of every int8-activation Linear.

One macro so the AVX2 kernel (`quad_kernels.linear`) and the float-panel one (`gemm_kernels.int_linear`)
quantise with the same float operations, those of `linear.reference_int8`: scale = max|x_token| /
act_max (1 for an all-zero token), codes = clip(round_half_even(x / scale), -act_max, act_max).
"""

from __future__ import annotations

from tvm.script import tirx as T

#: float32 lanes of the vectorised loops (AVX2; NEON uses two registers per vector).
LANES = 8


def quantise_macro(k: int, act_max: int):
    """T.macro(x, i, codes, crow, scale, srow, peak): token i of x[., k] float32 into codes[crow, :k]
    (integer-valued float32) and scale[srow]; peak: a [1, LANES] float32 scratch buffer."""
    kv = k // LANES * LANES

    def vec(buf, i, j):
        return buf[i, T.ramp(j, 1, LANES)]

    @T.macro
    def quantise(x, i, codes, crow, scale, srow, peak):
        peak[0, T.ramp(0, 1, LANES)] = T.broadcast(T.float32(0), LANES)
        for j0 in range(kv // LANES):
            peak[0, T.ramp(0, 1, LANES)] = T.max(peak[0, T.ramp(0, 1, LANES)], T.abs(vec(x, i, j0 * LANES)))
        for j in range(kv, k):
            peak[0, 0] = T.max(peak[0, 0], T.abs(x[i, j]))
        scale[srow] = peak[0, 0]
        for lane in range(1, LANES):
            scale[srow] = T.max(scale[srow], peak[0, lane])
        scale[srow] = T.if_then_else(scale[srow] == T.float32(0), T.float32(1), scale[srow] / T.float32(act_max))
        for j0 in range(kv // LANES):
            codes[crow, T.ramp(j0 * LANES, 1, LANES)] = T.max(T.min(
                T.round(vec(x, i, j0 * LANES) / T.broadcast(scale[srow], LANES)),
                T.broadcast(T.float32(act_max), LANES)), T.broadcast(T.float32(-act_max), LANES))
        for j in range(kv, k):
            codes[crow, j] = T.max(T.min(T.round(x[i, j] / scale[srow]), T.float32(act_max)), T.float32(-act_max))

    return quantise
