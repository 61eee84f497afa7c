from hypothesis import given, settings, strategies as st

from hwgen.hw.accumulator import Accumulator
from tests.hw.simutil import run_cycles


@settings(deadline=None, max_examples=6)
@given(kx=st.integers(1, 3), kh=st.integers(1, 3), data=st.data())
def test_accumulator_splits_each_row_into_input_and_recurrent_sums(kx, kh, data):
    rows = data.draw(st.lists(st.lists(st.integers(-500, 500), min_size=kx + kh, max_size=kx + kh), min_size=1, max_size=3))
    dut = Accumulator(11, 14, 4)
    stream = [(row_i, k, v) for row_i, row in enumerate(rows) for k, v in enumerate(row)]

    def drive(c):
        if c >= len(stream):
            return [(dut.valid_in, 0)]
        r, k, v = stream[c]
        return [(dut.valid_in, 1), (dut.value, v), (dut.first, int(k == 0)), (dut.is_h, int(k >= kx)),
                (dut.first_h, int(k == kx)), (dut.last, int(k == kx + kh - 1)), (dut.tag_in, r)]

    trace = run_cycles(dut, len(stream) + 2, drive, [dut.valid_out, dut.acc_x, dut.acc_h, dut.tag_out])
    got = [(x, h, t) for v, x, h, t in trace if v]
    assert got == [(sum(row[:kx]), sum(row[kx:]), r) for r, row in enumerate(rows)]
    ends = [c for c, (v, *_) in enumerate(trace) if v]
    assert ends == [(r + 1) * (kx + kh) for r in range(len(rows))]  # latency 1 after each row's last chunk
