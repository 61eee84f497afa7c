"""Which compile targets can take a graph, and why not.

Each backend registers one `Target` with a `check(graph) -> reasons` function (empty
list: it can compile the graph). `hwgen inspect` prints them all, so a user learns
up front that, say, the RTL target needs binary/ternary LSTM weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from hwgen.ir.graph import Graph


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    check: Callable[[Graph], list[str]]


_TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> Target:
    _TARGETS[target.name] = target
    return target


def all_targets() -> list[Target]:
    """Every registered target (importing the backends registers them)."""
    import importlib

    for module in ("hwgen.rtl", "hwgen.tvm_backend", "hwgen.fpga"):
        try:
            importlib.import_module(module)
        except ImportError:
            continue
    return [_TARGETS[k] for k in sorted(_TARGETS)]


def target_report(graph: Graph) -> dict[str, list[str]]:
    return {t.name: t.check(graph) for t in all_targets()}
