"""FAR, Freeze And Reconfigure (Vucetic et al. 2022): train only the FFN units that move during priming.

After a short full fine-tune ("priming"), each FFN unit j of a layer (row j of the first
Linear W1, column j of the second W2) is ranked by how far it moved from the pretrained
weights, ||ΔW1[j, :]|| + ||ΔW2[:, j]||. The `fraction` least-changing units are frozen and
the layer is *reconfigured* rather than masked: the FFN becomes two contiguous paths,

    h_t = act(x W1_t^T + b1_t)   (trainable nn.Linear)     out = h_t W2_t^T + h_f W2_f^T + b2
    h_f = act(x W1_f^T + b1_f)   (frozen buffers)

so the frozen weights are buffers: no .grad, no optimizer state, no weight-gradient
activations (autograd saves a Linear's input only for its weight gradient; the frozen
path keeps only the GELU input that the gradient to lower layers needs), and no per-step
masking, indexing or copying (the memory operations a masked freeze would add). `merge`
puts the units back in their original order as plain Linears, so the checkpoint loads as
any other run's. The embeddings are frozen too (`freeze_embeddings`): half of MiniLM's
parameters, never reconfigured.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hwgen.finetune.errors import MethodError
from hwgen.quant.transformer_model import TextClassifier
from hwgen.quant.transformer_quant import QuantLinear


@dataclass(frozen=True)
class FarOptions:
    fraction: float = 0.6  # of each layer's FFN units frozen
    freeze_embeddings: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.fraction < 1:
            raise MethodError(f"FAR --far-fraction must be in (0, 1) (the share of FFN units frozen), got {self.fraction}")


def _float_weight(lin: nn.Linear) -> torch.Tensor:
    if isinstance(lin, QuantLinear) and (lin.kind != "float" or lin.mask is not None):
        raise MethodError(f"FAR reconfigures float FFN weights; this layer has {lin.kind} weights"
                          f"{' and a pruning mask' if lin.mask is not None else ''} (use --weights float, no --prune)")
    return lin.weight.detach()


def check_ffn(model: TextClassifier) -> None:
    """Raise MethodError unless every layer has a float two-Linear FFN with at least 2 units."""
    for k, layer in enumerate(model.layers):
        inter, out = getattr(layer, "intermediate", None), getattr(layer, "output", None)
        if not isinstance(getattr(inter, "dense", None), nn.Linear) or not isinstance(getattr(out, "dense", None), nn.Linear):
            raise MethodError(f"FAR needs an FFN (intermediate.dense, output.dense) in every layer; layer {k} has none")
        _float_weight(inter.dense), _float_weight(out.dense)
        if inter.dense.out_features < 2:
            raise MethodError(f"FAR needs >= 2 FFN units per layer to freeze some; layer {k} has {inter.dense.out_features}")


def unit_change(before: TextClassifier, after: TextClassifier) -> list[torch.Tensor]:
    """Per layer, how far each FFN unit moved: ||ΔW1[j, :]|| + ||ΔW2[:, j]||."""
    check_ffn(after)
    if len(before.layers) != len(after.layers):
        raise MethodError(f"FAR: the primed model has {len(after.layers)} layers, the pretrained {len(before.layers)}")
    out = []
    for b, a in zip(before.layers, after.layers):
        d1 = _float_weight(a.intermediate.dense) - _float_weight(b.intermediate.dense)
        d2 = _float_weight(a.output.dense) - _float_weight(b.output.dense)
        out.append(d1.norm(dim=1) + d2.norm(dim=0))
    return out


class FarIntermediate(nn.Module):
    """act(x W1^T + b1) as (trainable units, frozen units); the pair goes to `FarOutput`."""

    def __init__(self, original: nn.Module, train: torch.Tensor, frozen: torch.Tensor) -> None:
        super().__init__()
        dense, act = original.dense, original.intermediate_act_fn
        w, b = dense.weight.detach(), dense.bias.detach()
        self.dense = nn.Linear(dense.in_features, len(train))
        with torch.no_grad():
            self.dense.weight.copy_(w[train])
            self.dense.bias.copy_(b[train])
        self.register_buffer("frozen_weight", w[frozen].contiguous())
        self.register_buffer("frozen_bias", b[frozen].contiguous())
        self.register_buffer("order", torch.cat([train, frozen]))  # unit k of the pair is original unit order[k]
        self.act = act
        object.__setattr__(self, "original", original)  # the HF module `merge` restores (not a submodule)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.act(self.dense(x)), self.act(F.linear(x, self.frozen_weight, self.frozen_bias))


class FarOutput(nn.Module):
    """LayerNorm(dropout(h_t W2_t^T + h_f W2_f^T + b2) + input): BertOutput over the pair of paths."""

    def __init__(self, output: nn.Module, train: torch.Tensor, frozen: torch.Tensor) -> None:
        super().__init__()
        w, b = output.dense.weight.detach(), output.dense.bias.detach()
        self.dense = nn.Linear(len(train), w.shape[0])
        with torch.no_grad():
            self.dense.weight.copy_(w[:, train])
            self.dense.bias.copy_(b)
        self.register_buffer("frozen_weight", w[:, frozen].contiguous())
        self.LayerNorm, self.dropout = output.LayerNorm, output.dropout
        object.__setattr__(self, "original", output)

    def forward(self, hidden: tuple[torch.Tensor, torch.Tensor], input_tensor: torch.Tensor) -> torch.Tensor:
        h_t, h_f = hidden
        y = self.dense(h_t) + F.linear(h_f, self.frozen_weight)
        return self.LayerNorm(self.dropout(y) + input_tensor)


def reconfigure(model: TextClassifier, change: list[torch.Tensor], options: FarOptions) -> int:
    """Freeze the `options.fraction` least-changing FFN units of each layer; returns the frozen parameter count."""
    check_ffn(model)
    frozen_params = 0
    for layer, c in zip(model.layers, change):
        n = c.numel()
        n_frozen = min(n - 1, max(1, int(round(options.fraction * n))))
        rank = torch.argsort(c, stable=True)
        frozen, train = rank[:n_frozen].sort().values, rank[n_frozen:].sort().values
        layer.intermediate = FarIntermediate(layer.intermediate, train, frozen)
        layer.output = FarOutput(layer.output, train, frozen)
        frozen_params += n_frozen * (2 * layer.output.dense.out_features + 1)
    if options.freeze_embeddings:
        model.encoder.embeddings.requires_grad_(False)
    return frozen_params


def _plain(w: torch.Tensor, b: torch.Tensor | None) -> QuantLinear:
    lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    with torch.no_grad():
        lin.weight.copy_(w)
        if b is not None:
            lin.bias.copy_(b)
    return QuantLinear(lin, "float")


@torch.no_grad()
def merge(model: TextClassifier) -> None:
    """Undo `reconfigure`: plain float FFN Linears in the original unit order, everything trainable again."""
    for layer in model.layers:
        inter, out = layer.intermediate, layer.output
        if not isinstance(inter, FarIntermediate):
            continue
        inverse = torch.argsort(inter.order)
        w1 = torch.cat([inter.dense.weight, inter.frozen_weight])[inverse]
        b1 = torch.cat([inter.dense.bias, inter.frozen_bias])[inverse]
        w2 = torch.cat([out.dense.weight, out.frozen_weight], dim=1)[:, inverse]
        inter.original.dense, out.original.dense = _plain(w1, b1), _plain(w2, out.dense.bias)
        layer.intermediate, layer.output = inter.original, out.original
    model.requires_grad_(True)
