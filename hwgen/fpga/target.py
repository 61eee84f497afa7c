"""The `fpga` compile target for `hwgen inspect`: an accelerator graph whose weights fit a board."""

from __future__ import annotations

from hwgen.fpga.boards import BOARDS
from hwgen.fpga.fit import weight_bits
from hwgen.ir.graph import Graph


def check(graph: Graph) -> list[str]:
    """Reasons `graph` cannot become a bitstream for any board (empty: at least one board takes it)."""
    from hwgen.passes.match_lstm_stack import accelerator_reasons, match_lstm_stack

    reasons = accelerator_reasons(graph)
    if reasons:
        return reasons
    stack = match_lstm_stack(graph)
    first = stack.layers[0]
    hidden, inputs, kind = first.hidden, first.w_codes.shape[1], stack.weights_kind
    need = weight_bits(hidden, inputs, len(stack.layers), kind)
    if all(need > board.weight_bits for board in BOARDS.values()):
        sizes = ", ".join(f"{b.name} {b.weight_memory.upper()} {b.weight_bits}" for b in BOARDS.values())
        return [f"its {kind} weights need {need} bits; the boards hold {sizes} bits"]
    return []
