import numpy as np
from hypothesis import given, settings, strategies as st

from hwgen.hw.activation import ActivationUnit, TableWindow, windowed_image
from hwgen.passes.fixed import ActivationTable, FixedFormat
from tests.hw.simutil import run_cycles

GATE, ACT = FixedFormat(12, 8), FixedFormat(8, 7)
SIG = ActivationTable.build("sigmoid", GATE, ACT, 9)
TANH = ActivationTable.build("tanh", GATE, ACT, 9)


def _check(values, tanh):
    dut = ActivationUnit(SIG, TANH)

    def drive(c):
        i = min(c, len(values) - 1)
        return [(dut.a_value, values[i]), (dut.a_tanh, int(tanh[i])), (dut.b_value, values[-1 - i])]

    trace = run_cycles(dut, len(values) + 2, drive, [dut.a_out, dut.b_out])
    for i, v in enumerate(values):  # port A: latency 2, port B: latency 1
        assert trace[i + 2][0] == int((TANH if tanh[i] else SIG).lookup(np.int64(v))), (i, v, tanh[i])
        assert trace[i + 1][1] == int(TANH.lookup(np.int64(values[-1 - i])))


@settings(deadline=None, max_examples=8)
@given(values=st.lists(st.integers(GATE.min, GATE.max), min_size=3, max_size=3), tanh=st.lists(st.booleans(), min_size=3, max_size=3))
def test_activation_unit_reads_the_same_tables_as_the_integer_model(values, tanh):
    _check(values, tanh)


def test_window_edges_and_saturated_ends_read_the_whole_tables_values():
    """Codes at both ends of the gate range and on each side of each window's edges (the clamp's cases)."""
    codes = [GATE.min, GATE.max, -1, 0]
    for w in (TableWindow.of(SIG.values), TableWindow.of(TANH.values)):
        for idx in (w.lo - 1, w.lo, w.lo + 1, w.hi - 1, w.hi, w.hi + 1):
            codes.append(int(np.clip((idx + SIG.index_min) << SIG.index_shift, GATE.min, GATE.max)))
    _check(codes + codes, [False] * len(codes) + [True] * len(codes))


def test_windows_drop_only_constant_ends_and_halve_the_rom():
    image, ws, wt = windowed_image(SIG, TANH)
    for table, w in ((SIG, ws), (TANH, wt)):
        assert np.all(table.values[:w.lo] == table.values[w.lo]) and np.all(table.values[w.hi:] == table.values[w.hi])
        assert table.values[w.lo + 1] != table.values[w.lo] and table.values[w.hi - 1] != table.values[w.hi]
    assert len(image) == ws.size + wt.size <= len(SIG.values)  # 9 index bits: one 512-word block instead of two
