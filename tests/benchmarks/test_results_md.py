"""docs/results.md section rewriting of `python -m benchmarks` (benchmarks/__main__.py): pure string functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]


def _main_module():
    spec = importlib.util.spec_from_file_location("benchmarks_main", ROOT / "benchmarks" / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bm = _main_module()

NAMES = st.sampled_from(["frontend_vs_onnxruntime", "accel_utilisation", "fpga_boards", "a"])
# Free text that is not a marker: any characters (line and paragraph separators, \r, backticks included)
# except "<", so no marker can appear by accident.
TEXT = st.text(alphabet=st.characters(blacklist_characters="<", blacklist_categories=("Cs",)), max_size=200)


def _document(parts: list[tuple[str, str, str]], tail: str) -> str:
    """Sections (name, text before it, body), each marker on a line of its own, then `tail`."""
    out = []
    for name, before, body in parts:
        out.append(before if before.endswith("\n") or not before else before + "\n")
        out.append(f"{bm.open_marker(name)}\n{body if body.endswith(chr(10)) or not body else body + chr(10)}"
                   f"{bm.close_marker(name)}\n")
    out.append(tail)
    return "".join(out)


SECTIONS = st.lists(st.tuples(TEXT, TEXT), min_size=3, max_size=3)


@given(SECTIONS, TEXT, st.integers(0, 2), TEXT)
def test_only_the_named_section_changes(sections, tail, which, new_body):
    names = ["frontend_vs_onnxruntime", "accel_utilisation", "fpga_boards"]
    parts = [(n, before, body) for n, (before, body) in zip(names, sections)]
    text = _document(parts, tail)
    name = names[which]
    out = bm.replace_section(text, name, new_body)

    expected_parts = [(n, before, new_body if n == name else body) for n, before, body in parts]
    assert out == _document(expected_parts, tail)
    for n, _, body in expected_parts:
        assert bm.section_body(out, n) == (body if body.endswith("\n") or not body else body + "\n")


@given(TEXT, NAMES, TEXT, TEXT)
def test_idempotent_and_last_write_wins(text, name, first, second):
    once = bm.replace_section(text, name, first)
    assert bm.replace_section(once, name, first) == once
    assert bm.replace_section(once, name, second) == bm.replace_section(text, name, second)


@given(TEXT, NAMES, TEXT)
def test_missing_section_is_appended(text, name, body):
    out = bm.replace_section(text, name, body)
    assert out.startswith(text)
    assert f"## {name}\n\n{bm.open_marker(name)}\n" in out[len(text):]
    assert bm.section_body(out, name) == (body if body.endswith("\n") or not body else body + "\n")


@given(TEXT, TEXT)
def test_crlf_markers_are_found(before, body):
    text = f"{before}\r\n{bm.open_marker('a')}\r\nold\r\n{bm.close_marker('a')}\r\nafter\r\n"
    out = bm.replace_section(text, "a", body)
    assert out.startswith(f"{before}\r\n{bm.open_marker('a')}\r\n")
    assert out.endswith(f"{bm.close_marker('a')}\r\nafter\r\n")
    assert "old" not in out[len(before):] or "old" in body


@pytest.mark.parametrize("text", [
    "<!-- bench:a -->\nx\n",                                            # no close
    "<!-- /bench:a -->\nx\n<!-- bench:a -->\n",                         # out of order
    "<!-- bench:a -->\n<!-- /bench:a -->\n<!-- bench:a -->\n<!-- /bench:a -->\n",  # twice
])
def test_malformed_sections_are_refused(text):
    with pytest.raises(ValueError, match="section 'a'"):
        bm.replace_section(text, "a", "new")


def test_body_with_a_marker_is_refused():
    with pytest.raises(ValueError, match="marker"):
        bm.replace_section("", "a", "x\n<!-- /bench:a -->\n")


@given(TEXT)
def test_rendered_output_round_trips(output):
    body = bm.render_section(command="python -m benchmarks a", commit="abc1234+dirty", machine="m, 2 CPUs",
                             date="2026-12-02 17:00 UTC", output=output + "\n<!-- bench:b --> ```")
    text = bm.replace_section("# Results\n", "a", body)
    assert bm.section_body(text, "a") == body
    assert "Commit: `abc1234+dirty`" in body and "Date: 2026-12-02 17:00 UTC" in body
    # the fence is longer than any backtick run in the output, so the output cannot close it
    fence = body.split("\n")[5]
    assert set(fence) == {"`"} and body.rstrip("\n").endswith(fence) and fence not in body.split(fence, 1)[1][:-len(fence) - 1]


def test_section_names_are_the_benchmark_scripts():
    assert sorted(bm.ORDER) == sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem != "__main__")


def test_results_md_has_one_section_per_benchmark():
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    for name in bm.ORDER:
        assert bm.section_body(text, name) is not None, name
