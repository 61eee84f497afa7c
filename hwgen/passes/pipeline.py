"""Pipelines: the passes each backend runs, in order.

The accelerator and integer-kernel backends share one pipeline: recognise the LSTM
stack (`match_lstm_stack`), then lower it to integers (`lower_fixed_point`); a GRU
stack takes `match_gru_stack` and `lower_gru` instead. Each step's
result can be written out (`dump`) so a user sees every stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from hwgen.ir.graph import Graph
from hwgen.passes.describe import describe_model, describe_stack
from hwgen.ir import ops
from hwgen.model.gru import GRUStack
from hwgen.model.lstm_stack import LSTMStack
from hwgen.model.saved import RecurrentModel
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack
from hwgen.passes.lower_gru import lower_gru_stack, match_gru_stack
from hwgen.passes.match_lstm_stack import match_lstm_stack

#: (name, what it does), in order.
INTEGER_LSTM_PIPELINE = (
    ("match_lstm_stack", "recognise LSTM layers + dense head; recover exact weight codes and scales"),
    ("lower_fixed_point", "integer codes, per-row multiplier+shift affines, formats, activation tables"),
)


#: The same for a GRU stack (+ dense head): `hwgen.passes.lower_gru`.
INTEGER_GRU_PIPELINE = (
    ("match_gru_stack", "recognise GRU layers + dense head; recover exact weight codes and scales"),
    ("lower_gru", "integer codes, per-row multiplier+shift affines (reset bias apart), formats, activation tables"),
)


def has_gru(graph: Graph) -> bool:
    """Whether `graph` is for the GRU pipeline (it has GRU nodes) rather than the LSTM one."""
    return any(True for _ in graph.nodes_of(ops.GRUAttrs))


def match_recurrent_stack(graph: Graph, check: bool = True) -> Union[LSTMStack, GRUStack]:
    """The graph's GRU stack (`match_gru_stack`) if it has GRU nodes, else its LSTM stack (`match_lstm_stack`)."""
    return match_gru_stack(graph, check=check) if has_gru(graph) else match_lstm_stack(graph, check=check)


def lower_for_accelerator(graph: Graph, calibration: Optional[np.ndarray] = None,
                          options: LoweringOptions = LoweringOptions(), dump: Optional[Path] = None,
                          first_index: int = 1) -> RecurrentModel:
    """Run INTEGER_LSTM_PIPELINE (or, for a graph with GRU nodes, INTEGER_GRU_PIPELINE) on `graph`; with `dump`,
    write each step's result as text."""
    gru = has_gru(graph)
    steps = INTEGER_GRU_PIPELINE if gru else INTEGER_LSTM_PIPELINE
    stack = match_recurrent_stack(graph)
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        (dump / f"{first_index:02d}-{steps[0][0]}.txt").write_text(describe_stack(stack))
    model = lower_gru_stack(stack, calibration, options) if gru else lower_stack(stack, calibration, options)  # type: ignore[arg-type]
    if dump is not None:
        (dump / f"{first_index + 1:02d}-{steps[1][0]}.txt").write_text(describe_model(model))
    return model
