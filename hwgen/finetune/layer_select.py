"""Variability-based layer selection: which k layers to adapt, and after which layer to classify, with no training.

For the hidden states of each layer l (masked mean over tokens, as the classifier pools) on
the task's training texts, the within-class scatter Σ_w = mean_i (x_i - μ_{y_i})(x_i - μ_{y_i})^T
and the between-class scatter Σ_b = mean_c (μ_c - μ)(μ_c - μ)^T give

    J_l = trace(Σ_w Σ_b⁺)      (scale-free; small = the classes are far apart for their spread)

`select_layers` follows Xie et al. (2022), "Hidden State Variability of Pretrained Language
Models Can Guide Computation Reduction for Transfer Learning": the classifier attaches after the
layer of least J, the most task-specialised one (layers above it are dropped, with at least k
layers kept), and the k layers adapted are the ones just below it, attach − k + 1 .. attach. When
the last layer has the least J the choice is the top-k baseline's, at no extra cost; when a lower
layer has it, the layers above are never computed. `top_layers` is that baseline: the last k
layers, classifier on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from hwgen.finetune.errors import MethodError
from hwgen.quant.transformer_model import TextClassifier
from hwgen.quant.transformer_teachers import encode

BATCH = 64


@dataclass(frozen=True)
class LayerChoice:
    adapt: tuple[int, ...]  # 1-based layer numbers to train
    attach: int  # classifier after this layer (layers above are dropped)
    ratios: tuple[float, ...] = ()  # J_0 (embeddings) .. J_L

    def to_dict(self) -> dict[str, Any]:
        return {"adapt": list(self.adapt), "attach": self.attach, "ratios": list(self.ratios)}


def variability_ratio(features: np.ndarray, labels: np.ndarray) -> float:
    """trace(Σ_w Σ_b⁺) of features [N, H] with integer labels [N] (at least two classes)."""
    x = np.asarray(features, np.float64)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise MethodError("layer selection needs texts of at least 2 classes")
    mu = x.mean(0)
    means = np.stack([x[labels == c].mean(0) for c in classes])
    centred = x - means[np.searchsorted(classes, labels)]
    within = centred.T @ centred / len(x)
    d = means - mu
    between = d.T @ d / len(classes)
    return float(np.trace(within @ np.linalg.pinv(between, hermitian=True)))


@torch.no_grad()
def layer_features(model: TextClassifier, tokenizer: Any, texts: Sequence[str], max_len: int) -> list[np.ndarray]:
    """Masked-mean hidden states [N, H] of the embeddings and every layer (L + 1 arrays)."""
    model.eval()
    ids, mask = encode(tokenizer, texts, max_len)
    chunks: list[list[np.ndarray]] = []
    for k in range(0, len(ids), BATCH):
        m = mask[k:k + BATCH]
        hidden = model.encoder(input_ids=ids[k:k + BATCH], attention_mask=m, output_hidden_states=True).hidden_states
        w = m.unsqueeze(-1).float()
        chunks.append([((h * w).sum(1) / w.sum(1).clamp_min(1e-9)).double().numpy() for h in hidden])
    return [np.concatenate([c[layer] for c in chunks]) for layer in range(len(chunks[0]))]


def check_k(k: int, layers: int) -> None:
    if not 1 <= k <= layers:
        raise MethodError(f"--layers-k {k} is out of range: this model has {layers} layers, choose k in 1..{layers}")


def select_layers(ratios: Sequence[float], k: int) -> LayerChoice:
    """The choice of the module docstring from J_0 .. J_L."""
    layers = len(ratios) - 1
    check_k(k, layers)
    j = np.asarray(ratios, np.float64)
    attach = k + int(np.argmin(j[k:]))
    return LayerChoice(tuple(range(attach - k + 1, attach + 1)), attach, tuple(float(r) for r in j))


def top_layers(layers: int, k: int) -> LayerChoice:
    check_k(k, layers)
    return LayerChoice(tuple(range(layers - k + 1, layers + 1)), layers)


def apply_choice(model: TextClassifier, choice: LayerChoice) -> None:
    """Drop the layers above `attach`, freeze everything but the `adapt` layers and the head (in place)."""
    check_k(choice.attach, len(model.layers))
    del model.layers[choice.attach:]
    model.encoder.config.num_hidden_layers = choice.attach
    model.encoder.requires_grad_(False)
    for n in choice.adapt:
        model.layers[n - 1].requires_grad_(True)
