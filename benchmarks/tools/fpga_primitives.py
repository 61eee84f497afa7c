"""The Fmax a board's primitives allow, against the 24-bit accumulator of `benchmarks/fpga_boards.py`.

Every accelerator design reads block RAM and most use a DSP multiplier, so no design can clock faster than a
block-RAM read or a DSP product into a register. This builds those alone, with the board designs' clocking
(PLL at --clock MHz) and flow (`hwgen.fpga`'s yosys + nextpnr), at each nextpnr seed:

- ``acc24``: the baseline (`fpga_boards.Accumulator24`);
- ``bram``: a 1024 × 18 `Memory` read port (address from an LFSR) into a register, mapped by yosys as the
  designs' memories are (SB_RAM40_4K on the iCE40; DP16KD with REGMODE NOREG on the ECP5);
- ``bram-outreg`` (ECP5 only): one DP16KD instantiated by hand with REGMODE_A OUTREG (the block's own output
  register, one more cycle of read latency), into a register;
- ``spram`` (iCE40 UP5K only): one SB_SPRAM256KA (16 K × 16, as `hwgen.hw.weight_memory` instantiates it), read into a
  register, written now and then;
- ``dsp``: a registered 18 × 18 signed product (SB_MAC16 / MULT18X18D as yosys maps `a * b`).

Printed per probe: LCs, block RAMs, DSPs, Fmax per seed, the median and median ÷ acc24's median.

    .venv/bin/python benchmarks/tools/fpga_primitives.py --board ulx3s-85f [--seeds 1 2 3] [--work runs/fpga_primitives]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: fpga_boards

from amaranth.hdl import (
    ClockSignal,
    Const,
    Elaboratable,
    Instance,
    Module,
    Signal,
    signed,
)
from amaranth.lib import io
from amaranth.lib.memory import Memory
from fpga_boards import Accumulator24, Row, _build_seeds, _fmax_text, lfsr16

from hwgen.fpga.board_top import add_pll_domain, plan_clock
from hwgen.fpga.boards import get_board
from hwgen.fpga.synth import device_for

PROBES = ("bram", "bram-outreg", "spram", "dsp")
WIDTH, DEPTH = 18, 1024


class Probe(Elaboratable):
    """One primitive between registers; an LFSR drives it and the XOR of its result drives an LED."""

    def __init__(self, clock, kind: str):
        self.clock, self.kind = clock, kind

    def elaborate(self, platform):
        m = Module()
        add_pll_domain(m, platform, self.clock)
        lfsr = lfsr16(m)
        result = Signal(2 * WIDTH)
        if self.kind == "bram":
            m.submodules.mem = mem = Memory(shape=WIDTH, depth=DEPTH,
                                            init=[(i * 2654435761) % (1 << WIDTH) for i in range(DEPTH)])
            read = mem.read_port()
            m.d.comb += read.addr.eq(lfsr[:10])
            m.d.sync += result.eq(read.data)
        elif self.kind == "bram-outreg":
            data = Signal(WIDTH)
            m.submodules.bram = Instance("DP16KD", **_dp16kd_outreg(lfsr, data))
            m.d.sync += result.eq(data)
        elif self.kind == "spram":
            data = Signal(16)
            m.submodules.spram = Instance(
                "SB_SPRAM256KA", i_ADDRESS=lfsr[:14], i_DATAIN=lfsr, i_MASKWREN=0b1111,
                i_WREN=lfsr[15] & lfsr[14] & lfsr[13], i_CHIPSELECT=1, i_CLOCK=ClockSignal(), i_STANDBY=0, i_SLEEP=0,
                i_POWEROFF=1, o_DATAOUT=data)
            m.d.sync += result.eq(data)
        else:
            a, b = Signal(signed(WIDTH)), Signal(signed(WIDTH))
            m.d.sync += [a.eq(lfsr.as_signed()), b.eq(lfsr[2:].as_signed()), result.eq(a * b)]
        led_bit = Signal()
        m.d.sync += led_bit.eq(result.xor())
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += led.o.eq(led_bit)
        return m


def _dp16kd_outreg(lfsr: Signal, data: Signal) -> dict:
    """DP16KD ports and parameters: port A 1024 × 18 with its output register, written now and then; port B idle."""
    ports = {f"i_ADA{i}": lfsr[i - 4] if 4 <= i < 14 else Const(0) for i in range(14)}  # 18-bit words: ADA[13:4]
    ports.update({f"i_ADB{i}": Const(0) for i in range(14)})
    ports.update({f"i_DIA{i}": lfsr[i % 16] for i in range(WIDTH)})
    ports.update({f"i_DIB{i}": Const(0) for i in range(WIDTH)})
    ports.update({f"o_DOA{i}": data[i] for i in range(WIDTH)})
    ports.update({f"i_CS{p}{i}": Const(0) for p in "AB" for i in range(3)})
    return dict(p_DATA_WIDTH_A=WIDTH, p_DATA_WIDTH_B=WIDTH, p_REGMODE_A="OUTREG", p_REGMODE_B="NOREG",
                p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", i_CLKA=ClockSignal(), i_CLKB=ClockSignal(),
                i_CEA=1, i_CEB=0, i_OCEA=1, i_OCEB=0, i_WEA=lfsr[15] & lfsr[14] & lfsr[13], i_WEB=0,
                i_RSTA=0, i_RSTB=0, **ports)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default="icebreaker")
    parser.add_argument("--clock", type=float, default=48.0, help="PLL clock the probes are constrained to")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--work", type=Path, default=Path("runs/fpga_primitives"))
    args = parser.parse_args(argv)
    board = get_board(args.board)
    clock = plan_clock(board, args.clock)
    ecp5 = device_for(board).startswith("ecp5")
    work = args.work / args.board
    acc = _build_seeds(board, lambda: Accumulator24(clock), clock, work, Row("acc24"), args.seeds)
    print(f"acc24: {acc.lcs} LCs, {_fmax_text(acc)}", flush=True)
    for kind in PROBES:
        if (kind == "bram-outreg" and not ecp5) or (kind == "spram" and ecp5):
            continue
        row = _build_seeds(board, lambda: Probe(clock, kind), clock, work, Row(kind), args.seeds)
        print(f"{kind}: {row.lcs} LCs, {row.ebr} block RAM, {row.spram} SPRAM, {row.dsp} DSP, {_fmax_text(row)}, "
              f"÷ acc24 {row.fmax / acc.fmax:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
