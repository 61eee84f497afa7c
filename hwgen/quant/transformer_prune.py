"""Pruning a BERT classifier: unstructured magnitude with a sparsity schedule, and structured heads/FFN units.

Unstructured (`magnitude`): every encoder Linear keeps a 0/1 mask on its shadow weight.
The target sparsity s_f is reached gradually with the cubic schedule of Zhu & Gupta (2017),

    s(t) = s_f · (1 - (1 - t / T_ramp)³)   for t ≤ T_ramp (= `RAMP` of the steps), s_f after,

and every `every` steps each matrix's smallest-|w| weights (of the current shadow values)
are masked, so pruned weights can come back while the schedule still moves. The mask
multiplies the weight in the forward pass: a pruned weight gets no gradient and its code
is 0 in the export (the zeros stay in the stored matrix: unstructured sparsity does not
shrink a dense ONNX tensor).

Structured (`structured`): one shot, before training, from the weights it starts from.
A head's importance is the squared norm of its Q, K, V rows and its output-projection
columns; an FFN unit's is |row of the first Linear| · |column of the second|. Each layer
keeps its most important (1 - s) heads and units (at least one of each), and the rest is
cut out of the matrices, so the trained and the exported model are smaller (fewer heads,
narrower FFN). Distillation from the unpruned teacher then recovers accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hwgen.quant.errors import QuantConfigError
from hwgen.quant.transformer_model import TextClassifier, keep_ffn, keep_heads
from hwgen.quant.transformer_quant import quant_linears

RAMP = 0.75  # the schedule reaches its target after this fraction of the steps, then fine-tunes


@dataclass(frozen=True)
class MagnitudeSchedule:
    target: float
    total_steps: int
    every: int = 10

    def sparsity_at(self, step: int) -> float:
        """
        >>> s = MagnitudeSchedule(0.5, 100)
        >>> [round(s.sparsity_at(t), 4) for t in (0, 25, 75, 100)]
        [0.0, 0.3519, 0.5, 0.5]
        """
        ramp = max(1, int(RAMP * self.total_steps))
        p = min(1.0, step / ramp)
        return self.target * (1 - (1 - p) ** 3)

    def due(self, step: int) -> bool:
        return step % self.every == 0 or step == max(1, int(RAMP * self.total_steps))


@torch.no_grad()
def apply_magnitude(model: TextClassifier, sparsity: float) -> float:
    """Mask each encoder Linear's `sparsity` fraction of smallest |w|; returns the achieved overall sparsity."""
    pruned = total = 0
    for m in quant_linears(model):
        if m.kind == "binary" and sparsity > 0:
            raise QuantConfigError("binary weights have no zero code: magnitude pruning needs float, int8 or ternary")
        n = m.weight.numel()
        k = int(math.floor(sparsity * n))
        mask = torch.ones_like(m.weight)
        if k > 0:
            idx = torch.topk(m.weight.abs().reshape(-1), k, largest=False).indices
            mask.view(-1)[idx] = 0
        m.ensure_mask().copy_(mask)
        pruned += k
        total += n
    return pruned / max(total, 1)


def _top(scores: torch.Tensor, keep_fraction: float) -> torch.Tensor:
    k = max(1, int(round(keep_fraction * len(scores))))
    return torch.sort(torch.topk(scores, k).indices).values


@torch.no_grad()
def prune_structured(model: TextClassifier, sparsity: float) -> None:
    """Cut the least important `sparsity` fraction of heads and of FFN units out of every layer (float model)."""
    if not 0 <= sparsity < 1:
        raise QuantConfigError(f"structured sparsity must be in [0, 1), got {sparsity}")
    for layer in model.layers:
        att = layer.attention.self
        d = att.attention_head_size
        heads = att.query.out_features // d

        def per_head(w: torch.Tensor) -> torch.Tensor:
            return w.reshape(heads, -1).pow(2).sum(1)

        score = (per_head(att.query.weight) + per_head(att.key.weight) + per_head(att.value.weight)
                 + per_head(layer.attention.output.dense.weight.t().contiguous()))
        keep_heads(layer, _top(score, 1 - sparsity))
        unit = layer.intermediate.dense.weight.norm(dim=1) * layer.output.dense.weight.norm(dim=0)
        keep_ffn(layer, _top(unit, 1 - sparsity))
