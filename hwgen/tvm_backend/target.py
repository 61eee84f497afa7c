"""The "tvm" entry of `hwgen inspect`'s target table."""

from __future__ import annotations

from hwgen.ir.graph import Graph


def check(graph: Graph) -> list[str]:
    """Reasons the TVM lowering cannot take `graph` (ops without a converter, an LSTM with a symbolic input
    size); symbolic batch / sequence dims are fine, they stay symbolic in the built library."""
    from hwgen.tvm_backend.lower import unsupported

    if not graph.types:
        graph = graph.with_types()
    return unsupported(graph)
