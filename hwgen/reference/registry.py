"""The kernel table every reference kernel module registers into, and the float32 helpers they share.

Kept apart from the kernel modules so they can all import it without importing each other;
`hwgen.reference.kernels` imports every kernel module, so its `KERNELS` is the full table.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from hwgen.ir.ops import OpAttrs

Arrays = Sequence[Optional[np.ndarray]]
Kernel = Callable[[OpAttrs, Arrays], list[np.ndarray]]
KERNELS: dict[type[OpAttrs], Kernel] = {}


def kernel(*types: type[OpAttrs]) -> Callable[[Kernel], Kernel]:
    def register(fn: Kernel) -> Kernel:
        for t in types:
            KERNELS[t] = fn
        return fn

    return register


def _f32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32, copy=False)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) in float32, stable for large |x| (one exp, no overflow warnings)."""
    x = _f32(x)
    e = np.exp(-np.abs(x))
    r = np.float32(1) / (np.float32(1) + e)
    return np.where(x >= 0, r, e * r)
