"""Small helpers for fixed-latency pipelines: delay lines and width arithmetic."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed
from amaranth.lib.memory import Memory

#: Attributes for a block RAM read through :func:`registered_read`: yosys may return any word when a read
#: hits the address written in the same cycle, so it adds no collision logic (a comparator and a bypass mux
#: on the read address path, the critical path of the board designs). Only for memories whose users never
#: read a word in the cycle it is written (the schedules here guarantee it).
NO_RW_CHECK = {"no_rw_check": 1}

#: Attributes that keep a memory in block RAM where yosys would build it from logic: distributed RAM or LUTs on
#: the ECP5 (which the LC count pays for), while block RAMs are plentiful there (208 on the 85F).
BLOCK_RAM = {"ram_style": "block"}


def delay(m: Module, value: Value, cycles: int, name: str = "dly") -> Value:
    """`value` delayed by `cycles` registers in the sync domain (0: the value itself)."""
    out = value
    for i in range(cycles):
        reg = Signal.like(out, name=f"{name}_{i}", init=0) if isinstance(out, Signal) else Signal(out.shape(), name=f"{name}_{i}")
        m.d.sync += reg.eq(out)
        out = reg
    return out


def clog2(n: int) -> int:
    """Bits to count 0..n-1 (at least 1)."""
    return max(1, (n - 1).bit_length())


def registered_read(m: Module, memory: Memory, name: str) -> tuple[Signal, Signal]:
    """A read port of `memory` with latency 1, as `read_port()`: (address, data registered here).

    The port is asynchronous and the data register is ours, so yosys's memory_dff merges the register into
    the block RAM and honours the memory's ``no_rw_check`` attribute (:data:`NO_RW_CHECK`); a synchronous
    port from Amaranth keeps read-old-data semantics that the iCE40 block RAM can only emulate in logic.
    """
    port = memory.read_port(domain="comb")
    data = Signal.like(port.data, name=f"{name}_data", reset_less=True)
    m.d.sync += data.eq(port.data)
    return port.addr, data


def carry_select_add(m: Module, a: Value, b: Value, width: int, name: str, low: int = 0) -> Value:
    """``a + b`` wrapped to signed(`width`), as a carry-select adder: the low half and both outcomes of the
    high half (carry in 0 and 1) are three parallel carry chains, the low half's carry picks one.

    On the iCE40 a carry chain costs ~0.3 ns per bit; a 32-bit sum behind a register is longer than the
    24-bit accumulator the board designs are measured against, two 16-bit chains and a multiplexer are not.
    `low` is the low half's width (default: half of `width`)."""
    low = low or width // 2
    sa, sb = Signal(signed(width), name=f"{name}_a"), Signal(signed(width), name=f"{name}_b")
    m.d.comb += [sa.eq(a), sb.eq(b)]
    lo = Signal(low + 1, name=f"{name}_lo")
    hi0, hi1 = Signal(width - low, name=f"{name}_hi0"), Signal(width - low, name=f"{name}_hi1")
    m.d.comb += [lo.eq(sa[:low] + sb[:low]), hi0.eq(sa[low:] + sb[low:]),
                 hi1.eq(sa[low:] - ~sb[low:])]  # a - ~b = a + b + 1: one chain with carry in
    return Cat(lo[:low], Mux(lo[low], hi1, hi0)).as_signed()
