"""The `rtl` compile target: which graphs the accelerator can run, and why not."""

from __future__ import annotations

from hwgen.ir.graph import Graph
from hwgen.passes import lower_gru, match_lstm_stack
from hwgen.passes.pipeline import has_gru


def check(graph: Graph) -> list[str]:
    """Reasons `graph` cannot be built for the accumulate-only accelerator (empty: it can): an LSTM stack's, or,
    for a graph with GRU nodes, a GRU stack's."""
    if has_gru(graph):
        return lower_gru.accelerator_reasons(graph)
    return match_lstm_stack.accelerator_reasons(graph)
