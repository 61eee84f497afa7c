"""The int8-activation layout (QuadPanels) and its AVX2 matvec: exact integer results at any shape."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from hypothesis import given, settings
from hypothesis import strategies as st

from hwgen.tvm_backend import quad_kernels
from hwgen.tvm_backend.llvm import compile_module, llvm_target
from hwgen.tvm_backend.packing import QUAD_PANEL, pack_quads, unpack_quads

LEVELS = {"ternary": [-1, 0, 1], "binary": [-1, 1]}
avx2 = pytest.mark.skipif(not quad_kernels.available(llvm_target("host")), reason="the host CPU has no AVX2")
HOST_SIMD = quad_kernels.simd_level(llvm_target("host"))
#: The SIMD levels of `quad_kernels.linear` this host runs (every level up to its own).
HOST_LEVELS = [lv for lv in quad_kernels.TOKENS
               if quad_kernels.SIMD_LEVELS.index(lv) <= quad_kernels.SIMD_LEVELS.index(HOST_SIMD)]


@settings(deadline=None, max_examples=40)
@given(rows=st.integers(1, 70), cols=st.integers(1, 80), kind=st.sampled_from(sorted(LEVELS)), seed=st.integers(0, 2**16))
def test_quad_pack_unpack_roundtrip(rows, cols, kind, seed):
    codes = np.random.default_rng(seed).choice(LEVELS[kind], (rows, cols)).astype(np.int8)
    panels = pack_quads(codes, kind)
    np.testing.assert_array_equal(unpack_quads(panels), codes)
    assert panels.rows_padded % QUAD_PANEL == 0 and panels.cols_padded % panels.block == 0
    assert panels.nbytes * 8 == panels.rows_padded * panels.cols_padded * panels.bits  # 2 (1) bits per weight


def test_quad_pack_rejects_codes_outside_the_kind():
    with pytest.raises(ValueError, match="binary codes"):
        pack_quads(np.zeros((4, 4), np.int8), "binary")


@avx2
@pytest.mark.parametrize("kind", sorted(LEVELS))
@pytest.mark.parametrize("rows, cols", [(20, 13), (96, 700)])
def test_quad_matvec_is_exact(kind, rows, cols):
    """Extreme activations (-128 everywhere, +127 everywhere) and random ones; 700 columns cross an int16 widening chunk."""
    rng = np.random.default_rng(rows + cols)
    codes = rng.choice(LEVELS[kind], (rows, cols)).astype(np.int8)
    panels = pack_quads(codes, kind)
    func = quad_kernels.matvec(panels)
    name = func.attrs["global_symbol"]
    run = compile_module(tvm.IRModule({name: func}))[name]
    for x in (np.full(cols, -128), np.full(cols, 127), rng.integers(-128, 128, cols)):
        padded = np.zeros((1, panels.cols_padded), np.int8)
        padded[0, :cols] = x
        out = tvm.runtime.tensor(np.zeros((1, panels.rows_padded), np.int32))
        run(tvm.runtime.tensor(padded), tvm.runtime.tensor(panels.data), out)
        np.testing.assert_array_equal(out.numpy()[0, :rows], codes.astype(np.int64) @ x.astype(np.int64))


@avx2
@pytest.mark.parametrize("simd", HOST_LEVELS)
def test_linear_runs_tokens_in_groups_with_the_same_results_as_one_at_a_time(simd):
    """`linear` with its level's TOKENS tokens per pass through the weights: one token (below a group), a whole
    group and an odd count (the last group overlaps) give bit-for-bit what the one-token kernel gives, which is the
    integer reference's arithmetic. K = 45 and 40 rows: a partial block and a partial panel (two AVX-512 vectors)."""
    from hwgen.tvm_backend.linear import reference_int8

    group = quad_kernels.TOKENS[simd]
    assert group > 1
    rng = np.random.default_rng(5)
    k, rows = 45, 40
    codes = rng.choice(LEVELS["ternary"], (k, rows)).astype(np.int8)
    panels = pack_quads(np.ascontiguousarray(codes.T), "ternary")
    scale = rng.uniform(0.5, 1.0, panels.rows_padded).astype(np.float32)
    bias = rng.normal(size=panels.rows_padded).astype(np.float32)
    runs = {}
    for tokens in (1, group):
        func = quad_kernels.linear(panels, None, 127, simd, tokens).with_attr("global_symbol", f"linear{tokens}")
        runs[tokens] = compile_module(tvm.IRModule({f"linear{tokens}": func}))[f"linear{tokens}"]
    for n in (1, group, 2 * group + 1):
        x = rng.normal(size=(n, k)).astype(np.float32)
        got = {}
        for tokens, run in runs.items():
            out = tvm.runtime.tensor(np.zeros((n, panels.rows_padded), np.float32))
            run(*(tvm.runtime.tensor(a) for a in (x, panels.data, scale, bias)), out)
            got[tokens] = out.numpy()[:, :rows]
        np.testing.assert_array_equal(got[group], got[1])
        np.testing.assert_allclose(got[1], reference_int8(x, codes, scale[:rows], bias[:rows]), rtol=1e-6, atol=1e-6)
