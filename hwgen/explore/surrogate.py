"""A response surface over the space (Smithson et al. 2016): a small model trained on the evaluated points that
predicts every objective of unevaluated candidates, so the search spends evaluations on the predicted front.

Features are the hyper-parameters (log2 of the sizes, one-hot of the categories); scikit-learn's MLP (or a GP)
fits each objective on standardised values. :meth:`Surrogate.propose` scores the whole grid (or a sample of it) and
returns the unevaluated points predicted non-dominated; :meth:`Surrogate.promising` filters one candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from hwgen.explore.space import Objective, Point, Space

#: Fit only once this many points are evaluated (fewer give a surface that proposes noise).
MIN_POINTS = 8


def encode(space: Space, points: Sequence[Point]) -> np.ndarray:
    """Numbers as log2, strings one-hot, in the space's parameter order."""
    cols = []
    for name, values in space.params.items():
        if len(values) < 2:
            continue
        raw = [getattr(p, name) for p in points]
        if isinstance(values[0], int):
            cols.append(np.log2(np.array(raw, float))[:, None])
        else:
            cols.append(np.array([[1.0 if r == v else 0.0 for v in values] for r in raw]))
    return np.hstack(cols) if cols else np.zeros((len(points), 1))


def signed(objectives: Sequence[Objective], values: np.ndarray) -> np.ndarray:
    """Objective values turned into "smaller is better" (maximised ones negated)."""
    sign = np.array([-1.0 if o.direction == "maximize" else 1.0 for o in objectives])
    return values * sign


def nondominated(costs: np.ndarray) -> np.ndarray:
    """Mask of the rows of `costs` (minimised) no other row dominates."""
    keep = np.ones(len(costs), bool)
    for i, c in enumerate(costs):
        if keep[i]:
            dominated = np.all(costs >= c, axis=1) & np.any(costs > c, axis=1)
            keep &= ~dominated
    return keep


@dataclass
class Surrogate:
    """One regressor per objective, trained on (point, objective values) pairs."""

    space: Space
    kind: str = "mlp"
    seed: int = 0

    def __post_init__(self) -> None:
        self.models: list[Any] = []

    def fit(self, points: Sequence[Point], values: np.ndarray) -> bool:
        """Fit on the evaluated points; False (no model) with fewer than MIN_POINTS."""
        if len(points) < MIN_POINTS or self.kind == "none":
            self.models = []
            return False
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, WhiteKernel
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x = encode(self.space, points)
        self.models = []
        for column in np.asarray(values, float).T:
            if self.kind == "gp":
                reg = GaussianProcessRegressor(RBF(np.ones(x.shape[1])) + WhiteKernel(), normalize_y=True,
                                               random_state=self.seed)
            else:
                reg = MLPRegressor(hidden_layer_sizes=(32, 32), max_iter=3000, random_state=self.seed, alpha=1e-3)
            model = make_pipeline(StandardScaler(), reg)
            mean, scale = column.mean(), column.std() or 1.0
            model.fit(x, (column - mean) / scale)
            self.models.append((model, mean, scale))
        return True

    @property
    def ready(self) -> bool:
        return bool(self.models)

    def predict(self, points: Sequence[Point]) -> np.ndarray:
        x = encode(self.space, points)
        return np.column_stack([m.predict(x) * scale + mean for m, mean, scale in self.models])

    def propose(self, candidates: Sequence[Point], seen: set, front: np.ndarray, limit: int) -> list[Point]:
        """Up to `limit` unevaluated candidates predicted non-dominated by each other and by the known `front`
        (signed objective values), spread over the predicted front."""
        fresh = [p for p in candidates if p not in seen]
        if not fresh or not self.ready:
            return []
        predicted = signed(self.space.objectives, self.predict(fresh))
        known = front if len(front) else np.empty((0, predicted.shape[1]))
        mask = nondominated(np.vstack([known, predicted]))[len(known):]
        picks = [p for p, keep in zip(fresh, mask) if keep]
        if len(picks) > limit:
            step = len(picks) / limit
            picks = [picks[math.floor(i * step)] for i in range(limit)]
        return picks
