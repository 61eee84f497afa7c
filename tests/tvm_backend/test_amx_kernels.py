"""The AMX int8-tile Linear (`amx_kernels.linear`): bit-identical with the AVX-512 VNNI kernel (packed weights) and
the float-panel kernel (int8 weights), and the integer reference's sums, at any token count, K and N (partial token
tiles, an odd tile at the end, K padded to 64)."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from hypothesis import given, settings
from hypothesis import strategies as st

from hwgen.tvm_backend import amx_kernels, quad_kernels
from hwgen.tvm_backend.linear import ACT_MAX, reference_int8
from hwgen.tvm_backend.llvm import compile_module, host_has_amx, llvm_target
from hwgen.tvm_backend.packing import pack_int8_tiles, pack_quads

pytestmark = pytest.mark.skipif(not host_has_amx(), reason="the host has no AMX-INT8 (or the OS refuses its state)")
LEVELS = {"ternary": [-1, 0, 1], "binary": [-1, 1]}


def _compiled(func, name: str):
    return compile_module(tvm.IRModule({name: func.with_attr("global_symbol", name)}))[name]


def _run(run, x: np.ndarray, panels, scale: np.ndarray, bias: np.ndarray) -> np.ndarray:
    out = tvm.runtime.tensor(np.zeros((x.shape[0], panels.rows_padded), np.float32))
    run(*(tvm.runtime.tensor(a) for a in (x, panels.data, scale, bias)), out)
    return out.numpy()


def test_the_host_level_is_amx() -> None:
    assert quad_kernels.simd_level(llvm_target("host")) == "amx"


@settings(deadline=None, max_examples=12)
@given(kind=st.sampled_from(sorted(LEVELS)), k=st.integers(1, 200), n=st.integers(1, 70),
       tokens=st.lists(st.integers(1, 50), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_amx_linear_is_bit_identical_with_vnni_and_exact(kind, k, n, tokens, seed) -> None:
    rng = np.random.default_rng(seed)
    codes = rng.choice(LEVELS[kind], (k, n)).astype(np.int8)
    panels = pack_quads(np.ascontiguousarray(codes.T), kind)
    scale = rng.uniform(0.01, 0.1, panels.rows_padded).astype(np.float32)
    bias = rng.normal(size=panels.rows_padded).astype(np.float32)
    amx = _compiled(amx_kernels.linear(panels, None, ACT_MAX), "amx")
    vnni = _compiled(quad_kernels.linear(panels, None, ACT_MAX, "avx512"), "vnni")
    for m in tokens:  # one build, symbolic token count
        x = rng.normal(size=(m, k)).astype(np.float32)
        x[0, : min(k, 3)] = [1e3, -1e3, 0.5][: min(k, 3)]  # a peak that crushes the other codes
        if m > 1:
            x[1] = 0  # an all-zero token: scale 1, codes 0
        got = _run(amx, x, panels, scale, bias)
        np.testing.assert_array_equal(got, _run(vnni, x, panels, scale, bias))
        want = reference_int8(x, codes, scale[:n], bias[:n])  # the same sums; numpy rounds the rescale apart
        np.testing.assert_allclose(got[:, :n], want, rtol=1e-6, atol=1e-6)


def test_amx_linear_extreme_codes_sum_exactly() -> None:
    """Every activation at +-127 and every weight at +-1 over K = 1536: sums of +-195,072, exact in int32."""
    k, n = 1536, 64
    codes = np.ones((k, n), np.int8)
    codes[:, 1::2] = -1
    panels = pack_quads(np.ascontiguousarray(codes.T), "ternary")
    ones, zeros = np.ones(panels.rows_padded, np.float32), np.zeros(panels.rows_padded, np.float32)
    x = np.full((33, k), 2.0, np.float32)
    x[1::2] = -2.0
    got = _run(_compiled(amx_kernels.linear(panels, None, ACT_MAX), "amx"), x, panels, ones, zeros)
    np.testing.assert_allclose(got[:, :n], reference_int8(x, codes, ones[:n], zeros[:n]), rtol=1e-6)
    assert got[0, 0] == pytest.approx(k * 2.0) and got[0, 1] == pytest.approx(-k * 2.0)


@settings(deadline=None, max_examples=8)
@given(k=st.integers(1, 200), n=st.integers(1, 70), m=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_amx_int8_weights_match_the_float_panel_kernel(k, n, m, seed) -> None:
    """int8 codes in the tile layout, loaded straight into the tile registers: the same outputs, bit for bit, as
    `gemm_kernels.int_linear` (exact sums on integer-valued floats), which every other host runs."""
    from hwgen.tvm_backend import gemm_kernels
    from hwgen.tvm_backend.linear import EXACT_K
    from hwgen.tvm_backend.packing import pack_int8

    rng = np.random.default_rng(seed)
    codes = rng.integers(-127, 128, (k, n)).astype(np.int8)
    tiles, panels = pack_int8_tiles(np.ascontiguousarray(codes.T)), pack_int8(np.ascontiguousarray(codes.T))
    assert tiles.rows_padded == panels.rows_padded
    scale = rng.uniform(0.01, 0.1, tiles.rows_padded).astype(np.float32)
    bias = rng.normal(size=tiles.rows_padded).astype(np.float32)
    x = rng.normal(size=(m, k)).astype(np.float32)
    got = _run(_compiled(amx_kernels.linear(tiles, None, ACT_MAX), "amx"), x, tiles, scale, bias)
    floats = _compiled(gemm_kernels.int_linear(panels.rows_padded, k, "int8", ACT_MAX, EXACT_K, "avx512"), "floats")
    np.testing.assert_array_equal(got, _run(floats, x, panels, scale, bias))
