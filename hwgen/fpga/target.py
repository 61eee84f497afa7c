"""The `fpga` compile target for `hwgen inspect`: an accelerator graph whose weights fit a board."""

from __future__ import annotations

from hwgen.fpga.boards import BOARDS
from hwgen.fpga.fit import weight_bits
from hwgen.ir.graph import Graph


#: Why the board flow refuses GRUs (the check and the build say the same).
GRU_ON_BOARDS = ("GRU node(s) {nodes}: the board flow (board fit, host link, board top) is built and measured for LSTM "
                 "accelerators only; build a GRU with --target rtl (verified with `hwgen sim`) or --target tvm")


def check(graph: Graph) -> list[str]:
    """Reasons `graph` cannot become a bitstream for any board (empty: at least one board takes it)."""
    from hwgen.ir import ops
    from hwgen.passes.match_lstm_stack import accelerator_reasons, match_lstm_stack

    grus = [n.name for n in graph.nodes_of(ops.GRUAttrs)]
    if grus:
        return [GRU_ON_BOARDS.format(nodes=", ".join(map(repr, grus)))]
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
