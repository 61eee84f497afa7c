"""The `rtl` compile target: which graphs the accelerator can run, and why not."""

from __future__ import annotations

from hwgen.ir.graph import Graph
from hwgen.passes.match_lstm_stack import accelerator_reasons


def check(graph: Graph) -> list[str]:
    """Reasons `graph` cannot be built for the accumulate-only accelerator (empty: it can)."""
    return accelerator_reasons(graph)
