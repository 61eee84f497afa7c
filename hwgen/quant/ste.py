"""Straight-through binary / ternary weight quantizers (Ardakani et al., ICLR 2019).

The forward pass replaces a float "shadow" weight by one of the levels ±W0 (and 0 for
ternary); the backward pass hands the gradient to the shadow weight unchanged (the
straight-through estimator), so Adam keeps learning the float weights while the loss
sees only quantized ones. W0 is half the Glorot bound of the matrix.

Deterministic variants threshold at 0 (binary) and ±W0/3 (ternary); stochastic ones
sample P(+W0) = clip((W/W0 + 1)/2, 0, 1) (binary) and W0·sign(W)·Bernoulli(clip(|W|/W0, 0, 1))
(ternary), whose expectation is the clipped float weight.

W0 is a float for the LSTM (one level per matrix) or a tensor broadcasting against the
weights, e.g. [rows, 1] for the transformer's per-row levels. `int8_rows` is the 8-bit
per-row (symmetric, max-abs) quantizer of the transformer's int8 weights, straight-through too.

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
from typing import Optional, Sequence, Union

import torch

from hwgen.quant.errors import QuantConfigError

#: Weight kinds a quantized layer accepts; "float" means no quantization.
from hwgen.quant.choices import WEIGHT_KINDS  # noqa: E402


def glorot_w0(fan_in: int, fan_out: int) -> float:
    """The paper's level: half the Glorot-uniform bound sqrt(6 / (fan_in + fan_out)).

    >>> round(glorot_w0(8, 128), 6)
    0.105021
    """
    return 0.5 * math.sqrt(6.0 / (fan_in + fan_out))


def check_kind(kind: str) -> None:
    if kind not in WEIGHT_KINDS:
        raise QuantConfigError(f"unknown weight kind {kind!r}; choose one of {', '.join(WEIGHT_KINDS)}")


Level = Union[float, torch.Tensor]


def _uniform(w: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    """U[0, 1) draws shaped like w, on the generator's device (w's without one), then on w's."""
    device = generator.device if generator is not None else w.device
    return torch.rand(w.shape, generator=generator, dtype=w.dtype, device=device).to(w.device)


def _signs(w: torch.Tensor, kind: str, w0: Level, stochastic: bool,
           generator: Optional[torch.Generator]) -> torch.Tensor:
    """The codes -1/0/+1 in w's dtype (+0.0 for zero): the one place the thresholds and sampling live."""
    if kind == "binary":
        if stochastic:
            keep = _uniform(w, generator) < ((w / w0 + 1) / 2).clamp(0, 1)
        else:
            keep = w >= 0
        return torch.where(keep, 1.0, -1.0).to(w.dtype)
    if stochastic:
        keep = _uniform(w, generator) < (w.abs() / w0).clamp(0, 1)
        return torch.where(keep, torch.sign(w), 0.0)
    if isinstance(w0, torch.Tensor):  # per-row levels: hardshrink takes one threshold only
        return torch.where(w.abs() > w0 / 3, torch.sign(w), 0.0).to(w.dtype)
    return torch.sign(torch.nn.functional.hardshrink(w, w0 / 3))  # |w| > W0/3 keeps w, else +0


def weight_codes(w: torch.Tensor, kind: str, w0: Level, stochastic: bool = False,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Integer codes (int8) in {-1,+1} (binary) or {-1,0,+1} (ternary) for shadow weights `w`."""
    check_kind(kind)
    if kind == "float":
        raise QuantConfigError("float weights have no integer codes")
    with torch.no_grad():
        return _signs(w, kind, w0, stochastic, generator).to(torch.int8)


class _StraightThrough(torch.autograd.Function):
    """Forward: the quantized weights W0·codes; backward: the gradients unchanged.

    One function for all of a layer's matrices: a training step pays its fixed cost once.
    """

    @staticmethod
    def forward(ctx, kind: str, w0s: Sequence[Level], stochastic: bool,  # type: ignore[override]
                generator: Optional[torch.Generator], *ws: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(_signs(w, kind, w0, stochastic, generator) * w0 for w, w0 in zip(ws, w0s))

    @staticmethod
    def backward(ctx, *grads: torch.Tensor):  # type: ignore[override]
        return (None, None, None, None, *grads)


def quantize_all(ws: Sequence[torch.Tensor], kind: str, w0s: Sequence[Level], stochastic: bool = False,
                 generator: Optional[torch.Generator] = None) -> tuple[torch.Tensor, ...]:
    """`quantize` of several matrices (each with its own W0) in one autograd node."""
    check_kind(kind)
    if kind == "float":
        return tuple(ws)
    return _StraightThrough.apply(kind, tuple(w0s), stochastic, generator, *ws)


def quantize(w: torch.Tensor, kind: str, w0: Level, stochastic: bool = False,
             generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Quantized weights W0·codes in the forward pass, identity gradient to `w` in the backward pass."""
    return quantize_all((w,), kind, (w0,), stochastic, generator)[0]


INT8_MAX = 127


def int8_row_scale(w: torch.Tensor) -> torch.Tensor:
    """Per-row scale [rows, 1] of symmetric int8 codes: max |w| of the row / 127 (a zero row gets 1)."""
    amax = w.detach().abs().amax(dim=1, keepdim=True)
    return torch.where(amax > 0, amax / INT8_MAX, torch.ones_like(amax))


def int8_codes(w: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """round(w / scale) clamped to [-127, 127], as int8 (what the ONNX export stores)."""
    with torch.no_grad():
        return torch.round(w / scale).clamp_(-INT8_MAX, INT8_MAX).to(torch.int8)


class _Int8StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.round(w / scale).clamp_(-INT8_MAX, INT8_MAX) * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return grad, None


def int8_rows(w: torch.Tensor, scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Fake-quantized w (codes · per-row scale) forward, identity gradient backward.

    >>> w = torch.tensor([[1.27, -0.5, 0.004], [0.0, 0.0, 0.0]])
    >>> int8_codes(w, int8_row_scale(w)).tolist(), [round(v, 4) for v in int8_rows(w)[0].tolist()]
    ([[127, -50, 0], [0, 0, 0]], [1.27, -0.5, 0.0])
    """
    return _Int8StraightThrough.apply(w, int8_row_scale(w) if scale is None else scale)
