"""Child processes that die with their parent.

A distributed evaluation (`hwgen explore` on Dask workers) runs yosys, nextpnr and training in child processes;
when a worker is SIGKILLed its task re-runs elsewhere, and the killed worker's children must not keep running
(and holding a CPU) as orphans. Linux delivers PR_SET_PDEATHSIG to the child when the thread that forked it
exits, so pass :func:`die_with_parent` as ``preexec_fn``. Elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: SIGKILL this (forked, not yet exec'd) child when its parent thread dies."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
