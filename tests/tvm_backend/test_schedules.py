"""`schedules.fast_math`: a last-axis float32 softmax over a symbolic axis on the vectorisable exp agrees with
numpy within float rounding (the whole-model tests cover the attention it sits in)."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax, tirx

from hwgen.tvm_backend.llvm import compile_module


def test_softmax_over_a_symbolic_last_axis_matches_numpy() -> None:
    bb = relax.BlockBuilder()
    n = tirx.Var("n", "int64")
    x = relax.Var("x", relax.TensorType((2, n, n), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(relax.op.nn.softmax(x, axis=-1))
        bb.emit_func_output(out)
    vm = relax.VirtualMachine(compile_module(bb.get()), tvm.cpu())
    rng = np.random.default_rng(0)
    for length in (1, 13):  # one score per row; a row that is not a whole number of vectors
        a = (rng.normal(size=(2, length, length)) * 30).astype(np.float32)
        a[0, 0, 0] = -1e4  # a masked score: exp underflows to 0
        e = np.exp(a.astype(np.float64) - a.max(-1, keepdims=True))
        want = e / e.sum(-1, keepdims=True)
        got = vm["main"](tvm.runtime.tensor(a)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
