"""Weight quantization-aware training for a BERT encoder's Linear layers (and, optionally, embeddings).

Every encoder Linear (attention query/key/value/output, FFN in/out) becomes a
`QuantLinear`: the float "shadow" weight is trained; the forward pass sees

    float    the weight itself
    int8     codes · scale, codes = round(w / scale) ∈ [-127, 127], scale = max |row| / 127 (per row)
    ternary  W0_row · {-1, 0, +1}: the seed method of `hwgen.quant.ste` (threshold W0/3, or sampled
    binary   W0_row · {-1, +1}      with P = |w|/W0 when stochastic) with one level per output row

with the straight-through gradient in every case (shared functions of `ste`). A pretrained
matrix has rows of very different spread, so W0 is per row, fixed when QAT starts: for
binary the mean |w| of the row (the least-squares level for sign codes), for ternary the
level on a grid of multiples of mean |w| that minimises the row's squared error under the
seed's W0/3 threshold. Shadow weights are clipped to ±W0 after each step (as for the
LSTM) so a weight never drifts where it could not flip back. An optional pruning `mask`
(0/1, same shape) multiplies the shadow weight before quantization: pruned weights are
code 0 for ternary/int8 (binary has no zero; magnitude pruning refuses binary).

LayerNorm, biases, softmax and the classifier head stay float.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from hwgen.quant.errors import QuantConfigError
from hwgen.quant.ste import int8_codes, int8_row_scale, int8_rows, quantize, weight_codes

#: Candidate ternary levels, as multiples of a row's mean |w|.
TERNARY_GRID = torch.linspace(0.5, 4.0, 36)


def ternary_levels(w: torch.Tensor) -> torch.Tensor:
    """Per-row W0 [rows, 1] minimising ||w - W0·codes(w, W0)||² over `TERNARY_GRID` · mean |w|."""
    with torch.no_grad():
        mean = w.abs().mean(dim=1, keepdim=True).clamp_min(1e-12)
        best, best_err = mean.clone(), torch.full_like(mean, float("inf"))
        for c in TERNARY_GRID.tolist():
            w0 = c * mean
            err = (w - weight_codes(w, "ternary", w0).to(w.dtype) * w0).pow(2).sum(dim=1, keepdim=True)
            better = err < best_err
            best = torch.where(better, w0, best)
            best_err = torch.where(better, err, best_err)
        return best


def row_levels(w: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "binary":
        return w.detach().abs().mean(dim=1, keepdim=True).clamp_min(1e-12)
    return ternary_levels(w.detach())


class QuantLinear(nn.Linear):
    """nn.Linear whose forward uses quantized weights (see the module docstring)."""

    def __init__(self, linear: nn.Linear, kind: str, stochastic: bool = False) -> None:
        super().__init__(linear.in_features, linear.out_features, bias=linear.bias is not None)
        with torch.no_grad():
            self.weight.copy_(linear.masked_weight() if isinstance(linear, QuantLinear) else linear.weight)
            if linear.bias is not None:
                self.bias.copy_(linear.bias)
        self.kind, self.stochastic = kind, stochastic
        levels = row_levels(self.weight, kind) if kind in ("ternary", "binary") else torch.ones(self.out_features, 1)
        self.register_buffer("w0", levels)
        self.register_buffer("mask", None)  # a 0/1 tensor once pruning starts (`ensure_mask`)

    def ensure_mask(self) -> torch.Tensor:
        if self.mask is None:
            self.mask = torch.ones_like(self.weight)
        return self.mask

    def masked_weight(self) -> torch.Tensor:
        return self.weight if self.mask is None else self.weight * self.mask

    def quantized_weight(self) -> torch.Tensor:
        w = self.masked_weight()
        if self.kind == "float":
            return w
        if self.kind == "int8":
            return int8_rows(w)
        return quantize(w, self.kind, self.w0, self.training and self.stochastic)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight(), self.bias)

    @torch.no_grad()
    def codes_and_scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(int8 codes [out, in], float scale [out]) with codes · scale = the eval-mode weight, exactly."""
        w = self.masked_weight()
        if self.kind == "int8":
            scale = int8_row_scale(w)
            return int8_codes(w, scale), scale[:, 0]
        if self.kind in ("ternary", "binary"):
            return weight_codes(w, self.kind, self.w0), self.w0[:, 0].clone()
        raise QuantConfigError("float weights have no integer codes")

    @torch.no_grad()
    def clip_shadow(self) -> None:
        if self.kind in ("ternary", "binary"):
            self.weight.copy_(torch.maximum(torch.minimum(self.weight, self.w0), -self.w0))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", weights={self.kind}{', stochastic' if self.stochastic else ''}"


class QuantEmbedding(nn.Embedding):
    """nn.Embedding with int8 per-row (per token / position) codes in the forward pass."""

    def __init__(self, emb: nn.Embedding) -> None:
        super().__init__(emb.num_embeddings, emb.embedding_dim, padding_idx=emb.padding_idx)
        with torch.no_grad():
            self.weight.copy_(emb.weight)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, int8_rows(self.weight), self.padding_idx)

    @torch.no_grad()
    def codes_and_scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        scale = int8_row_scale(self.weight)
        return int8_codes(self.weight, scale), scale[:, 0]


def encoder_linears(encoder: nn.Module) -> Iterator[tuple[str, nn.Module, str, nn.Linear]]:
    """(qualified name, parent, attribute, Linear) for every Linear inside the encoder's layers."""
    for name, module in encoder.named_modules():
        for attr, child in module.named_children():
            if isinstance(child, nn.Linear) and (name.startswith("encoder.layer") or name.startswith("layer")):
                yield f"{name}.{attr}", module, attr, child


def quantize_encoder(encoder: nn.Module, kind: str, stochastic: bool = False, embeddings: str = "float") -> None:
    """Swap the encoder's Linears for `kind` ones (and embeddings for int8 ones if asked), in place."""
    for _, parent, attr, linear in list(encoder_linears(encoder)):  # a QuantLinear (from --init) is re-wrapped
        setattr(parent, attr, QuantLinear(linear, kind, stochastic))
    if embeddings == "int8":
        emb = encoder.embeddings
        for attr in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
            child = getattr(emb, attr)
            if not isinstance(child, QuantEmbedding):
                setattr(emb, attr, QuantEmbedding(child))


def quant_linears(model: nn.Module) -> list[QuantLinear]:
    return [m for m in model.modules() if isinstance(m, QuantLinear)]


def clip_shadow_weights(model: nn.Module) -> None:
    for m in quant_linears(model):
        m.clip_shadow()


def encoder_weight_bytes(model: nn.Module) -> tuple[int, int]:
    """(bytes of the encoder Linear weights as stored in the export, bytes as float32).

    int8 weights are 1 byte each plus a float scale per row; ternary/binary are counted at their
    information content (2 and 1 bits per weight, plus the per-row scale), what a packed store holds.
    """
    bits = {"float": 32, "int8": 8, "ternary": 2, "binary": 1}
    stored = floats = 0
    for m in quant_linears(model):
        n = m.weight.numel()
        floats += 4 * n
        stored += (n * bits[m.kind] + 7) // 8 + (0 if m.kind == "float" else 4 * m.out_features)
    return stored, floats

