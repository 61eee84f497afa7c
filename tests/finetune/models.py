"""In-memory tiny BERT classifiers for the library tests (no files, no training)."""

from __future__ import annotations

import torch

from hwgen.quant.transformer_model import TextClassifier
from hwgen.quant.transformer_quant import quantize_encoder


def tiny_classifier(seed: int = 0, layers: int = 2, hidden: int = 32, kind: str = "float") -> TextClassifier:
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=128, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=2 * hidden, max_position_embeddings=32)
    model = TextClassifier(BertModel(config, add_pooling_layer=False), 3)
    quantize_encoder(model.encoder, kind)
    return model.eval()


def batch(seed: int = 1, n: int = 4, length: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 40, (n, length), generator=g)
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0
    return ids, mask


@torch.no_grad()
def nudge(model: TextClassifier, scale: float = 0.05, seed: int = 2, only=None) -> None:
    """Move the encoder's weights a little (a stand-in for priming)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.encoder.named_parameters():
        if only is None or only in name:
            p.add_(scale * torch.randn(p.shape, generator=g))
