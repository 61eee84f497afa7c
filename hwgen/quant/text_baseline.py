"""The TF-IDF + logistic-regression baseline reported beside every transformer result.

Word uni- and bigrams (sublinear tf, min_df 2 when the training set allows) and a
multinomial logistic regression (C = 10, lbfgs) trained on exactly the training texts the
transformer saw (after --limit); accuracy and ECE on the same test split. The fit takes
about a minute on MiniLM's task, and every run of a benchmark on one split would repeat it,
so the result is cached under the hash of the split's texts and labels, the seed, the
source of this module and of the scores (`calibration`), and the scikit-learn version
(concurrent runs wait for one fit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hwgen.cache import build_once, content_hash
from hwgen.quant import calibration
from hwgen.quant.text_data import TextSplits, TextTable

RESULT = "baseline.json"


def tfidf_baseline(splits: TextSplits, seed: int = 0) -> dict[str, Any]:
    """The baseline's test accuracy, ECE and feature count, from the cache when this split and seed were fitted."""
    import sklearn

    key = content_hash([Path(__file__), Path(calibration.__file__), sklearn.__version__, str(seed),
                        str(len(splits.classes)), *_table_parts(splits.train), *_table_parts(splits.test)])

    def fit(folder: Path) -> None:
        (folder / RESULT).write_text(json.dumps(_fit(splits, seed)) + "\n")

    return json.loads((build_once("tfidf-baseline", key, RESULT, fit) / RESULT).read_text())


def _table_parts(table: TextTable) -> list[str | bytes]:
    return [str(len(table)), *table.texts, table.labels.astype("<i8").tobytes()]


def _fit(splits: TextSplits, seed: int) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2 if len(splits.train) >= 200 else 1)
    x = vec.fit_transform(splits.train.texts)
    clf = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    clf.fit(x, splits.train.labels)
    probs = clf.predict_proba(vec.transform(splits.test.texts))
    full = probs if probs.shape[1] == len(splits.classes) else _widen(probs, clf.classes_, len(splits.classes))
    test = calibration.scores(full, splits.test.labels)
    out = {"method": "tfidf+logreg", **{f"test_{k}": v for k, v in test.items()}}
    out["features"] = int(x.shape[1])
    return out


def _widen(probs, present, classes: int):  # type: ignore[no-untyped-def]
    import numpy as np

    full = np.zeros((len(probs), classes))
    full[:, present] = probs
    return full
