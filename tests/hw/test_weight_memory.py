import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib.memory import Memory

from hwgen.hw.weight_memory import SPRAM_WIDTH, SPRAM_WORDS, WeightMemory, spram_depth
from tests.hw.simutil import run_cycles


class ModelledSpram(WeightMemory):
    """The SPRAM wiring (columns, banks in depth, bank select) with each SB_SPRAM256KA as a 16 K × 16 Memory."""

    def spram(self, m: Module, name: str, address: Signal, datain: object, wren: object) -> Signal:
        m.submodules[name] = mem = Memory(shape=SPRAM_WIDTH, depth=SPRAM_WORDS, init=[])
        rd, wr = mem.read_port(), mem.write_port()
        m.d.comb += [rd.addr.eq(address), wr.addr.eq(address), wr.data.eq(datain), wr.en.eq(wren)]
        return rd.data


def test_spram_depth_cascades_the_four_sprams():
    assert [spram_depth(w) for w in (2, 16, 17, 32, 48, 64, 65)] == [65536, 65536, 32768, 32768, 16384, 16384, 0]


@pytest.mark.parametrize("width,depth", [(16, 40000), (32, 20000), (64, 1000)])
def test_spram_banks_in_depth_write_and_read_back(width, depth):
    dut = ModelledSpram("spram", width, depth)
    addrs = sorted({0, 1, SPRAM_WORDS - 1, min(SPRAM_WORDS, depth - 1), depth // 2, depth - 2, depth - 1})
    value = {a: (a * 0x9E3779B1 + 12345) % (1 << width) for a in addrs}
    writes = len(addrs)

    def drive(c):
        if c < writes:
            a = addrs[c]
            return [(dut.we, 1), (dut.waddr, a), (dut.wdata, value[a])]
        i = c - writes
        return [(dut.we, 0), (dut.addr, addrs[i % len(addrs)])]

    trace = run_cycles(dut, writes + len(addrs) + 1, drive, [dut.data])
    got = [d for (d,) in trace[writes + 1:]]  # read data one cycle after the address
    assert got == [value[a] for a in addrs]
