"""Constants holding NaN or Inf: named by `hwgen inspect`, refused by the hardware targets.

A NaN or Inf weight is almost always a broken export or a diverged training run; the float
interpreter and TVM just propagate it, but the accelerator quantizes weights to fixed point, where
it has no meaning, so the rtl/fpga targets refuse the model by the initializer's name instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwgen.ir.graph import Graph


@dataclass(frozen=True)
class NonFinite:
    """One float constant with non-finite values, and how many of each kind."""

    name: str
    nan: int
    inf: int

    def __str__(self) -> str:
        counts = [f"{n} {what}" for n, what in ((self.nan, "NaN"), (self.inf, "Inf")) if n]
        return f"initializer {self.name!r} has {' and '.join(counts)} value(s)"


def nonfinite_constants(graph: Graph) -> list[NonFinite]:
    """Every float constant of the graph with a NaN or an Inf, in the graph's order."""
    out = []
    for name, c in graph.constants.items():
        a = c.array
        if np.issubdtype(a.dtype, np.floating) and a.size and not np.isfinite(a).all():
            out.append(NonFinite(name, int(np.isnan(a).sum()), int(np.isinf(a).sum())))
    return out
