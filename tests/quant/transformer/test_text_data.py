"""Text tables (JSONL/CSV), the stratified split, and the Debian topics parser on fabricated apt lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwgen.quant.debian_topics import description_text, parse_stanzas, topics_from_lists
from hwgen.quant.errors import DataError
from hwgen.quant.text_data import limit_train, load_table, split_texts

from .conftest import fabricated_rows

PACKAGES = """\
Package: foo
Source: foo-src (1.2-1)
Section: games
Description: short foo
Description-md5: aaa

Package: foo-data
Source: foo-src
Section: games
Description: data for foo
Description-md5: bbb

Package: foo-src
Section: games
Description: the foo game
Description-md5: ccc

Package: bar
Section: contrib/net
Description: a bar server
Description-md5: ddd

Package: libbaz1
Source: baz
Section: libs
Description: a library
Description-md5: eee

Package: nodesc
Section: utils
Description: no translation
Description-md5: fff
"""

TRANSLATION = """\
Package: foo
Description-md5: aaa
Description-en: short foo
 The long text.

Package: foo-src
Description-md5: ccc
Description-en: The foo game
 Shoot the foo.
 .
 Second paragraph
   with more words.

Package: bar
Description-md5: ddd
Description-en: a bar server
 Serves bar over TCP.

Package: libbaz1
Description-md5: eee
Description-en: a library
 For baz.
"""


def test_debian_parser_one_binary_per_source_topical_sections_joined_on_md5():
    rows = topics_from_lists([PACKAGES], [TRANSLATION])
    assert rows == [("a bar server Serves bar over TCP.", "net"),
                    ("The foo game Shoot the foo. Second paragraph with more words.", "games")]


def test_stanzas_keep_continuations_and_empty_lines():
    (st,) = list(parse_stanzas("A: 1\nB: x\n y\n .\n z\n"))
    assert st == {"A": "1", "B": "x\ny\n\nz"}
    assert description_text(st["B"]) == "x y z"


def test_jsonl_and_csv_tables(tmp_path):
    rows = fabricated_rows(5)
    j = tmp_path / "t.jsonl"
    j.write_text("".join(json.dumps(r) + "\n" for r in rows))
    c = tmp_path / "t.csv"
    c.write_text("text,label\n" + "".join(f"\"{r['text']}\",{r['label']}\n" for r in rows))
    a, b = load_table(j), load_table(c)
    assert a.texts == b.texts and np.array_equal(a.labels, b.labels) and a.classes == ("games", "net", "science")


@pytest.mark.parametrize("content, suffix, message", [
    ('{"text": "x"}\n', ".jsonl", "has no 'label'"),
    ("text\nhello\n", ".csv", "has no 'label'"),
    ("not json\n", ".jsonl", "not valid JSON"),
    ("", ".jsonl", "no rows"),
    ('{"text": "x", "label": "a"}\n', ".txt", "give a .jsonl or .csv"),
])
def test_bad_tables_are_one_line_data_errors(tmp_path, content, suffix, message):
    path = tmp_path / f"d{suffix}"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_table(path)


def test_missing_file_and_class_without_examples(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_table(tmp_path / "nowhere.jsonl")
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "x", "label": "a"}\n{"text": "y", "label": "b"}\n')
    with pytest.raises(DataError, match="class\\(es\\) c have no examples"):
        load_table(path, classes=("a", "b", "c"))


def test_split_is_stratified_seeded_and_disjoint(topics_jsonl):
    table = load_table(topics_jsonl)
    s1, s2 = split_texts(table, 0), split_texts(table, 0)
    assert s1.train.texts == s2.train.texts and split_texts(table, 1).train.texts != s1.train.texts
    assert (len(s1.train), len(s1.valid), len(s1.test)) == (240, 30, 30)
    for part in (s1.valid, s1.test):
        assert np.bincount(part.labels).tolist() == [10, 10, 10]
    limited = limit_train(s1, 50, 0)
    assert len(limited.train) == 50 and limited.test.texts == s1.test.texts
