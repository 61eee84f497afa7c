"""Data: the digits split the hardware test shares, and the char corpus fallbacks."""

import numpy as np

from hwgen.quant import data
from hwgen.quant.data import build_corpus, corpus_from_bytes, digits_dataset, digits_split


def test_digits_split_is_the_training_preprocessing():
    x, y = digits_split(0)
    d = digits_dataset(0)
    np.testing.assert_array_equal(x, d.x_test)
    assert x.shape == (450, 8, 8) and x.dtype == np.float32 and y.shape == (450,)
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(x * 16)) <= set(range(17))  # pixel / 16, nothing else
    assert len(d.x_train) + len(x) == 1797


def test_corpus_falls_back_to_python_sources(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "LINUX_TARBALL", tmp_path / "absent.tar.xz")
    text, source = build_corpus(50_000)
    assert len(text) == 50_000 and "python stdlib" in source and b"def " in text


def test_corpus_split_and_encoding():
    c = corpus_from_bytes(b"hello world, " * 500, seq_len=10)
    assert c.vocab == bytes(sorted(set(b"hello world, ")))
    assert len(c.train) + len(c.valid) + len(c.test) == 13 * 500
    np.testing.assert_array_equal(c.encode(b"hello"), c.train[:5])
