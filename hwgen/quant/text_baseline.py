"""The TF-IDF + logistic-regression baseline reported beside every transformer result.

Word uni- and bigrams (sublinear tf, min_df 2 when the training set allows) and a
multinomial logistic regression (C = 10, lbfgs) trained on exactly the training texts the
transformer saw (after --limit); accuracy and ECE on the same test split.
"""

from __future__ import annotations

from typing import Any

from hwgen.quant.calibration import scores
from hwgen.quant.text_data import TextSplits


def tfidf_baseline(splits: TextSplits, seed: int = 0) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2 if len(splits.train) >= 200 else 1)
    x = vec.fit_transform(splits.train.texts)
    clf = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    clf.fit(x, splits.train.labels)
    probs = clf.predict_proba(vec.transform(splits.test.texts))
    full = probs if probs.shape[1] == len(splits.classes) else _widen(probs, clf.classes_, len(splits.classes))
    out = {"method": "tfidf+logreg", **{f"test_{k}": v for k, v in scores(full, splits.test.labels).items()}}
    out["features"] = int(x.shape[1])
    return out


def _widen(probs, present, classes: int):  # type: ignore[no-untyped-def]
    import numpy as np

    full = np.zeros((len(probs), classes))
    full[:, present] = probs
    return full
