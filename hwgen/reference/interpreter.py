"""Run any IR graph in numpy: the oracle every backend is tested against."""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from hwgen.errors import HwgenError
from hwgen.ir.bind import bind_graph, input_bindings
from hwgen.ir.graph import Graph
from hwgen.ir.types import TensorType
from hwgen.reference.kernels import KERNELS


def check_feed(name: str, array: np.ndarray, expected: TensorType) -> np.ndarray:
    """The input array in the graph's dtype, or a HwgenError naming the mismatch."""
    shape = tuple(array.shape)
    ok = len(shape) == expected.rank and all(not isinstance(d, int) or d == s for d, s in zip(expected.shape, shape))
    if not ok:
        raise HwgenError(f"input {name!r} has shape {list(shape)}, the model expects {list(expected.shape)}")
    if np.issubdtype(array.dtype, np.floating) != np.issubdtype(expected.dtype.numpy, np.floating):
        raise HwgenError(f"input {name!r} has dtype {array.dtype}, the model expects {expected.dtype}")
    return array.astype(expected.dtype.numpy, copy=False)


def run(graph: Graph, feeds: Mapping[str, np.ndarray], keep: Optional[set[str]] = None) -> dict[str, np.ndarray]:
    """Evaluate `graph`; returns the graph outputs (and any value named in `keep`)."""
    missing = [v.name for v in graph.inputs if v.name not in feeds]
    if missing:
        raise HwgenError(f"missing input(s): {', '.join(missing)} (the model takes {', '.join(v.name for v in graph.inputs)})")
    unknown = sorted(set(feeds) - {v.name for v in graph.inputs})
    if unknown:
        raise HwgenError(f"unknown input(s): {', '.join(unknown)} (the model takes {', '.join(v.name for v in graph.inputs)})")
    env: dict[str, np.ndarray] = {n: c.array for n, c in graph.constants.items()}
    for v in graph.inputs:
        env[v.name] = check_feed(v.name, np.asarray(feeds[v.name]), v.type)
    if not all(v.type.is_static for v in graph.inputs):
        graph = _at_fed_sizes(graph, env)
    wanted = {v.name for v in graph.outputs} | (keep or set())
    with _one_blas_thread():
        _evaluate(graph, env, wanted)
    return {name: env[name] for name in wanted}


def _one_blas_thread():  # type: ignore[no-untyped-def]
    """BLAS on one thread for the whole run: the interpreter's matmuls are small (attention's per-head
    blocks, one sequence's projections), and OpenBLAS's thread hand-offs cost far more than they win
    on a shared machine (a 12×128×32 by 32×128 stack: 0.4 s on two threads, 6 ms on one)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()  # discovering the BLAS libraries is slow: once per process
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER = None


def _evaluate(graph: Graph, env: dict[str, np.ndarray], wanted: set[str]) -> None:
    """Run the nodes in order, freeing each intermediate after its last use."""
    last_use = {name: i for i, node in enumerate(graph.nodes) for name in node.inputs}
    for i, node in enumerate(graph.nodes):
        args = [env[name] if name else None for name in node.inputs]
        results = KERNELS[type(node.attrs)](node.attrs, args)
        for name, value in zip(node.outputs, results):
            if name:
                env[name] = value
        for name in node.inputs:  # free intermediates early: big LSTM sequences add up
            if name and last_use.get(name) == i and name not in wanted and name not in graph.constants:
                env.pop(name, None)


def _at_fed_sizes(graph: Graph, env: Mapping[str, np.ndarray]) -> Graph:
    """The graph with its symbolic dims bound to the fed arrays' sizes, every op's dim attributes
    evaluated and the types re-inferred, so a size the ops cannot take (e.g. an LSTM input width that
    differs from W's, a slice past a table's end) is a HwgenError naming the node, not a numpy error
    deep inside a kernel."""
    return bind_graph(graph, input_bindings(graph, {v.name: env[v.name].shape for v in graph.inputs}))
