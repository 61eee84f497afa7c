"""Weight memory: one word = one chunk of `lanes` weight codes of one row.

Kinds (an iCE40 UP5K's three places to keep weights):
- ``registers``: a ROM in logic (a case statement over the address), for tiny models.
- ``ebr``: an Amaranth `Memory` with `init` — block RAM preloaded by the bitstream
  (yosys maps it to SB_RAM40_4K / DP16KD; Verilog gets the contents as init data).
- ``spram``: `SB_SPRAM256KA` single-port RAMs (16-bit words, 16 K deep, through an
  `Instance`), which no bitstream can preload: weights are written through the
  `wmem_we/wmem_addr/wmem_data` port before the first sequence. With `simulate=True`
  an equivalent `Memory` stands in, so amaranth.sim can run the design.

Ports: `addr` in; `data` out, unsigned(width), registered (latency 1); for spram also
`we` in, 1; `waddr` in; `wdata` in, unsigned(width).
"""

from __future__ import annotations

from typing import Sequence

from amaranth.hdl import Cat, ClockSignal, Instance, Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.pipeline import clog2

MEMORY_KINDS = ("registers", "ebr", "spram")
SPRAM_WORDS = 16384
SPRAM_WIDTH = 16
SPRAM_COUNT = 4  # iCE40 UP5K


class WeightMemory(wiring.Component):
    latency = 1

    def __init__(self, kind: str, width: int, depth: int, words: Sequence[int] = (), simulate: bool = False) -> None:
        if kind not in MEMORY_KINDS:
            raise ValueError(f"weight memory kind {kind!r} is not one of {', '.join(MEMORY_KINDS)}")
        self.kind, self.width, self.depth, self.words, self.simulate = kind, width, depth, list(words), simulate
        ports = {"addr": In(unsigned(clog2(depth))), "data": Out(unsigned(width))}
        if kind == "spram":
            ports.update({"we": In(1), "waddr": In(unsigned(clog2(depth))), "wdata": In(unsigned(width))})
        super().__init__(ports)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        if self.kind == "registers":
            with m.Switch(self.addr):
                for i, w in enumerate(self.words):
                    with m.Case(i):
                        m.d.sync += self.data.eq(w)
            return m
        if self.kind == "ebr" or self.simulate:
            m.submodules.mem = mem = Memory(shape=unsigned(self.width), depth=self.depth,
                                            init=self.words if self.kind == "ebr" else [])
            rd = mem.read_port()
            m.d.comb += [rd.addr.eq(self.addr), self.data.eq(rd.data)]
            if self.kind == "spram":
                wr = mem.write_port()
                m.d.comb += [wr.en.eq(self.we), wr.addr.eq(self.waddr), wr.data.eq(self.wdata)]
            return m
        # SPRAM: one SB_SPRAM256KA per 16 bits of word; address muxed between write and read.
        parts = (self.width + SPRAM_WIDTH - 1) // SPRAM_WIDTH
        address = Signal(14)
        with m.If(self.we):
            m.d.comb += address.eq(self.waddr)
        with m.Else():
            m.d.comb += address.eq(self.addr)
        outs = []
        wdata = Signal(parts * SPRAM_WIDTH)
        m.d.comb += wdata.eq(self.wdata)
        for p in range(parts):
            dout = Signal(SPRAM_WIDTH, name=f"spram{p}_out")
            m.submodules[f"spram{p}"] = Instance(
                "SB_SPRAM256KA",
                i_ADDRESS=address, i_DATAIN=wdata[p * SPRAM_WIDTH:(p + 1) * SPRAM_WIDTH], i_MASKWREN=0b1111,
                i_WREN=self.we, i_CHIPSELECT=1, i_CLOCK=ClockSignal("sync"), i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1,
                o_DATAOUT=dout,
            )
            outs.append(dout)
        m.d.comb += self.data.eq(Cat(*outs))
        return m
