"""Task metrics in eval mode: digits accuracy (%) and char-LM bits per character."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from hwgen.quant.model import QuantLSTMModel


def one_hot(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    return F.one_hot(ids, vocab).to(torch.float32)


@torch.no_grad()
def digits_accuracy(model: QuantLSTMModel, x: np.ndarray, y: np.ndarray, batch: int = 512) -> float:
    model.eval()
    correct = 0
    for k in range(0, len(x), batch):
        logits = model(torch.from_numpy(x[k:k + batch]))
        correct += int((logits.argmax(1).numpy() == y[k:k + batch]).sum())
    return 100.0 * correct / len(x)


def lm_windows(ids: np.ndarray, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping (input, target) windows of `seq_len` characters."""
    n = (len(ids) - 1) // seq_len
    x = torch.from_numpy(ids[: n * seq_len].reshape(n, seq_len))
    y = torch.from_numpy(ids[1: n * seq_len + 1].reshape(n, seq_len))
    return x, y


@torch.no_grad()
def bits_per_char(model: QuantLSTMModel, ids: np.ndarray, seq_len: int, batch: int = 128) -> float:
    """Mean cross-entropy over every predicted character, in bits (each window starts from a zero state)."""
    model.eval()
    x, y = lm_windows(ids, seq_len)
    vocab = model.config.input_size
    total, count = 0.0, 0
    for k in range(0, len(x), batch):
        logits = model(one_hot(x[k:k + batch], vocab))
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[k:k + batch].reshape(-1), reduction="sum"))
        count += y[k:k + batch].numel()
    return total / count / math.log(2)


def bpc_of_logits(logits: np.ndarray, targets: np.ndarray) -> float:
    """Bits per character of logits [..., V] against target ids [...], in float64 — for models that run
    outside PyTorch (onnxruntime, the reference interpreter, the integer model)."""
    z = np.asarray(logits, np.float64).reshape(-1, logits.shape[-1])
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(z)), np.asarray(targets).reshape(-1)].mean() / math.log(2))
