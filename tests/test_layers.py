"""The package's layers (declared in .importlinter) and the absence of import cycles, checked on every run."""

from __future__ import annotations

import graphlib
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_layers_contract_holds():
    """`lint-imports` (import-linter) keeps every module to its own layer and the ones below it."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    proc = subprocess.run([lint, "--config", str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True, text=True)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _module_cycles() -> list[list[str]]:
    graph = grimp.build_graph("hwgen", exclude_type_checking_imports=True)
    sorter = graphlib.TopologicalSorter({m: graph.find_modules_directly_imported_by(m) for m in graph.modules})
    try:
        list(sorter.static_order())
    except graphlib.CycleError as err:
        return [err.args[1]]
    return []


def test_no_import_cycles_anywhere():
    """No module imports itself through others, at module level or inside a function."""
    assert _module_cycles() == []


def test_only_cli_imports_argparse_and_cli():
    """argparse lives under hwgen/cli/; no module outside it imports hwgen.cli."""
    graph = grimp.build_graph("hwgen")
    outside = sorted(m for m in graph.modules if not m.startswith("hwgen.cli"))
    offenders = [m for m in outside
                 if any(i.startswith("hwgen.cli") for i in graph.find_modules_directly_imported_by(m))]
    assert offenders == []
    argparse_users = [p.relative_to(ROOT).as_posix() for p in (ROOT / "hwgen").rglob("*.py")
                      if "cli" not in p.relative_to(ROOT / "hwgen").parts[:1]
                      and "import argparse" in p.read_text()]
    assert argparse_users == [], "argparse belongs in hwgen/cli/"
