"""The `fpga` compile target for `hwgen inspect`: an accelerator graph (LSTM or GRU stack) whose weights fit a board."""

from __future__ import annotations

from hwgen.fpga.boards import BOARDS
from hwgen.fpga.fit import weight_bits
from hwgen.ir.graph import Graph


def check(graph: Graph) -> list[str]:
    """Reasons `graph` cannot become a bitstream for any board (empty: at least one board takes it)."""
    from hwgen.passes.pipeline import has_gru, match_recurrent_stack
    from hwgen.rtl import target as rtl_target

    reasons = rtl_target.check(graph)  # the accelerator's (LSTM or GRU stack)
    if reasons:
        return reasons
    stack = match_recurrent_stack(graph, check=False)  # rtl_target.check ran the checked match
    first = stack.layers[0]
    hidden, inputs, kind = first.hidden, first.w_codes.shape[1], stack.weights_kind
    need = weight_bits(hidden, inputs, len(stack.layers), kind, "gru" if has_gru(graph) else "lstm")
    if all(need > board.weight_bits for board in BOARDS.values()):
        sizes = ", ".join(f"{b.name} {b.weight_memory.upper()} {b.weight_bits}" for b in BOARDS.values())
        return [f"its {kind} weights need {need} bits; the boards hold {sizes} bits"]
    return []
