"""Pipelines: the passes each backend runs, in order.

The accelerator and integer-kernel backends share one pipeline: recognise the LSTM
stack (`match_lstm_stack`), then lower it to integers (`lower_fixed_point`). Each step's
result can be written out (`dump`) so a user sees every stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from hwgen.ir.graph import Graph
from hwgen.passes.describe import describe_model, describe_stack
from hwgen.model.integer_model import IntegerModel
from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack
from hwgen.passes.match_lstm_stack import match_lstm_stack

#: (name, what it does), in order.
INTEGER_LSTM_PIPELINE = (
    ("match_lstm_stack", "recognise LSTM layers + dense head; recover exact weight codes and scales"),
    ("lower_fixed_point", "integer codes, per-row multiplier+shift affines, formats, activation tables"),
)


def lower_for_accelerator(graph: Graph, calibration: Optional[np.ndarray] = None,
                          options: LoweringOptions = LoweringOptions(), dump: Optional[Path] = None,
                          first_index: int = 1) -> IntegerModel:
    """Run INTEGER_LSTM_PIPELINE on `graph`; with `dump`, write each step's result as text."""
    stack = match_lstm_stack(graph)
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        (dump / f"{first_index:02d}-match_lstm_stack.txt").write_text(describe_stack(stack))
    model = lower_stack(stack, calibration, options)
    if dump is not None:
        (dump / f"{first_index + 1:02d}-lower_fixed_point.txt").write_text(describe_model(model))
    return model
