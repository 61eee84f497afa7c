"""Training data that is already on the machine: scikit-learn's 8×8 digits and text corpora.

Digits: each image is a sequence of 8 rows (T=8) of 8 pixels (X=8); pixels 0..16 are
scaled to [0, 1] by `DIGITS_SCALE`, the one preprocessing step training, export tests
and the hardware test share (`digits_split`).

Char-LM: a corpus is bytes; the vocabulary is the sorted set of bytes it contains.
The corpus is cut into chunks of `SPLIT_CHUNK` bytes and every run of 20 consecutive chunks
gives one chunk to valid, one to test and 18 to train, the positions picked by a fixed
seed (`split_chunks`): the three splits sample the whole corpus, so they hold the same
kind of text. (A contiguous 90/5/5 cut of files concatenated in archive order made the
test split one kind of file — Linux's i.MX pin-function tables — and test BPC far worse
than valid.) `build_corpus` takes the Linux kernel sources from Debian's `linux-source-6.1` package
when it is installed (the kind of corpus of the paper's Linux task) and otherwise this
Python's own standard-library sources, which always exist.
"""

from __future__ import annotations

import os
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from hwgen.quant.errors import DataError

#: Digits pixels are integers 0..16; the model sees pixel / 16 in [0, 1].
DIGITS_SCALE = 1.0 / 16.0
DIGITS_TEST_FRACTION = 0.25
LINUX_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
#: Char-LM split: chunk size in bytes, chunks per group (one valid + one test per group), and the fixed seed.
SPLIT_CHUNK = 8192
SPLIT_GROUP = 20
SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsData:
    x_train: np.ndarray  # float32 [N, 8, 8]
    y_train: np.ndarray  # int64 [N]
    x_test: np.ndarray
    y_test: np.ndarray


def digits_dataset(seed: int = 0) -> DigitsData:
    """The 1797 digits, stratified 75/25 train/test split fixed by `seed`."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) * np.float32(DIGITS_SCALE)).reshape(-1, 8, 8)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=DIGITS_TEST_FRACTION, random_state=seed, stratify=y)
    return DigitsData(np.ascontiguousarray(xtr), ytr, np.ascontiguousarray(xte), yte)


def digits_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The test split exactly as training sees it: (x float32 [N, T=8, X=8] in [0, 1], labels int64 [N])."""
    d = digits_dataset(seed)
    return d.x_test, d.y_test


# ---- character corpora ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CharCorpus:
    """A byte corpus as token ids with its vocabulary, split 90/5/5 into train/valid/test by interleaved chunks."""

    vocab: bytes  # id -> byte
    train: np.ndarray  # int64 ids
    valid: np.ndarray
    test: np.ndarray
    source: str

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, data: bytes) -> np.ndarray:
        table = np.full(256, -1, np.int64)
        table[np.frombuffer(self.vocab, np.uint8)] = np.arange(len(self.vocab))
        ids = table[np.frombuffer(data, np.uint8)]
        if (ids < 0).any():
            raise DataError("text contains bytes outside the model's vocabulary")
        return ids


def split_chunks(n: int, seq_len: int) -> tuple[int, np.ndarray]:
    """(chunk size, split of each chunk: 0 train, 1 valid, 2 test) for a corpus of `n` bytes.

    Chunks are `SPLIT_CHUNK` bytes, smaller for small corpora so there are at least
    `SPLIT_GROUP` of them, never shorter than one sequence + target. In each group of
    `SPLIT_GROUP` consecutive chunks a seeded permutation picks one valid and one test
    chunk (a trailing group shorter than 3 chunks stays in train).

    >>> size, split = split_chunks(100_000, seq_len=10)
    >>> size, len(split), [int((split == k).sum()) for k in (0, 1, 2)]
    (5000, 20, [18, 1, 1])
    """
    size = max(seq_len + 1, min(SPLIT_CHUNK, n // SPLIT_GROUP))
    count = -(-n // size)
    rng = np.random.default_rng(SPLIT_SEED)
    split = np.zeros(count, np.int64)
    for start in range(0, count, SPLIT_GROUP):
        group = min(SPLIT_GROUP, count - start)
        if group >= 3:
            pick = rng.permutation(group)[:2]
            split[start + pick] = (1, 2)
    return size, split


def corpus_from_bytes(data: bytes, seq_len: int, source: str = "text") -> CharCorpus:
    """Split `data` by interleaved chunks (`split_chunks`); each split holds at least one training sequence."""
    if not data:
        raise DataError(f"{source}: the corpus is empty")
    need = SPLIT_GROUP * (seq_len + 1)  # valid and test each get >= 1 of SPLIT_GROUP chunks, each >= one sequence + target
    if len(data) < need:
        raise DataError(f"{source}: the corpus has {len(data)} bytes, shorter than one sequence per split "
                        f"(need >= {need} bytes for --seq-len {seq_len})")
    vocab = bytes(sorted(set(data)))
    table = np.zeros(256, np.int64)
    table[np.frombuffer(vocab, np.uint8)] = np.arange(len(vocab))
    ids = table[np.frombuffer(data, np.uint8)]
    size, split = split_chunks(len(ids), seq_len)
    which = np.repeat(split, size)[:len(ids)]
    return CharCorpus(vocab, ids[which == 0], ids[which == 1], ids[which == 2], source)


def _read_files(paths: Iterable[Path], max_bytes: int) -> bytes:
    chunks, total = [], 0
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError:
            continue
        chunks.append(data)
        total += len(data)
        if total >= max_bytes:
            break
    return b"".join(chunks)[:max_bytes]


def read_text_files(paths: Sequence[Union[str, os.PathLike]], max_bytes: int) -> bytes:
    """Bytes of the given files, and of every file below given folders (sorted), up to `max_bytes`."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise DataError(f"{p}: no such file or folder")
        files.extend(sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p])
    return _read_files(files, max_bytes)


def stdlib_text(max_bytes: int) -> bytes:
    """This Python's standard-library .py sources (always present), sorted by path."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts)
    return _read_files(files, max_bytes)


def linux_text(max_bytes: int, tarball: Optional[Path] = None) -> Optional[bytes]:
    """C sources of the Linux kernel from Debian's linux-source-6.1 tarball, in archive order; None if absent."""
    tarball = tarball or LINUX_TARBALL
    if not tarball.exists():
        return None
    chunks, total = [], 0
    with tarfile.open(tarball, "r:xz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith((".c", ".h")):
                continue
            f = tar.extractfile(member)
            if f is None:
                continue
            data = f.read()
            chunks.append(data)
            total += len(data)
            if total >= max_bytes:
                break
    return b"".join(chunks)[:max_bytes]


def build_corpus(max_bytes: int = 2_000_000, paths: Sequence[Union[str, os.PathLike]] = (),
                 prefer: str = "linux") -> tuple[bytes, str]:
    """(text, description): given files, else the Linux kernel source if installed, else Python's stdlib."""
    if paths:
        return read_text_files(paths, max_bytes), ", ".join(str(p) for p in paths)
    if prefer == "linux":
        data = linux_text(max_bytes)
        if data is not None:
            return data, f"linux-source-6.1 ({LINUX_TARBALL})"
    return stdlib_text(max_bytes), f"python stdlib sources ({sysconfig.get_paths()['stdlib']})"
