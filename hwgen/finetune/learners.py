"""Learner modules with priming (Vucetic et al. 2022, "Efficient fine-tuning of compressed language models
with learners"): small trainable modules in a frozen encoder, initialised from a short full fine-tune.

A learner sits beside a frozen Linear W (default: each layer's FFN output, `output.dense`)
as a rank-r branch, y = x W^T + b + (x A^T) B^T. Priming: a few steps of full fine-tuning
move W to W'; the learner starts from the best rank-r approximation of that move (truncated
SVD, ΔW = W' - W ≈ B A with B = U_r √S_r, A = √S_r V_r^T) while W goes back to its
pretrained value and is frozen, with the rest of the encoder. So training resumes where
priming left the model along its r strongest directions, with r·(in + out) parameters per
learner instead of in·out. The classifier head (primed) stays trainable. `merge` folds
B A into W: the checkpoint is a plain model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hwgen.finetune.errors import MethodError
from hwgen.quant.transformer_model import TextClassifier
from hwgen.quant.transformer_quant import QuantLinear

TARGETS = {"ffn_out": ("output", "dense"), "ffn_in": ("intermediate", "dense")}


@dataclass(frozen=True)
class LearnerOptions:
    rank: int = 1
    targets: tuple[str, ...] = ("ffn_out",)

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise MethodError(f"learner --rank must be >= 1, got {self.rank}")
        bad = [t for t in self.targets if t not in TARGETS]
        if bad or not self.targets:
            raise MethodError(f"learner targets {', '.join(bad) or '(none)'}: choose among {', '.join(TARGETS)}")


class Learner(nn.Module):
    """A frozen Linear plus a trainable rank-r branch B A."""

    def __init__(self, base: nn.Linear, a: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.a, self.b = nn.Parameter(a.clone()), nn.Parameter(b.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.t()) @ self.b.t()


def low_rank(delta: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A [r, in], B [out, r]) with B A the best rank-r approximation of `delta` (Eckart–Young)."""
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    root = s[:rank].sqrt()
    return root[:, None] * vh[:rank], u[:, :rank] * root[None]


def _target(layer: nn.Module, target: str) -> tuple[nn.Module, str, nn.Linear]:
    parent_name, attr = TARGETS[target]
    parent = getattr(layer, parent_name)
    lin = getattr(parent, attr)
    if not isinstance(lin, nn.Linear) or (isinstance(lin, QuantLinear) and lin.kind != "float"):
        raise MethodError(f"learners attach to float Linears; {parent_name}.{attr} is {type(lin).__name__}"
                          f"{' ' + lin.kind if isinstance(lin, QuantLinear) else ''} (use --weights float)")
    return parent, attr, lin


def check_learners(model: TextClassifier, options: LearnerOptions) -> None:
    """Raise MethodError unless every target is a float Linear at least `rank` wide (before priming)."""
    for layer in model.layers:
        for target in options.targets:
            _, _, lin = _target(layer, target)
            if options.rank > min(lin.weight.shape):
                raise MethodError(f"learner --rank {options.rank} is out of range for a {lin.out_features}x{lin.in_features} "
                                  f"Linear; choose 1..{min(lin.weight.shape)}")


@torch.no_grad()
def attach_learners(primed: TextClassifier, pretrained: TextClassifier, options: LearnerOptions) -> int:
    """Turn the primed model into frozen pretrained weights + primed learners (in place); returns learner parameters."""
    if len(primed.layers) != len(pretrained.layers):
        raise MethodError(f"learners: the primed model has {len(primed.layers)} layers, the pretrained {len(pretrained.layers)}")
    check_learners(primed, options)
    primed.encoder.requires_grad_(False)
    count = 0
    for layer, ref in zip(primed.layers, pretrained.layers):
        for target in options.targets:
            parent, attr, lin = _target(layer, target)
            _, _, orig = _target(ref, target)
            a, b = low_rank(lin.weight - orig.weight, options.rank)
            lin.weight.copy_(orig.weight)
            lin.bias.copy_(orig.bias)
            setattr(parent, attr, Learner(lin, a, b))
            count += a.numel() + b.numel()
    return count


@torch.no_grad()
def merge_learners(model: TextClassifier) -> None:
    """Fold each learner's B A into its base weight and put the plain Linear back; everything trainable again."""
    for module in list(model.modules()):
        for attr, child in list(module.named_children()):
            if isinstance(child, Learner):
                child.base.weight.add_(child.b @ child.a)
                setattr(module, attr, child.base)
    model.requires_grad_(True)
