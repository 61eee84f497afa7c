"""Straight-through binary / ternary weight quantizers (Ardakani et al., ICLR 2019).

The forward pass replaces a float "shadow" weight by one of the levels ±W0 (and 0 for
ternary); the backward pass hands the gradient to the shadow weight unchanged (the
straight-through estimator), so Adam keeps learning the float weights while the loss
sees only quantized ones. W0 is half the Glorot bound of the matrix.

Deterministic variants threshold at 0 (binary) and ±W0/3 (ternary); stochastic ones
sample P(+W0) = clip((W/W0 + 1)/2, 0, 1) (binary) and W0·sign(W)·Bernoulli(clip(|W|/W0, 0, 1))
(ternary), whose expectation is the clipped float weight.

>>> import torch
>>> w0 = 0.5
>>> w = torch.tensor([-0.9, -0.1, 0.0, 0.1, 0.3, 0.7], requires_grad=True)
>>> q = quantize(w, "ternary", w0)
>>> q.tolist()
[-0.5, 0.0, 0.0, 0.0, 0.5, 0.5]
>>> q.backward(torch.arange(6.0))
>>> w.grad.tolist()  # passed straight through
[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
>>> quantize(torch.tensor([-0.2, 0.0, 0.3]), "binary", w0).tolist()
[-0.5, 0.5, 0.5]
>>> weight_codes(torch.tensor([-0.9, 0.1, 0.3]), "ternary", w0).tolist()
[-1, 0, 1]
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from hwgen.quant.errors import QuantConfigError

#: Weight kinds a quantized layer accepts; "float" means no quantization.
from hwgen.quant.choices import QUANTIZERS, WEIGHT_KINDS  # noqa: E402


def glorot_w0(fan_in: int, fan_out: int) -> float:
    """The paper's level: half the Glorot-uniform bound sqrt(6 / (fan_in + fan_out)).

    >>> round(glorot_w0(8, 128), 6)
    0.105021
    """
    return 0.5 * math.sqrt(6.0 / (fan_in + fan_out))


def check_kind(kind: str) -> None:
    if kind not in WEIGHT_KINDS:
        raise QuantConfigError(f"unknown weight kind {kind!r}; choose one of {', '.join(WEIGHT_KINDS)}")


def weight_codes(w: torch.Tensor, kind: str, w0: float, stochastic: bool = False,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Integer codes (int8) in {-1,+1} (binary) or {-1,0,+1} (ternary) for shadow weights `w`."""
    check_kind(kind)
    if kind == "float":
        raise QuantConfigError("float weights have no integer codes")
    with torch.no_grad():
        if kind == "binary":
            if stochastic:
                p = ((w / w0 + 1) / 2).clamp(0, 1)
                codes = torch.where(torch.rand(w.shape, generator=generator, dtype=w.dtype) < p, 1, -1)
            else:
                codes = torch.where(w >= 0, 1, -1)
        else:
            if stochastic:
                p = (w.abs() / w0).clamp(0, 1)
                codes = torch.sign(w) * (torch.rand(w.shape, generator=generator, dtype=w.dtype) < p)
            else:
                codes = torch.sign(w) * (w.abs() > w0 / 3)
        return codes.to(torch.int8)


class _StraightThrough(torch.autograd.Function):
    """Forward: the quantized weight; backward: the gradient unchanged."""

    @staticmethod
    def forward(ctx, w: torch.Tensor, q: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return q

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return grad, None


def quantize(w: torch.Tensor, kind: str, w0: float, stochastic: bool = False,
             generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Quantized weights W0·codes in the forward pass, identity gradient to `w` in the backward pass."""
    check_kind(kind)
    if kind == "float":
        return w
    q = weight_codes(w, kind, w0, stochastic, generator).to(w.dtype) * w0
    return _StraightThrough.apply(w, q)
