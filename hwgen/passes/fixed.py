"""Fixed-point number formats, rounding shifts and activation tables.

These are the arithmetic primitives shared by the integer model (numpy), the Amaranth
hardware and the TVM integer kernels, so each is defined once, here. All integer math
is on int64 numpy arrays; a right shift is arithmetic (floor), and "rounding" means a
half-up constant added before the shift, exactly as the hardware does it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwgen.errors import HwgenError


@dataclass(frozen=True)
class FixedFormat:
    """A signed two's-complement fixed-point format: value = code * 2**-frac, code in `bits` bits."""

    bits: int
    frac: int

    def __post_init__(self) -> None:
        if not 2 <= self.bits <= 48:
            raise HwgenError(f"fixed-point format needs 2..48 bits, got {self.bits}")

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1

    @property
    def step(self) -> float:
        return 2.0 ** -self.frac

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Round to nearest (ties up: floor(x * 2**frac + 0.5)) and saturate."""
        q = np.floor(np.asarray(x, np.float64) * (1 << self.frac) + 0.5) if self.frac >= 0 else \
            np.floor(np.asarray(x, np.float64) / (1 << -self.frac) + 0.5)
        return np.clip(q, self.min, self.max).astype(np.int64)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(q, np.float64) * 2.0 ** -self.frac

    def saturate(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self.min, self.max)

    def __str__(self) -> str:
        return f"Q{self.bits - 1 - self.frac}.{self.frac} ({self.bits} bits)"


def bits_for(bound: int) -> int:
    """Signed width that holds every integer in [-bound, bound]."""
    bound = int(bound)
    return max(2, bound.bit_length() + 1)


def shift_round(x: np.ndarray, shift: int) -> np.ndarray:
    """floor((x + 2**(shift-1)) / 2**shift): round-half-up right shift (identity for shift 0)."""
    x = np.asarray(x, np.int64)
    if shift <= 0:
        return x << -shift
    return (x + (1 << (shift - 1))) >> shift


@dataclass(frozen=True, eq=False)
class ActivationTable:
    """sigmoid or tanh as a lookup table over the gate format.

    `lookup(g) = values[(g >> index_shift) - index_min]`: the gate code is truncated to
    `index_bits` bits (the table covers the whole saturated gate range, so no clamp is
    needed), each entry is the function at the centre of its bin in `out_format`.
    The same `values` array is the ROM image in the RTL.
    """

    name: str
    values: np.ndarray  # int64, length 2**index_bits, index 0 <-> most negative input
    index_shift: int
    index_bits: int
    in_format: FixedFormat
    out_format: FixedFormat

    @property
    def index_min(self) -> int:
        return -(1 << (self.index_bits - 1))

    def lookup(self, g: np.ndarray) -> np.ndarray:
        idx = (np.asarray(g, np.int64) >> self.index_shift) - self.index_min
        return self.values[idx]

    @staticmethod
    def build(name: str, in_format: FixedFormat, out_format: FixedFormat, index_bits: int) -> "ActivationTable":
        funcs = {"sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "tanh": np.tanh}
        if name not in funcs:
            raise HwgenError(f"no activation table {name!r} (have {', '.join(funcs)})")
        shift = in_format.bits - index_bits
        if shift < 0:
            raise HwgenError(f"activation table with {index_bits} index bits is wider than the {in_format.bits}-bit gate format")
        codes = np.arange(-(1 << (index_bits - 1)), 1 << (index_bits - 1), dtype=np.int64)
        centre = (codes.astype(np.float64) + (0.5 if shift > 0 else 0.0)) * 2.0 ** (shift - in_format.frac)
        values = out_format.quantize(funcs[name](centre))
        values.setflags(write=False)
        return ActivationTable(name, values, shift, index_bits, in_format, out_format)
