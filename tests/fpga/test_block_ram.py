from amaranth.hdl import Elaboratable, Module, unsigned
from amaranth.lib.memory import Memory

from hwgen.fpga.block_ram import blocks_for, memory_uses


def test_cheapest_geometry_per_family():
    assert blocks_for(512, 8, "ice40") == 1  # 512 x 8 mode
    assert blocks_for(128, 64, "ice40") == 4  # four 256 x 16 side by side, half empty
    assert blocks_for(1024, 53, "ice40") == 14  # 1024 x 4 mode: 14 columns
    assert blocks_for(1024, 18, "ecp5") == 1 and blocks_for(2048, 18, "ecp5") == 2


class _Top(Elaboratable):
    """A ROM with constant top bits, a RAM, a tiny memory and one marked as logic."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.rom = Memory(shape=unsigned(20), depth=1024, init=[i | 0xF0000 for i in range(1024)])
        m.submodules.ram = Memory(shape=unsigned(16), depth=300, init=[])
        m.submodules.tiny = Memory(shape=unsigned(16), depth=8, init=[])
        m.submodules.regs = Memory(shape=unsigned(16), depth=200, init=[], attrs={"ram_style": "logic"})
        for name in ("rom", "ram", "tiny", "regs"):
            mem = getattr(m.submodules, name)
            mem.read_port()
            if name != "rom":
                mem.write_port()
        return m


def test_memory_uses_price_each_memory_as_yosys_maps_it():
    uses = {u.name: u for u in memory_uses(_Top(), "ice40")}
    assert uses["rom"].width == 10 and uses["rom"].blocks == 3  # 10 live bits of 20: three 1024 x 4 columns
    assert uses["ram"].width == 16 and uses["ram"].blocks == 2
    assert uses["tiny"].blocks == 0 and uses["regs"].blocks == 0
