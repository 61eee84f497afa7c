"""Weight memory: one word = one chunk of `lanes` weight codes of one row.

Kinds (an iCE40 UP5K's three places to keep weights):
- ``registers``: a ROM in logic (a case statement over the address), for tiny models.
- ``ebr``: an Amaranth `Memory` with `init` — block RAM preloaded by the bitstream
  (yosys maps it to SB_RAM40_4K / DP16KD; Verilog gets the contents as init data).
- ``spram``: `SB_SPRAM256KA` single-port RAMs (16-bit words, 16 K deep, through an
  `Instance`): ceil(width / 16) side by side make one word, and the UP5K's four are cascaded
  in depth as far as that leaves (16-bit words: 64 K deep; 32-bit: 32 K; 64-bit: 16 K), the
  bank picked by the top address bits and its output selected a cycle later. No bitstream
  can preload SPRAM: weights are written through the
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
from hwgen.model.kinds import WEIGHT_MEMORIES, check_kind

SPRAM_WORDS = 16384
SPRAM_WIDTH = 16
SPRAM_COUNT = 4  # iCE40 UP5K


def spram_columns(width: int) -> int:
    """SPRAMs side by side for one word of `width` bits."""
    return -(-width // SPRAM_WIDTH)


def spram_depth(width: int) -> int:
    """Words of `width` bits the UP5K's SPRAMs hold (cascaded in depth); 0 when a word is too wide."""
    columns = spram_columns(width)
    return (SPRAM_COUNT // columns) * SPRAM_WORDS if columns <= SPRAM_COUNT else 0


class WeightMemory(wiring.Component):
    latency = 1

    def __init__(self, kind: str, width: int, depth: int, words: Sequence[int] = (), simulate: bool = False) -> None:
        check_kind("weight memory kind", kind, WEIGHT_MEMORIES, ValueError)
        self.kind, self.width, self.depth, self.words, self.simulate = kind, width, depth, list(words), simulate
        ports = {"addr": In(unsigned(clog2(depth))), "data": Out(unsigned(width))}
        if kind == "spram":
            ports.update({"we": In(1), "waddr": In(unsigned(clog2(depth))), "wdata": In(unsigned(width))})
        super().__init__(ports)

    def spram(self, m: Module, name: str, address: Signal, datain: object, wren: object) -> Signal:
        """One SB_SPRAM256KA (16 K × 16, read data one cycle after the address); its DATAOUT."""
        dout = Signal(SPRAM_WIDTH, name=f"{name}_out")
        m.submodules[name] = Instance(
            "SB_SPRAM256KA",
            i_ADDRESS=address, i_DATAIN=datain, i_MASKWREN=0b1111, i_WREN=wren, i_CHIPSELECT=1,
            i_CLOCK=ClockSignal("sync"), i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1, o_DATAOUT=dout,
        )
        return dout

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
        # SPRAM: one SB_SPRAM256KA per 16 bits of word (columns), banks of columns cascaded in depth; the
        # address is muxed between write and read, the bank's output selected by the registered bank number.
        columns = spram_columns(self.width)
        banks = -(-self.depth // SPRAM_WORDS)
        if banks * columns > SPRAM_COUNT:
            raise ValueError(f"{self.depth} words of {self.width} bits need {banks * columns} SPRAMs; the UP5K has {SPRAM_COUNT}")
        full = Signal(len(self.addr))
        with m.If(self.we):
            m.d.comb += full.eq(self.waddr)
        with m.Else():
            m.d.comb += full.eq(self.addr)
        address = Signal(14)
        m.d.comb += address.eq(full[:14])
        bank = full[14:] if banks > 1 else None
        bank_r = Signal(max(1, (banks - 1).bit_length()))
        if bank is not None:
            m.d.sync += bank_r.eq(bank)
        wdata = Signal(columns * SPRAM_WIDTH)
        m.d.comb += wdata.eq(self.wdata)
        words = []
        for b in range(banks):
            selected = (bank == b) if bank is not None else 1
            outs = []
            for p in range(columns):
                outs.append(self.spram(m, f"spram{b}_{p}" if banks > 1 else f"spram{p}", address,
                                       wdata[p * SPRAM_WIDTH:(p + 1) * SPRAM_WIDTH], self.we & selected))
            words.append(Cat(*outs))
        if banks == 1:
            m.d.comb += self.data.eq(words[0])
        else:
            with m.Switch(bank_r):
                for b, word in enumerate(words):
                    with m.Case(b):
                        m.d.comb += self.data.eq(word)
        return m
