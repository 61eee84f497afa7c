"""Lowering: exact weight recovery, bounds, integer model tracking the float model."""

import numpy as np
import pytest

from hwgen.errors import HwgenError, UnsupportedError
from hwgen.frontend import load_graph
from hwgen.hw.synthetic import random_stack, write_onnx
from hwgen.model.integer_model import IntegerModel
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_fixed_point, lower_stack
from hwgen.passes.match_lstm_stack import factor_rows, match_lstm_stack, why_not
from hwgen.reference import run
from tests.passes.graphs import graph_of


def test_onnx_ternary_model_recovers_codes_and_tracks_the_interpreter(tmp_path):
    path = write_onnx(tmp_path / "m.onnx", hidden=16, input_size=8, steps=6, layers=2, classes=5, seed=3)
    graph = load_graph(path)
    stack = match_lstm_stack(graph)
    assert stack.weights_kind == "ternary"
    ref = random_stack(16, 8, 2, 5, cell_bn=False, seed=3)
    for got, want in zip(stack.layers, ref.layers):
        np.testing.assert_array_equal(got.w_codes, want.w_codes)
        np.testing.assert_array_equal(got.r_codes, want.r_codes)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 6, 8)).astype(np.float32)
    model = lower_fixed_point(graph, calibration=x)
    want = np.stack([run(graph, {"x": xi[:, None, :]})["y"][0] for xi in x])
    got = model.run_real(x)
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()
    assert np.mean(got.argmax(1) == want.argmax(1)) >= 0.95


def test_bn_cell_affine_graph_lowers_and_tracks_float():
    stack = random_stack(8, 4, 1, 4, cell_bn=True, seed=5)
    graph = graph_of(stack, steps=5)
    matched = match_lstm_stack(graph)
    np.testing.assert_allclose(matched.layers[0].cell_scale, stack.layers[0].cell_scale, rtol=1e-6)
    model = lower_fixed_point(graph)
    x = np.random.default_rng(1).uniform(-1, 1, (200, 5, 4))
    got = model.run_real(x)
    want = stack.run_float(x)
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()


def test_accumulators_never_exceed_the_worst_case_bound():
    """Drive every row to its bound: inputs ±128 matching the codes' signs."""
    model = lower_stack(random_stack(8, 8, 1, 2, seed=1))
    layer = model.layers[0]
    bx, _ = layer.acc_bounds(model.hidden_format)
    row = np.abs(layer.w_codes).sum(1).argmax()
    x = np.where(layer.w_codes[row] > 0, 127, -128).astype(np.int64)
    assert abs(int(layer.w_codes[row].astype(np.int64) @ x)) <= bx
    assert model.accumulator_bits() >= int(bx).bit_length() + 1


def test_int8_lowering_of_a_ternary_model_is_numerically_identical():
    stack = random_stack(8, 4, 1, 3, seed=2)
    x_int = lower_stack(stack).quantize_input(np.random.default_rng(0).uniform(-1, 1, (10, 4, 4)))
    a = lower_stack(stack).run(x_int)
    b = lower_stack(stack, options=LoweringOptions(weights="int8")).run(x_int)
    np.testing.assert_array_equal(a, b)


def test_save_load_round_trip_is_exact(tmp_path):
    model = lower_stack(random_stack(4, 4, 2, 3, seed=7))
    model.save(tmp_path / "m.npz")
    again = IntegerModel.load(tmp_path / "m.npz")
    x = model.quantize_input(np.random.default_rng(0).uniform(-1, 1, (5, 3, 4)))
    np.testing.assert_array_equal(model.run(x), again.run(x))
    with pytest.raises(HwgenError, match="not an hwgen integer model"):
        (tmp_path / "junk.npz").write_bytes(b"junk")
        IntegerModel.load(tmp_path / "junk.npz")


def test_float_weights_are_refused_for_the_multiplier_free_design(tmp_path):
    stack = random_stack(4, 4, 1, 2, kind="int8", seed=0)
    layers = tuple(type(l)(l.w_codes.astype(np.float32) * 0.37 + 0.01, np.ones(16), l.r_codes, l.r_scale, l.bias,
                           l.cell_scale, l.cell_shift, "float") for l in stack.layers)
    graph = graph_of(type(stack)(layers, stack.head, False, "x", "y", False, "f"), steps=3)
    reasons = why_not(graph)
    assert any("float weights" in r and "binary/ternary" in r for r in reasons)
    with pytest.raises(UnsupportedError, match="float weights"):
        lower_fixed_point(graph)


def test_factor_rows_recovers_only_exact_ternary_rows():
    codes = np.array([[1, 0, -1], [-1, -1, 1]], np.int8)
    scale = np.array([0.3, 0.05], np.float32)
    c, s = factor_rows(codes * scale[:, None])
    np.testing.assert_array_equal(c, codes)
    assert factor_rows(np.array([[0.3, 0.1]], np.float32)) is None


def test_integer_run_checks_its_input():
    model = lower_stack(random_stack(4, 4, 1, 2, seed=0))
    with pytest.raises(HwgenError, match="integer codes"):
        model.run(np.zeros((3, 4)))
    with pytest.raises(HwgenError, match="outside the 8-bit input format"):
        model.run(np.full((3, 4), 500))
    with pytest.raises(HwgenError, match=r"takes \[T, 4\]"):
        model.run(np.zeros((3, 5), np.int64))


def test_gate_shift_floors_so_a_code_stands_for_the_bin_the_tables_sample():
    """No rounding constant in the biases: the shift floors, code g stands for [g, g+1) and the tables sample
    bin centres; rounding half up would read every table half a gate step high."""
    stack = random_stack(8, 4, 1, 3, cell_bn=True, seed=2)
    model = lower_stack(stack)
    layer, fl = model.layers[0], stack.layers[0]
    fg = model.gate_format.frac
    np.testing.assert_array_equal(layer.gate.bias, np.floor(fl.bias * 2.0 ** (fg + layer.gate.shift) + 0.5))
    np.testing.assert_array_equal(layer.cell.bias, np.floor(fl.cell_shift * 2.0 ** (fg + layer.cell.shift) + 0.5))


def test_options_of_model_reproduce_its_formats_and_tables():
    """A stand-in of another size lowered with `LoweringOptions.of_model` (the fit search) gets the same
    formats and activation tables, coarser sample resolutions included."""
    model = lower_stack(random_stack(8, 4, kind="ternary", seed=1),
                        options=LoweringOptions(act_bits=6, sigmoid_bits=7, tanh_bits=8, input_frac=3))
    other = lower_stack(random_stack(16, 4, kind="ternary", seed=2), options=LoweringOptions.of_model(model))
    for name in ("input_format", "hidden_format", "gate_format", "cell_format"):
        assert getattr(other, name) == getattr(model, name)
    for a, b in ((other.sigmoid, model.sigmoid), (other.tanh, model.tanh)):
        assert a.sample_bits == b.sample_bits and a.index_bits == b.index_bits
        np.testing.assert_array_equal(a.values, b.values)
