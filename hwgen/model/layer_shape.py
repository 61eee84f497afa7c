"""Shapes read off a recurrent layer's weight codes, shared by the LSTM and GRU specs.

A layer's W codes are [G·H, X] and its R codes [G·H, H] (G = 4 gates for an LSTM, 3 for a GRU),
so hidden and input sizes come from the codes themselves rather than from fields that could disagree.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwgen.model.fixed import FixedFormat


class CodesShape:
    """Mixin for a layer dataclass with `w_codes` [G·H, X] and `r_codes` [G·H, H]."""

    w_codes: np.ndarray
    r_codes: np.ndarray

    @property
    def hidden(self) -> int:
        return int(self.r_codes.shape[1])

    @property
    def input_size(self) -> int:
        return int(self.w_codes.shape[1])


class IntegerCodes(CodesShape):
    """Mixin for an integer layer: codes plus the fixed-point format of its input."""

    input_format: FixedFormat

    def acc_bounds(self, hidden_format: FixedFormat) -> tuple[int, int]:
        """Worst-case |acc_x|, |acc_h|: max row sum of |codes| times the largest |activation|."""
        bx = int(np.abs(self.w_codes.astype(np.int64)).sum(axis=1).max(initial=0)) * -self.input_format.min
        bh = int(np.abs(self.r_codes.astype(np.int64)).sum(axis=1).max(initial=0)) * -hidden_format.min
        return bx, bh


class StackShape:
    """Mixin for a model dataclass with `layers` of one hidden size: the first layer's sizes."""

    layers: Sequence[CodesShape]

    @property
    def hidden(self) -> int:
        return self.layers[0].hidden

    @property
    def input_size(self) -> int:
        return self.layers[0].input_size
