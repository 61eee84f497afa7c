"""Fold a trained layer into what ONNX and the hardware see: integer codes, per-row affines, biases.

With the time-shared BN statistics (`RowAffines` at mode "shared"):

    BN(Wx·x) = a_x ⊙ (W0·Tx·x) + b_x   →  W = Dequantize(Tx, scale = a_x·W0), b_x into B (Wb)
    BN(Wh·h) = a_h ⊙ (W0·Th·h) + b_h   →  R = Dequantize(Th, scale = a_h·W0), b_h (with β) into B (Rb)
    BN(c)    = a_c ⊙ c + b_c           →  cell_scale = a_c, cell_shift = b_c

Rows are reordered from torch's gate order (i, f, g, o) to ONNX's (i, o, f, c); a GRU's
from nn.GRU's (r, z, n) to ONNX's (z, r, h). A GRU has no cell BN: its folded layer is
exactly a standard ONNX GRU with linear_before_reset=1 (Rb of the h rows is BN(R·h)'s
shift, which the reset gate multiplies, as in training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from hwgen.quant.layer import QuantRecurrentLayer
from hwgen.quant.ste import weight_codes

#: Torch gate block k goes to ONNX position ORDER[cell].index(k): LSTM (i, f, g, o) -> (i, o, f, c),
#: GRU (r, z, n) -> (z, r, h).
ONNX_BLOCKS = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}


def onnx_gate_rows(hidden: int, cell: str = "lstm") -> np.ndarray:
    """Row permutation taking torch gate blocks to ONNX's gate order for `cell`."""
    order = ONNX_BLOCKS[cell]
    blocks = np.arange(len(order) * hidden).reshape(len(order), hidden)
    return blocks[list(order)].reshape(-1)


@dataclass(frozen=True)
class FoldedMatrix:
    """A weight matrix as int8 codes with per-row scales (binary/ternary) or as floats."""

    codes: Optional[np.ndarray]  # int8 [G·H, K] in {-1,0,+1}, or None for float weights (G = 4 LSTM, 3 GRU)
    scale: Optional[np.ndarray]  # float32 [G·H]
    values: np.ndarray  # float32 [G·H, K]: codes * scale[:, None], or the float weights

    @property
    def quantized(self) -> bool:
        return self.codes is not None


@dataclass(frozen=True)
class FoldedLayer:
    hidden: int
    kind: str  # float | binary | ternary
    w: FoldedMatrix  # [G·H, X], ONNX gate order
    r: FoldedMatrix  # [G·H, H]
    b: np.ndarray  # float32 [2·G·H]: Wb then Rb
    cell_scale: Optional[np.ndarray]  # float32 [H], None without BN (and for a GRU)
    cell_shift: Optional[np.ndarray]
    cell: str = "lstm"


def _matrix(weight: torch.Tensor, kind: str, w0: float, row_scale: Optional[torch.Tensor], rows: np.ndarray) -> FoldedMatrix:
    scale = torch.ones(weight.shape[0]) if row_scale is None else row_scale.reshape(-1)
    if kind == "float":
        values = (weight * scale[:, None]).numpy()[rows].astype(np.float32)
        return FoldedMatrix(None, None, values)
    codes = weight_codes(weight, kind, w0).numpy()[rows]
    s = (scale * w0).numpy()[rows].astype(np.float32)
    return FoldedMatrix(codes, s, (codes.astype(np.float32) * s[:, None]).astype(np.float32))


@torch.no_grad()
def fold_layer(layer: QuantRecurrentLayer) -> FoldedLayer:
    """The layer's eval-mode computation (time-shared BN statistics, deterministic codes) as ONNX LSTM/GRU tensors."""
    cell = layer.CELL
    rows = onnx_gate_rows(layer.hidden, cell)
    if not layer.bn:
        w = _matrix(layer.weight_ih, layer.weights, layer.w0_ih, None, rows)
        r = _matrix(layer.weight_hh, layer.weights, layer.w0_hh, None, rows)
        b = np.concatenate([layer.bias_ih.numpy()[rows], layer.bias_hh.numpy()[rows]]).astype(np.float32)
        return FoldedLayer(layer.hidden, layer.weights, w, r, b, None, None, cell)
    aff = layer.row_affines("shared")
    w = _matrix(layer.weight_ih, layer.weights, layer.w0_ih, aff.x_scale, rows)
    r = _matrix(layer.weight_hh, layer.weights, layer.w0_hh, aff.h_scale, rows)
    b = np.concatenate([aff.x_shift.reshape(-1).numpy()[rows], aff.h_shift.reshape(-1).numpy()[rows]]).astype(np.float32)
    if aff.c_scale is None or aff.c_shift is None:
        return FoldedLayer(layer.hidden, layer.weights, w, r, b, None, None, cell)
    return FoldedLayer(layer.hidden, layer.weights, w, r, b, aff.c_scale.reshape(-1).numpy().astype(np.float32),
                       aff.c_shift.reshape(-1).numpy().astype(np.float32), cell)
