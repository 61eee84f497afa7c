"""The `rtl` compile target: which graphs the accelerator can run, and why not."""

from __future__ import annotations

from hwgen.ir.graph import Graph
from hwgen.passes.match_lstm_stack import accelerator_reasons
from hwgen.targets import Target, register_target


def check(graph: Graph) -> list[str]:
    """Reasons `graph` cannot be built for the accumulate-only accelerator (empty: it can)."""
    return accelerator_reasons(graph)


RTL_TARGET = register_target(Target(
    "rtl", "accumulate-only LSTM accelerator (Amaranth → Verilog): binary/ternary LSTM stack + dense head", check))
