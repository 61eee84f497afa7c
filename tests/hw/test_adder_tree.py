import numpy as np
from hypothesis import given, settings, strategies as st

from hwgen.hw.adder_tree import AdderTree
from tests.hw.simutil import run_cycles


@settings(deadline=None, max_examples=6)
@given(n=st.integers(1, 9), data=st.data())
def test_adder_tree_sums_every_vector_after_depth_cycles(n, data):
    width = 6
    vectors = data.draw(st.lists(st.lists(st.integers(-32, 31), min_size=n, max_size=n), min_size=4, max_size=4))
    dut = AdderTree(n, width)
    cycles = len(vectors) + dut.latency + 1

    def drive(c):
        vec = vectors[c] if c < len(vectors) else [0] * n
        return [*((dut.inputs[i], v) for i, v in enumerate(vec)), (dut.valid_in, int(c < len(vectors)))]

    trace = run_cycles(dut, cycles, drive, [dut.sum, dut.valid_out])
    got = [s for s, v in trace if v]
    assert got == [AdderTree.reference(np.array(v)) for v in vectors]
    first_valid = next(c for c, (_, v) in enumerate(trace) if v)
    assert first_valid == dut.latency == (int(np.ceil(np.log2(n))) if n > 1 else 0)
