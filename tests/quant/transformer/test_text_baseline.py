"""The TF-IDF + LR baseline is fitted once per split and seed, then read from the cache."""

from __future__ import annotations

import dataclasses

import pytest

from hwgen.quant.text_baseline import tfidf_baseline
from hwgen.quant.text_data import load_table, split_texts


@pytest.fixture
def splits(topics_jsonl, tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    return split_texts(load_table(topics_jsonl), seed=0)


def _no_fit(monkeypatch):
    from sklearn.linear_model import LogisticRegression

    def refuse(*args, **kwargs):
        raise AssertionError("fitted again")

    monkeypatch.setattr(LogisticRegression, "fit", refuse)


def test_a_split_is_fitted_once_and_read_back_unchanged(splits, monkeypatch):
    first = tfidf_baseline(splits, seed=0)
    assert first["method"] == "tfidf+logreg" and first["test_accuracy"] > 60 and first["features"] > 0
    _no_fit(monkeypatch)
    assert tfidf_baseline(splits, seed=0) == first


def test_another_seed_label_or_text_is_fitted_anew(splits, monkeypatch):
    tfidf_baseline(splits, seed=0)
    _no_fit(monkeypatch)
    labels = splits.train.labels.copy()
    labels[0] = (labels[0] + 1) % len(splits.classes)
    texts = (splits.test.texts[0] + " x",) + splits.test.texts[1:]
    for changed, seed in ((splits, 1),
                          (dataclasses.replace(splits, train=dataclasses.replace(splits.train, labels=labels)), 0),
                          (dataclasses.replace(splits, test=dataclasses.replace(splits.test, texts=texts)), 0)):
        with pytest.raises(AssertionError, match="fitted again"):
            tfidf_baseline(changed, seed=seed)
