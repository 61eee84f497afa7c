import numpy as np
from hypothesis import given, settings, strategies as st

from hwgen.hw.activation import ActivationUnit
from hwgen.passes.fixed import ActivationTable, FixedFormat
from tests.hw.simutil import run_cycles

GATE, ACT = FixedFormat(12, 8), FixedFormat(8, 7)
SIG = ActivationTable.build("sigmoid", GATE, ACT, 9)
TANH = ActivationTable.build("tanh", GATE, ACT, 9)


@settings(deadline=None, max_examples=8)
@given(values=st.lists(st.integers(GATE.min, GATE.max), min_size=3, max_size=3), tanh=st.lists(st.booleans(), min_size=3, max_size=3))
def test_activation_unit_reads_the_same_tables_as_the_integer_model(values, tanh):
    dut = ActivationUnit(SIG, TANH)

    def drive(c):
        i = min(c, len(values) - 1)
        return [(dut.a_value, values[i]), (dut.a_tanh, int(tanh[i])), (dut.b_value, values[-1 - i])]

    trace = run_cycles(dut, len(values) + 1, drive, [dut.a_out, dut.b_out])
    for i, v in enumerate(values):  # latency 1
        a, b = trace[i + 1]
        assert a == int((TANH if tanh[i] else SIG).lookup(np.int64(v)))
        assert b == int(TANH.lookup(np.int64(values[-1 - i])))
