"""Accuracy and expected calibration error (ECE) of class probabilities.

ECE (Guo et al. 2017): the predictions are binned by confidence (max probability) into
`BINS` equal-width bins; ECE = Σ_b (n_b / N)·|accuracy_b − mean confidence_b|, in percent
like the accuracy. Computed in float64 from probabilities of any source (PyTorch,
onnxruntime, scikit-learn), so every row of a table is measured the same way.
"""

from __future__ import annotations

import numpy as np

BINS = 15


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return 100.0 * float(np.mean(np.asarray(probs).argmax(1) == np.asarray(labels)))


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    >>> round(ece(p, np.array([0, 1, 0, 1])), 3)  # bins: 0.9 right, 0.8 wrong, 0.6 right, 0.7 right: (.1+.8+.4+.3)/4
    40.0
    """
    p = np.asarray(probs, np.float64)
    conf = p.max(1)
    right = (p.argmax(1) == np.asarray(labels)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(right[sel].mean() - conf[sel].mean())
    return float(100.0 * total)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def scores(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {"accuracy": accuracy(probs, labels), "ece": ece(probs, labels)}
