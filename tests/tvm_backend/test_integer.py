"""The int8-activation TVM kernels are bit-exact with IntegerModel.run, the RTL path's spec."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from hypothesis import given, settings
from hypothesis import strategies as st
from tvm import relax

from hwgen.frontend import load_graph
from hwgen.passes.lower_fixed_point import lower_fixed_point
from hwgen.tvm_backend import quad_kernels
from hwgen.tvm_backend.llvm import compile_module, llvm_target
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.integer import lower_integer
from tests.tvm_backend import models

CASES = {
    # name: (kind, steps, batch, size, hidden, layers, fixed-point weights override)
    "ternary_head": ("ternary", 7, 2, 12, 20, 1, "auto"),
    "binary_2layer": ("binary", 5, 1, 9, 16, 2, "auto"),
    "int8_baseline": ("ternary", 4, 1, 6, 10, 1, "int8"),
    "ternary_odd": ("ternary", 6, 3, 5, 13, 1, "auto"),  # H, X not multiples of a vector or block; batch 3
}


SIMD = quad_kernels.available(llvm_target("host"))
#: (case, kernel set): the AVX2 kernels where the host has AVX2 and the weights are packed, and always the portable ones.
BUILDS = [(name, "portable") for name in CASES] + [(name, "avx2") for name, case in CASES.items() if SIMD and case[0] != "int8"
                                                    and case[6] == "auto"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tvm_int")
    out = {}
    for name, kernel_set in BUILDS:
        kind, steps, batch, size, hidden, layers, weights = CASES[name]
        path, _ = models.qcdq_lstm(directory / f"{name}.onnx", kind, steps, batch, size, hidden, head=4, layers=layers, seed=3)
        model = lower_fixed_point(load_graph(path), weights=weights)
        lowered = lower_integer(model, batch, steps, simd=kernel_set == "avx2")
        assert lowered.kernel_set == kernel_set
        vm = relax.VirtualMachine(compile_module(lowered.module), tvm.cpu())
        out[name, kernel_set] = (model, lowered, vm)
    return out


def _run(vm, x):
    return vm["main"](tvm.runtime.tensor(np.ascontiguousarray(x, np.int32))).numpy()


@pytest.mark.parametrize("name, kernel_set", BUILDS)
def test_integer_kernels_are_bit_exact(compiled, name, kernel_set):
    model, lowered, vm = compiled[name, kernel_set]
    kind, steps, batch, size, *_ = CASES[name]
    f = model.input_format
    rng = np.random.default_rng(1)
    for x in (rng.integers(f.min, f.max + 1, (batch, steps, size)),  # full range: saturating gates and cells
              np.full((batch, steps, size), f.max), np.full((batch, steps, size), f.min),
              model.quantize_input(rng.standard_normal((batch, steps, size)))):
        got = _run(vm, x)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, model.run(x))
    assert lowered.variant == f"{model.weights_kind}-int{model.hidden_format.bits}act"
    assert all(k.recurrent_weights == model.weights_kind for k in lowered.kernels)


@pytest.mark.parametrize("kernel_set", sorted({k for _, k in BUILDS}))
@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**32 - 1))
def test_integer_kernels_random_inputs(compiled, kernel_set, seed):
    model, _, vm = compiled["ternary_head", kernel_set]
    _, steps, batch, size, *_ = CASES["ternary_head"]
    x = np.random.default_rng(seed).integers(model.input_format.min, model.input_format.max + 1, (batch, steps, size))
    np.testing.assert_array_equal(_run(vm, x), model.run(x))


def test_aarch64_and_int8_weights_take_the_portable_kernels(compiled):
    """The AVX2 kernels only where they apply; asking for them elsewhere is a user error naming why."""
    model = compiled["ternary_head", "portable"][0]
    assert lower_integer(model, 2, 7, "aarch64").kernel_set == "portable"
    with pytest.raises(TVMUnsupportedError, match="AVX2"):
        lower_integer(model, 2, 7, "aarch64", simd=True)
    int8_model = compiled["int8_baseline", "portable"][0]
    assert lower_integer(int8_model, 1, 4).kernel_set == "portable"


def test_per_step_integer_models_are_refused_not_cut_to_the_last_step():
    from hwgen.hw.synthetic import random_stack
    from hwgen.passes.lower_fixed_point import lower_stack

    model = lower_stack(random_stack(8, 8, classes=4, every_step=True))
    with pytest.raises(TVMUnsupportedError, match="outputs every step"):
        lower_integer(model, batch=1, steps=3)


@pytest.mark.parametrize("kernel_set", sorted({k for _, k in BUILDS}))
def test_symbolic_batch_and_steps_are_bit_exact(compiled, kernel_set):
    """One module for any N and T (both symbolic in the kernels), bit-exact at several sizes."""
    model = compiled["ternary_odd", "portable"][0]
    lowered = lower_integer(model, None, None, simd=kernel_set == "avx2")
    assert (lowered.batch, lowered.steps, lowered.kernel_set) == ("batch", "steps", kernel_set)
    assert all(k.steps == "steps" and k.batch == "batch" for k in lowered.kernels)
    vm = relax.VirtualMachine(compile_module(lowered.module), tvm.cpu())
    rng = np.random.default_rng(5)
    f = model.input_format
    for batch, steps in ((1, 1), (3, 6), (2, 11)):
        x = rng.integers(f.min, f.max + 1, (batch, steps, CASES["ternary_odd"][3]))
        np.testing.assert_array_equal(_run(vm, x), model.run(x))
