"""Panel packing of ternary/binary codes and the exact code*scale split of folded weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwgen.tvm_backend.packing import PANEL, pack_codes, pack_float, unpack_codes
from hwgen.tvm_backend.weights import split_rows


@settings(deadline=None, max_examples=40)
@given(rows=st.integers(1, 70), cols=st.integers(1, 40), kind=st.sampled_from(["ternary", "binary"]), seed=st.integers(0, 2**16))
def test_pack_unpack_roundtrip(rows, cols, kind, seed):
    rng = np.random.default_rng(seed)
    codes = rng.choice([-1, 0, 1] if kind == "ternary" else [-1, 1], (rows, cols)).astype(np.int8)
    panels = pack_codes(codes, np.ones(rows, np.float32), kind)
    np.testing.assert_array_equal(unpack_codes(panels), codes)
    assert panels.data.dtype == np.int32 and panels.data.shape[2] == PANEL
    assert panels.rows_padded % PANEL == 0 and panels.rows_padded >= rows


def test_packed_sizes_are_two_and_one_bits_per_weight():
    codes = np.random.default_rng(0).choice([-1, 1], (1024, 256)).astype(np.int8)
    float_bytes = pack_float(codes.astype(np.float32)).nbytes
    assert pack_codes(codes, np.ones(1024, np.float32), "ternary").nbytes * 16 == float_bytes
    assert pack_codes(codes, np.ones(1024, np.float32), "binary").nbytes * 32 == float_bytes


def test_pack_rejects_codes_outside_the_kind():
    with pytest.raises(ValueError, match="binary codes"):
        pack_codes(np.zeros((4, 4), np.int8), np.ones(4, np.float32), "binary")


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(["ternary", "binary"]))
def test_split_rows_recovers_codes_exactly(seed, kind):
    rng = np.random.default_rng(seed)
    codes = rng.choice([-1, 0, 1] if kind == "ternary" else [-1, 1], (9, 13)).astype(np.int8)
    scale = rng.uniform(1e-3, 2.0, 9).astype(np.float32)
    split = split_rows(codes.astype(np.float32) * scale[:, None], kind)
    assert split is not None and split.kind == kind
    np.testing.assert_array_equal(split.codes * split.scale[:, None], codes * scale[:, None])


def test_split_rows_refuses_weights_that_are_not_codes_times_row_scale():
    w = np.array([[0.5, -0.5, 0.25]], np.float32)
    assert split_rows(w, "ternary") is None
    assert split_rows(np.array([[0.5, 0.0]], np.float32), "binary") is None
