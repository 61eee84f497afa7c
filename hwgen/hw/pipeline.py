"""Small helpers for fixed-latency pipelines: delay lines and width arithmetic."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value


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
