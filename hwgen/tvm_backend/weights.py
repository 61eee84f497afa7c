"""Recover packed-kernel weights (integer codes + per-row scale) from folded float weights.

The frontend gives binary/ternary LSTM weights as Dequantize(codes, scale) possibly behind
shape ops (Unsqueeze, Concat per direction, ...). The lowering folds that subgraph to a float
array and tracks whether it came from Ternary/Binary codes; this module then splits each row
back into codes * scale and checks the split is exact (code * scale reproduces every float
bit), so the packed kernel computes exactly what the reference interpreter does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from hwgen.tvm_backend.packing import WeightKind


@dataclass(frozen=True, eq=False)
class RowCodes:
    kind: WeightKind
    codes: np.ndarray  # [rows, K] int8
    scale: np.ndarray  # [rows] float32


def split_rows(weights: np.ndarray, kind: WeightKind) -> Optional[RowCodes]:
    """codes, scale with codes * scale[:, None] == weights exactly, or None if no such split exists."""
    w = np.asarray(weights, np.float32)
    scale = np.abs(w).max(axis=1).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1))
    codes = np.rint(w / safe[:, None]).astype(np.int8)
    if not np.array_equal(codes.astype(np.float32) * scale[:, None], w):
        return None
    if kind == "binary" and np.any(codes == 0):
        return None if np.any(scale > 0) else RowCodes("ternary", codes, scale)
    return RowCodes(kind, codes, scale)
