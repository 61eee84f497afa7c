"""`hwgen explore`: multi-objective design-space exploration of hwgen's own space (model × accelerator × board).

Optuna (NSGA-II / TPE) in a journal file, trials on Dask, a response-surface surrogate, analytic / cheap / full
fidelities. `explore(space, ExploreOptions(...))` is the entry point; `load_space` reads a space file.
Names are imported on first use, so an evaluation child (`hwgen.explore.child`) does not load Optuna and Dask.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"ExploreError": "run", "ExploreOptions": "run", "explore": "run", "Space": "space",
            "SpaceError": "space", "load_space": "space", "preset_path": "space"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hwgen.explore' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hwgen.explore.{_EXPORTS[name]}"), name)
