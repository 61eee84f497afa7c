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
    text = b"hello world, " * 500
    c = corpus_from_bytes(text, seq_len=10)
    assert c.vocab == bytes(sorted(set(b"hello world, ")))
    assert len(c.train) + len(c.valid) + len(c.test) == len(text)
    np.testing.assert_array_equal(np.sort(np.concatenate([c.train, c.valid, c.test])), np.sort(c.encode(text)))
    np.testing.assert_array_equal(c.encode(b"hello"), c.encode(text)[:5])


def test_corpus_splits_sample_the_whole_text():
    """Text whose kind changes along the file (as Linux's archive order does) lands in every split."""
    part = data.SPLIT_GROUP * data.SPLIT_CHUNK
    text = b"".join(bytes([65 + k]) * part for k in range(8))  # 'AAAA…', 'BBBB…', … in order
    c = corpus_from_bytes(text, seq_len=100)
    assert len(c.valid) == len(c.test) == 8 * data.SPLIT_CHUNK
    for split in (c.train, c.valid, c.test):  # a contiguous 5% tail would hold only 'H'
        assert set(c.vocab[i] for i in np.unique(split)) == set(b"ABCDEFGH")
    np.testing.assert_array_equal(corpus_from_bytes(text, seq_len=100).test, c.test)  # fixed, not drawn per run


def test_split_chunks_cover_large_corpora_evenly():
    size, split = data.split_chunks(3_000_000, seq_len=100)
    assert size == data.SPLIT_CHUNK
    groups = split[: len(split) // data.SPLIT_GROUP * data.SPLIT_GROUP].reshape(-1, data.SPLIT_GROUP)
    assert ((groups == 1).sum(1) == 1).all() and ((groups == 2).sum(1) == 1).all()
