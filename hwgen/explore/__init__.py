"""`hwgen explore`: multi-objective design-space exploration of hwgen's own space (model × accelerator × board).

Optuna (NSGA-II / TPE) in a journal file, trials on Dask, a response-surface surrogate, analytic / cheap / full
fidelities. `explore(space, ExploreOptions(...))` is the entry point; `load_space` reads a space file.
"""

from hwgen.explore.run import ExploreError, ExploreOptions, explore
from hwgen.explore.space import Space, SpaceError, load_space, preset_path

__all__ = ["ExploreError", "ExploreOptions", "Space", "SpaceError", "explore", "load_space", "preset_path"]
