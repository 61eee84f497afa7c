import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwgen.errors import HwgenError
from hwgen.hw.activation import ActivationUnit, TableHalf, port_a_depth_bits, rom_image
from hwgen.model.fixed import ActivationTable, FixedFormat
from hwgen.passes.lower_fixed_point import LoweringOptions
from tests.hw.simutil import run_cycles

GATE, ACT = FixedFormat(12, 8), FixedFormat(8, 7)
O = LoweringOptions()
SIG = ActivationTable.build("sigmoid", GATE, ACT, O.table_index_bits, O.sigmoid_bits)  # the lowering's defaults
TANH = ActivationTable.build("tanh", GATE, ACT, O.table_index_bits, O.tanh_bits)


def _check(values, tanh, sig=SIG, tnh=TANH):
    dut = ActivationUnit(sig, tnh)

    def drive(c):
        i = min(c, len(values) - 1)
        return [(dut.a_value, values[i]), (dut.a_tanh, int(tanh[i])), (dut.b_value, values[-1 - i])]

    trace = run_cycles(dut, len(values) + 2, drive, [dut.a_out, dut.b_out])
    for i, v in enumerate(values):  # port A: latency 2, port B: latency 1
        assert trace[i + 2][0] == int((tnh if tanh[i] else sig).lookup(np.int64(v))), (i, v, tanh[i])
        assert trace[i + 1][1] == int(tnh.lookup(np.int64(values[-1 - i]))), (i, values[-1 - i])


@settings(deadline=None, max_examples=8)
@given(values=st.lists(st.integers(GATE.min, GATE.max), min_size=3, max_size=3), tanh=st.lists(st.booleans(), min_size=3, max_size=3))
def test_activation_unit_reads_the_same_tables_as_the_integer_model(values, tanh):
    _check(values, tanh)


def _edge_codes(sig, tnh):
    """Both ends of the gate range, 0 and -1 (the fold), and each side of each stored half's last word and of
    its padded end (the clamp), ±."""
    codes = [GATE.min, GATE.max, -1, 0, 1 << sig.index_shift, -(1 << sig.index_shift) - 1]
    d = port_a_depth_bits(TableHalf.of(sig), TableHalf.of(tnh))
    for table in (sig, tnh):
        half = TableHalf.of(table)
        ends = {half.hi - 1, half.hi, half.hi + 1, (1 << half.depth_bits) - 1, 1 << half.depth_bits, (1 << d) - 1, 1 << d}
        for j in sorted(ends):
            k = j << half.sample_shift
            for idx in (k, ~k, k + (1 << half.sample_shift) - 1):
                codes.append(int(np.clip(idx << sig.index_shift, GATE.min, GATE.max)))
    return codes


@pytest.mark.parametrize("bits", [(10, 9, 10), (11, 9, 11), (9, 9, 9), (10, 7, 9)])
def test_fold_edges_and_saturated_ends_read_the_whole_tables_values(bits):
    index, sample_sig, sample_tanh = bits
    sig = ActivationTable.build("sigmoid", GATE, ACT, index, sample_sig)
    tnh = ActivationTable.build("tanh", GATE, ACT, index, sample_tanh)
    codes = _edge_codes(sig, tnh)
    _check(codes + codes, [False] * len(codes) + [True] * len(codes), sig, tnh)


def test_halves_rebuild_every_entry_and_fit_one_block():
    image, hs, ht = rom_image(SIG, TANH)
    k = np.arange(SIG.index_min, -SIG.index_min)
    np.testing.assert_array_equal(hs.read(k, ACT.max), SIG.values)
    np.testing.assert_array_equal(ht.read(k, ACT.max), TANH.values)
    assert hs.words[hs.hi] == 1 << ACT.frac and ht.words[ht.hi] == ACT.max  # each half ends at its saturated word
    assert hs.words[hs.hi - 1] < hs.words[hs.hi] and ht.words[ht.hi - 1] < ht.words[ht.hi]
    assert len(image) == 512  # σ every 1/32 + tanh every 1/64, each padded to 256: one 512 x 8 iCE40 block
    assert image[:len(hs.words)] == list(hs.words) and image[256:256 + len(ht.words)] == list(ht.words)


def test_a_table_that_is_not_symmetric_is_refused():
    bent = np.array(TANH.values)
    bent[10] += 1
    table = ActivationTable("tanh", bent, TANH.index_shift, TANH.index_bits, GATE, ACT, TANH.sample_bits)
    with pytest.raises(HwgenError, match="not point-symmetric"):
        TableHalf.of(table)
