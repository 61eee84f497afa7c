"""Labelled texts for the transformer classifiers: a user's JSONL/CSV file or the Debian topics task.

A table has one text and one label per row (`text`, `label` columns/keys). Labels are
strings; classes are numbered in sorted order, so a run's label ids do not depend on row
order. `split_texts` cuts 80/10/10 train/valid/test, stratified by label with a seed, so
every class with at least 10 examples is in every split. A class named in the file with
no text, an empty file or a missing column are DataErrors (one line, exit 2), raised before
anything is written to RUN/.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from hwgen.quant.errors import DataError

TEXT, LABEL = "text", "label"
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class TextTable:
    """Texts with integer labels into `classes` (sorted label names)."""

    texts: tuple[str, ...]
    labels: np.ndarray  # int64 [N]
    classes: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx: Sequence[int]) -> "TextTable":
        return TextTable(tuple(self.texts[i] for i in idx), self.labels[np.asarray(idx, np.int64)], self.classes, self.source)


@dataclass(frozen=True)
class TextSplits:
    train: TextTable
    valid: TextTable
    test: TextTable

    @property
    def classes(self) -> tuple[str, ...]:
        return self.train.classes


def table_from_rows(rows: Sequence[tuple[str, str]], source: str, classes: Optional[Sequence[str]] = None) -> TextTable:
    """(text, label) pairs → TextTable; `classes` fixes the label set (a class without texts is an error)."""
    if not rows:
        raise DataError(f"{source}: no labelled texts")
    names = tuple(sorted(set(classes) if classes is not None else {label for _, label in rows}))
    index = {name: k for k, name in enumerate(names)}
    unknown = sorted({label for _, label in rows} - set(index))
    if unknown:
        raise DataError(f"{source}: label(s) {', '.join(unknown[:5])} are not among the classes {', '.join(names)}")
    labels = np.array([index[label] for _, label in rows], np.int64)
    empty = [names[k] for k in range(len(names)) if not np.any(labels == k)]
    if empty:
        raise DataError(f"{source}: class(es) {', '.join(empty)} have no examples")
    if len(names) < 2:
        raise DataError(f"{source}: a classifier needs at least 2 classes, found {len(names)} ({', '.join(names)})")
    return TextTable(tuple(text for text, _ in rows), labels, names, source)


def _rows_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{n}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{n}: each line must be a JSON object with {TEXT!r} and {LABEL!r}")
        rows.append(row)
    return rows


def _rows_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            raise DataError(f"{path}: empty CSV file (expected a header with {TEXT!r} and {LABEL!r})")
        return list(reader)


def load_table(path: Union[str, os.PathLike], classes: Optional[Sequence[str]] = None) -> TextTable:
    """A .jsonl or .csv file of (text, label) rows; `classes` (e.g. a run's) fixes the label set."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".csv"):
        raise DataError(f"{path}: give a .jsonl or .csv file with {TEXT!r} and {LABEL!r} columns")
    try:
        raw = _rows_jsonl(path) if path.suffix == ".jsonl" else _rows_csv(path)
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({type(err).__name__}: {getattr(err, 'strerror', None) or err})") from None
    if not raw:
        raise DataError(f"{path}: no rows")
    for n, row in enumerate(raw, 1):
        missing = [key for key in (TEXT, LABEL) if key not in row or row[key] is None]
        if missing:
            raise DataError(f"{path}: row {n} has no {' or '.join(repr(m) for m in missing)} "
                            f"(each row needs {TEXT!r} and {LABEL!r})")
    return table_from_rows([(str(r[TEXT]), str(r[LABEL])) for r in raw], str(path), classes)


def split_texts(table: TextTable, seed: int, fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> TextSplits:
    """Stratified train/valid/test split: each class is shuffled with `seed` and cut by `fractions`."""
    rng = np.random.default_rng(seed)
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for k in range(len(table.classes)):
        idx = np.flatnonzero(table.labels == k)
        rng.shuffle(idx)
        n_valid = int(round(len(idx) * fractions[1]))
        n_test = int(round(len(idx) * fractions[2]))
        cut = len(idx) - n_valid - n_test
        parts[0].extend(idx[:cut].tolist())
        parts[1].extend(idx[cut:cut + n_valid].tolist())
        parts[2].extend(idx[cut + n_valid:].tolist())
    for part in parts:
        part.sort()
    if not parts[0] or not parts[1] or not parts[2]:
        raise DataError(f"{table.source}: {len(table)} texts are too few for a train/valid/test split")
    return TextSplits(table.take(parts[0]), table.take(parts[1]), table.take(parts[2]))


def limit_train(splits: TextSplits, limit: Optional[int], seed: int) -> TextSplits:
    """Keep `limit` training texts (a seeded random subset, in file order); valid and test stay whole."""
    if limit is None or limit >= len(splits.train):
        return splits
    if limit < 1:
        raise DataError(f"--limit must be >= 1, got {limit}")
    idx = np.sort(np.random.default_rng(seed + 1).permutation(len(splits.train))[:limit])
    return TextSplits(splits.train.take(idx.tolist()), splits.valid, splits.test)
