"""`gemm_kernels.projection`, the register-blocked GEMM of every float-activation Linear layer and LSTM / GRU
input projection: against numpy for each weight kind, for a symbolic row count below one tile, one that ends
in an overlapping tile, and a static one; int8 codes times integer-valued activations exactly (the int8
build sums on it)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tvm

from hwgen.tvm_backend import gemm_kernels, packing
from hwgen.tvm_backend.llvm import PASS_CONFIG, llvm_target

K, N = 37, 40  # K not a whole number of packed words, N not of a panel


def panels_of(kind: str, rng: np.random.Generator) -> tuple[packing.Panels, np.ndarray]:
    """Weight panels of `kind` and the float [N, K] matrix they stand for."""
    if kind == "float":
        w = rng.normal(size=(N, K)).astype(np.float32)
        return packing.pack_float(w), w
    if kind == "int8":
        codes = rng.integers(-127, 128, size=(N, K)).astype(np.int8)
        return packing.pack_int8(codes), codes.astype(np.float32)
    codes = rng.choice([-1, 0, 1] if kind == "ternary" else [-1, 1], size=(N, K)).astype(np.int8)
    scale = rng.uniform(0.5, 2.0, N).astype(np.float32)
    return packing.pack_codes(codes, scale, kind), codes * scale[:, None]


def compiled(kind: str, panels: packing.Panels, rows: int | None):
    func = gemm_kernels.projection(panels.rows_padded, K, rows, kind)
    with tvm.transform.PassContext(config=PASS_CONFIG):
        lib = tvm.compile(func, target=tvm.target.Target(llvm_target("host")))
    entry = lib[func.attrs["global_symbol"]]

    def call(x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        out = tvm.runtime.tensor(np.zeros((x.shape[0], panels.rows_padded), np.float32))
        entry(*(tvm.runtime.tensor(a) for a in (x, panels.data, panels.scale, bias)), out)
        return out.numpy()[:, :N]

    return call


@pytest.mark.parametrize("kind", ["float", "ternary", "binary", "int8"])
def test_projection_matches_numpy_for_every_row_count(kind: str) -> None:
    """One symbolic build: fewer rows than a tile, and a count whose last tile overlaps the one before."""
    rng = np.random.default_rng(1)
    panels, w = panels_of(kind, rng)
    bias = rng.normal(size=panels.rows_padded).astype(np.float32)
    call = compiled(kind, panels, None)
    for rows in (gemm_kernels.ROWS - 1, 2 * gemm_kernels.ROWS + 3):
        x = rng.normal(size=(rows, K)).astype(np.float32)
        want = x @ w.T + bias[:N]
        np.testing.assert_allclose(call(x, bias), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_int8_codes_times_integer_activations_are_exact_with_a_static_row_count() -> None:
    rng = np.random.default_rng(2)
    panels, w = panels_of("int8", rng)
    x = rng.integers(-127, 128, size=(gemm_kernels.ROWS + 1, K)).astype(np.float32)
    got = compiled("int8", panels, x.shape[0])(x, np.zeros(panels.rows_padded, np.float32))
    np.testing.assert_array_equal(got, x.astype(np.int64) @ w.T.astype(np.int64))


def test_the_kernel_declares_no_scalar_locals() -> None:
    """A named scalar in TVMScript (`col: T.int32 = ...`) is a local variable TVM allocates on the heap at every
    use: in the tile epilogue that was 8 workspace allocations per tile (~25 % of a K = 384 projection)."""
    for kind in ("float", "ternary"):
        script = gemm_kernels.projection(64, K, None, kind).script()
        assert not re.search(r"^\s*\w+: T\.\w+ = ", script, re.MULTILINE), script
