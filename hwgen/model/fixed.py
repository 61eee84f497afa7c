"""Fixed-point number formats, rounding shifts and activation tables.

These are the arithmetic primitives shared by the integer model (numpy), the Amaranth
hardware and the TVM integer kernels, so each is defined once, here. All integer math
is on int64 numpy arrays; a right shift is arithmetic (floor), and "rounding" means a
half-up constant added before the shift, exactly as the hardware does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

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


def sample_centre(gate_codes: np.ndarray, shift: int, in_format: FixedFormat) -> np.ndarray:
    """The real value at the centre of the sample bin of each gate code, the bin being the code's bits above
    `shift` (a table entry samples its function there; with shift 0 a code is its own bin)."""
    codes = np.asarray(gate_codes, np.int64) >> shift
    return (codes.astype(np.float64) + (0.5 if shift > 0 else 0.0)) * 2.0 ** (shift - in_format.frac)


#: The functions an `ActivationTable` can hold.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "tanh": np.tanh}


@dataclass(frozen=True, eq=False)
class ActivationTable:
    """sigmoid or tanh as a lookup table over the gate format.

    `lookup(g) = values[(g >> index_shift) - index_min]`: the gate code is truncated to
    `index_bits` bits (the table covers the whole saturated gate range, so no clamp is
    needed), each entry is the function, rounded to nearest in `out_format`, at the centre
    of its sample bin: the top `sample_bits` bits of the gate code (<= `index_bits`; a
    coarser sample repeats each value over 2**(index_bits - sample_bits) entries, which the
    hardware stores once). σ and tanh share one index format but not their resolution: tanh
    (slope 1 at 0) needs a 4x finer sample than σ (slope 1/4) for the same error.
    Bin centres are symmetric about 0 (when a sample spans at least two gate codes), so
    values[~k] == -values[k] (tanh, clipped to ±max) and 2**frac - values[k] (σ, before
    clipping 1.0): the hardware stores only the k >= 0 half.
    """

    name: str
    values: np.ndarray  # int64, length 2**index_bits, index 0 <-> most negative input
    index_shift: int
    index_bits: int
    in_format: FixedFormat
    out_format: FixedFormat
    sample_bits: int = 0  # 0: index_bits (one sample per entry)

    @property
    def sample_shift(self) -> int:
        """log2 of the entries per sample (0 when every entry is sampled on its own)."""
        return self.index_bits - self.sample_bits if self.sample_bits else 0

    @property
    def index_min(self) -> int:
        return -(1 << (self.index_bits - 1))

    def lookup(self, g: np.ndarray) -> np.ndarray:
        idx = (np.asarray(g, np.int64) >> self.index_shift) - self.index_min
        return self.values[idx]

    @staticmethod
    def quantize_values(name: str, out_format: FixedFormat, v: np.ndarray) -> np.ndarray:
        """Function values → entries: round to nearest; tanh clips symmetrically (-1 → -max, not min),
        so the table stays odd."""
        q = out_format.quantize(v)
        return np.maximum(q, -out_format.max) if name == "tanh" else q

    @staticmethod
    def build(name: str, in_format: FixedFormat, out_format: FixedFormat, index_bits: int,
              sample_bits: Optional[int] = None) -> "ActivationTable":
        if name not in ACTIVATIONS:
            raise HwgenError(f"no activation table {name!r} (have {', '.join(ACTIVATIONS)})")
        shift = in_format.bits - index_bits
        if shift < 0:
            raise HwgenError(f"activation table with {index_bits} index bits is wider than the {in_format.bits}-bit gate format")
        sample_bits = index_bits if sample_bits is None else sample_bits
        if not 1 <= sample_bits <= index_bits:
            raise HwgenError(f"{name} table: sample_bits {sample_bits} must be in 1..{index_bits} (the index bits)")
        index = np.arange(-(1 << (index_bits - 1)), 1 << (index_bits - 1), dtype=np.int64)
        centre = sample_centre(index << shift, shift + index_bits - sample_bits, in_format)
        values = ActivationTable.quantize_values(name, out_format, ACTIVATIONS[name](centre))
        values.setflags(write=False)
        return ActivationTable(name, values, shift, index_bits, in_format, out_format, sample_bits)
