"""`matmul_kernels.batch_matmul`, the register-tiled batched matmul of attention (Q Kᵀ, P V): against numpy
with every extent symbolic in one build (rows and columns below one tile, ending in an overlapping tile,
and whole tiles; k of any length), and with static extents; the lowering uses it for run-time operands
with equal leading dims and leaves broadcast ones to Relax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import tvm
from onnx import TensorProto, helper

from hwgen.frontend import load_graph
from hwgen.tvm_backend import matmul_kernels, runner
from hwgen.tvm_backend.library import compile_lowered, manifest_for
from hwgen.tvm_backend.llvm import PASS_CONFIG, llvm_target
from hwgen.tvm_backend.lower import lower_graph
from hwgen.tvm_backend.gemm_kernels import tile_for
from hwgen.tvm_backend.matmul_kernels import LANES, ROWS, WIDTH
from hwgen.tvm_backend.quad_kernels import SIMD_LEVELS, simd_level

#: The register tiles (lanes, rows) of every x86 SIMD level this host runs.
HOST_TILES = sorted({tile_for(level)[:2] for level in SIMD_LEVELS[1:]
                     if SIMD_LEVELS.index(level) <= SIMD_LEVELS.index(simd_level(llvm_target("host")))})


def compiled(batch, m, k, n, lanes=LANES, rows=ROWS):
    func = matmul_kernels.batch_matmul(batch, m, k, n, lanes, rows)
    with tvm.transform.PassContext(config=PASS_CONFIG):
        lib = tvm.compile(func, target=tvm.target.Target(llvm_target("host")))
    entry = lib[func.attrs["global_symbol"]]

    def call(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = tvm.runtime.tensor(np.full((a.shape[0], a.shape[1], b.shape[2]), np.nan, np.float32))
        entry(tvm.runtime.tensor(a), tvm.runtime.tensor(b), out)
        return out.numpy()

    return call


def check(call, batch: int, m: int, k: int, n: int, rng: np.random.Generator) -> None:
    a = rng.normal(size=(batch, m, k)).astype(np.float32)
    b = rng.normal(size=(batch, k, n)).astype(np.float32)
    want = np.einsum("bmk,bkn->bmn", a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(call(a, b), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("lanes,rows", HOST_TILES or [(LANES, ROWS)])
def test_symbolic_extents_below_one_tile_overlapping_and_whole(lanes: int, rows: int) -> None:
    rng = np.random.default_rng(0)
    call = compiled(None, None, None, None, lanes, rows)
    width = 2 * lanes
    for batch, m, k, n in ((1, rows - 1, 5, width - 3), (3, 2 * rows + 1, 32, 2 * width + 5),
                           (2, 4 * rows, 17, width), (1, 1, 1, 1), (2, rows + 2, 40, width - 1)):
        check(call, batch, m, k, n, rng)


@pytest.mark.parametrize("m,n", [(ROWS + 1, 2 * WIDTH), (ROWS - 1, WIDTH + 3), (6, 5)])
def test_static_extents(m: int, n: int) -> None:
    check(compiled(2, m, 9, n), 2, m, 9, n, np.random.default_rng(m * n))


def matmul_model(path: Path, a_shape: list, b_shape: list, y_shape: list) -> Path:
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], "mm",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, a_shape),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, b_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(path))
    return path


def test_lowering_takes_equal_leading_dims_and_leaves_broadcasts_to_relax(tmp_path: Path) -> None:
    """Attention's shapes (symbolic batch and sequence) run on the kernel; a matmul whose leading dims
    broadcast stays Relax's; both agree with numpy."""
    rng = np.random.default_rng(3)
    cases = [(["batch", 3, "seq", 8], ["batch", 3, 8, "seq"], ["batch", 3, "seq", "seq"], (2, 3, 9, 8), (2, 3, 8, 9), True),
             (["batch", "seq", 8], [8, 5], ["batch", "seq", 5], (2, 6, 8), (8, 5), False)]
    for i, (a_shape, b_shape, y_shape, a_size, b_size, kernel) in enumerate(cases):
        graph = load_graph(matmul_model(tmp_path / f"mm{i}.onnx", a_shape, b_shape, y_shape))
        lowered = lower_graph(graph)
        names = [gv.name_hint for gv in lowered.module.get_global_vars()]
        assert any(name.startswith("batch_matmul") for name in names) == kernel, names
        model = runner.from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))
        a, b = rng.normal(size=a_size).astype(np.float32), rng.normal(size=b_size).astype(np.float32)
        np.testing.assert_allclose(model({"a": a, "b": b})["y"], a @ b, rtol=1e-5, atol=1e-5)
