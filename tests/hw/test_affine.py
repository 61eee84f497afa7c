import numpy as np
from hypothesis import given, settings, strategies as st

from hwgen.hw.affine import RowAffine
from hwgen.model.fixed import FixedFormat
from tests.hw.simutil import run_cycles


@settings(deadline=None, max_examples=6)
@given(data=st.data(), spacing=st.integers(2, 3))
def test_row_affine_is_multiplier_shift_saturate_with_latency_6(data, spacing):
    rows = data.draw(st.lists(st.tuples(st.integers(-30000, 30000), st.integers(-30000, 30000), st.integers(-(1 << 24), 1 << 24)),
                              min_size=3, max_size=3))
    shifts = [data.draw(st.integers(0, 14)), data.draw(st.integers(0, 14))]
    jobs = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(-4000, 4000), st.integers(-4000, 4000)),
                              min_size=1, max_size=4))
    gate = FixedFormat(12, 8)
    dut = RowAffine(rows, shifts, acc_bits=14, mult_bits=16, bias_bits=26, sum_bits=40, gate_bits=12, tag_bits=4)

    def drive(c):
        i, rem = divmod(c, spacing)
        if rem or i >= len(jobs):
            return [(dut.valid_in, 0)]
        row, layer, ax, ah = jobs[i]
        return [(dut.valid_in, 1), (dut.row, row), (dut.layer, layer), (dut.acc_x, ax), (dut.acc_h, ah), (dut.tag_in, i)]

    trace = run_cycles(dut, spacing * len(jobs) + 7, drive, [dut.valid_out, dut.gate, dut.tag_out])
    got = [(g, t) for v, g, t in trace if v]
    want = []
    for i, (row, layer, ax, ah) in enumerate(jobs):
        mx, mh, b = rows[row]
        want.append((int(gate.saturate(np.int64(mx * ax + mh * ah + b) >> shifts[layer])), i))
    assert got == want
    assert [c for c, (v, *_) in enumerate(trace) if v][0] == RowAffine.latency

