"""hwgen.cache: keys are stable and sensitive to every part; build_once builds once; ResultStore keeps records."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hwgen.cache as cache
from hwgen.cache import CacheError, ResultStore, build_once, cache_dir, content_hash

parts = st.lists(st.one_of(st.text(max_size=20), st.binary(max_size=20)), max_size=6)


@given(parts)
def test_key_is_stable_and_short(key_parts):
    assert content_hash(key_parts) == content_hash(list(key_parts))
    assert len(content_hash(key_parts)) == 20 and int(content_hash(key_parts), 16) >= 0


@given(parts, parts)
def test_different_parts_give_different_keys(a, b):
    as_bytes = lambda ps: [p.encode() if isinstance(p, str) else p for p in ps]  # noqa: E731
    if as_bytes(a) != as_bytes(b):
        assert content_hash(a) != content_hash(b)
    else:
        assert content_hash(a) == content_hash(b)  # a str and its UTF-8 bytes are the same part


@given(st.text(max_size=10), st.text(max_size=10))
def test_parts_do_not_run_together(a, b):
    if a:
        assert content_hash([a, b]) != content_hash([a[:-1], a[-1] + b])


@settings(max_examples=20)
@given(st.binary(max_size=64))
def test_a_file_is_hashed_by_content(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("f") / "x.v"
    path.write_bytes(data)
    assert content_hash([path]) == content_hash([data])


def test_non_parts_are_refused():
    with pytest.raises(TypeError, match="str, bytes or Path"):
        content_hash([3])


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and cache_dir().is_dir()
    monkeypatch.delenv("HWGEN_CACHE")
    assert cache_dir() == Path(cache.__file__).resolve().parents[1] / ".hwgen-cache"


def test_build_once_builds_once_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path))
    calls = []

    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "out").write_text("x")

    threads = [threading.Thread(target=build_once, args=("k", "abc", "out", build)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and (tmp_path / "k" / "abc" / "out").read_text() == "x"
    with pytest.raises(CacheError, match="without producing out"):
        build_once("k", "def", "out", lambda folder: None)
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["abc", "abc.lock", "def.lock"]


def test_result_store_matches_keys_and_merges(tmp_path):
    path = tmp_path / "r" / "results.json"
    one, two = ResultStore(path), ResultStore(path)  # e.g. two sweeps at once
    assert one.get("a") is None and one.records() == {}
    one.put("a", {"lcs": 1}, key="k1")
    two.put("b", {"lcs": 2}, key="k2")
    assert one.get("a", "k1") == {"lcs": 1, "hash": "k1"} and one.get("a", "k2") is None
    assert set(one.records()) == {"a", "b"}
    threads = [threading.Thread(target=one.put, args=(f"t{i}", {"i": i})) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(two.records()) == 10
    path.write_text("{not json")
    with pytest.raises(CacheError, match="not a results file"):
        one.records()


def test_imports_only_the_standard_library_and_errors():
    tree = ast.parse(Path(cache.__file__).read_text())
    names = {n.module if isinstance(n, ast.ImportFrom) else a.name for n in ast.walk(tree)
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert {n for n in names if n and n.split(".")[0] == "hwgen"} == {"hwgen.errors"}
    assert not any(n.split(".")[0] in ("numpy", "amaranth") for n in names if n)
