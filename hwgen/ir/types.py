"""Tensor types of the IR.

A dtype is a small frozen dataclass, so types compare by value and print stably.
`Ternary` and `Binary` are weight dtypes: their values are integer codes in
{-1, 0, +1} and {-1, +1}, held in numpy as int8, and always used together with an
explicit per-row scale (see :class:`hwgen.ir.ops.DequantizeAttrs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from hwgen.ir import dims as _dims


@dataclass(frozen=True)
class Float32:
    def __str__(self) -> str:
        return "f32"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(np.float32)


@dataclass(frozen=True)
class Int:
    bits: int
    signed: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 64:
            raise ValueError(f"Int bits must be in 1..64, not {self.bits}")

    def __str__(self) -> str:
        return f"{'i' if self.signed else 'u'}{self.bits}"

    @property
    def numpy(self) -> np.dtype:
        for width in (8, 16, 32, 64):
            if self.bits <= width:
                return np.dtype(f"{'int' if self.signed else 'uint'}{width}")
        raise AssertionError("unreachable")

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


@dataclass(frozen=True)
class Ternary:
    """Integer codes in {-1, 0, +1} (2 bits in hardware)."""

    def __str__(self) -> str:
        return "ternary"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(np.int8)

    bits = 2


@dataclass(frozen=True)
class Binary:
    """Integer codes in {-1, +1} (1 bit in hardware)."""

    def __str__(self) -> str:
        return "binary"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(np.int8)

    bits = 1


DType = Union[Float32, Int, Ternary, Binary]

#: A dimension: a known size, a symbolic name (e.g. "batch") or an expression over names
#: (e.g. ``batch*sequence``); see :mod:`hwgen.ir.dims`.
Dim = _dims.Dim


@dataclass(frozen=True)
class TensorType:
    shape: tuple[Dim, ...]
    dtype: DType

    def __str__(self) -> str:
        return f"{self.dtype}[{', '.join(str(d) for d in self.shape)}]"

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def size(self) -> Dim:
        """The element count, symbolic when the shape is."""
        return _dims.product(self.shape)

    @property
    def numel(self) -> int:
        if not self.is_static:
            raise ValueError(f"{self} has symbolic dimensions")
        return int(np.prod(self.shape, dtype=np.int64))


def dtype_of_array(array: np.ndarray) -> DType:
    """The IR dtype that stores a numpy array without loss (weights kinds are detected elsewhere)."""
    kind = array.dtype
    if kind == np.float32 or kind == np.float64 or kind == np.float16:
        return Float32()
    if kind == np.bool_:
        return Int(1, signed=False)
    if np.issubdtype(kind, np.integer):
        return Int(kind.itemsize * 8, signed=np.issubdtype(kind, np.signedinteger))
    raise ValueError(f"no IR dtype for numpy dtype {kind}")


def weight_kind(codes: np.ndarray) -> DType:
    """Classify integer weight codes: Binary if all in {-1,+1}, Ternary if all in {-1,0,+1}, else Int(8)."""
    values = set(np.unique(codes).tolist())
    if values <= {-1, 1}:
        return Binary()
    if values <= {-1, 0, 1}:
        return Ternary()
    return dtype_of_array(codes)
