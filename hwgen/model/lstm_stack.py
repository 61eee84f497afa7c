"""The float LSTM stack: the model the accelerator and the integer kernels run, before integers.

`LSTMStack` holds L forward LSTM layers (weights as integer codes times per-row scales,
the BN extension's cell affine) and an optional dense head; `run_float` is the float64
reference the integer model is measured against. `hwgen.passes.match_lstm_stack` builds
one from an IR graph; `hwgen.passes.lower_fixed_point` lowers it to an `IntegerModel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from hwgen.model.kinds import LayerKind, stack_kind
from hwgen.model.layer_shape import CodesShape


@dataclass(frozen=True, eq=False)
class FloatLayer(CodesShape):
    """One LSTM layer as (codes, per-row scale) pairs; float weights are codes * scale[:, None]."""

    w_codes: np.ndarray  # [4H, X] int8 (ONNX gate order i, o, f, c); int8 range for non-ternary weights
    w_scale: np.ndarray  # [4H] float64
    r_codes: np.ndarray  # [4H, H] int8
    r_scale: np.ndarray  # [4H]
    bias: np.ndarray  # [4H] (Wb + Rb)
    cell_scale: np.ndarray  # [H] (ones without the BN extension)
    cell_shift: np.ndarray  # [H]
    kind: LayerKind


@dataclass(frozen=True, eq=False)
class FloatHead:
    weight: np.ndarray  # [K, H]
    bias: np.ndarray  # [K]


@dataclass(frozen=True, eq=False)
class LSTMStack:
    layers: tuple[FloatLayer, ...]
    head: Optional[FloatHead]
    batch_first: bool
    input_name: str
    output_name: str
    final_softmax: bool
    name: str
    #: True: the head (or the output, without one) takes every step of the top layer: [N, T, K].
    every_step: bool = False
    #: Layout of a per-step graph output: [batch, T, K] (True) or [T, batch, K] (False).
    output_batch_first: bool = True

    @property
    def weights_kind(self) -> LayerKind:
        return stack_kind(layer.kind for layer in self.layers)

    def run_float(self, x: np.ndarray) -> np.ndarray:
        """Float64 forward pass of the same math on [N, T, X] (before any softmax): [N, K], or
        [N, T, K] with `every_step`."""
        seq = np.asarray(x, np.float64)
        for layer in self.layers:
            w = layer.w_codes * layer.w_scale[:, None]
            r = layer.r_codes * layer.r_scale[:, None]
            n, steps, _ = seq.shape
            h = np.zeros((n, layer.hidden))
            c = np.zeros((n, layer.hidden))
            out = np.zeros((n, steps, layer.hidden))
            for t in range(steps):
                gi, go, gf, gc = np.split(seq[:, t] @ w.T + h @ r.T + layer.bias, 4, axis=1)
                sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
                c = sig(gf) * c + sig(gi) * np.tanh(gc)
                h = sig(go) * np.tanh(layer.cell_scale * c + layer.cell_shift)
                out[:, t] = h
            seq = out
        h = seq if self.every_step else seq[:, -1]
        return h @ self.head.weight.T + self.head.bias if self.head is not None else h
