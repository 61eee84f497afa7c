"""Graph verification: every violation found at once, reported in one error.

Rules: unique node names; each value defined once (graph input, constant or node
output) before use; node arities within the op's bounds; constant-only inputs fed by
constants; each node's inferred types match `Graph.types`; graph outputs defined and
typed as declared; constants' arrays match their types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from hwgen.errors import IRError
from hwgen.ir.dims import names
from hwgen.ir.types import TensorType

if TYPE_CHECKING:  # graph.py calls into this module, so its classes are only named here
    from hwgen.ir.graph import Graph, Node


def _node_label(node: Node) -> str:
    return f"node {node.name!r} ({node.op})"


def infer_node(node: Node, types: dict[str, TensorType]) -> list[TensorType]:
    ins: list[Optional[TensorType]] = [types[i] if i else None for i in node.inputs]
    try:
        return node.attrs.infer(ins)
    except IRError as err:
        raise IRError(f"{_node_label(node)}: {err}") from None


def infer_types(graph: Graph) -> dict[str, TensorType]:
    types: dict[str, TensorType] = {v.name: v.type for v in graph.inputs}
    types.update({name: c.type for name, c in graph.constants.items()})
    for node in graph.nodes:
        missing = [i for i in node.inputs if i and i not in types]
        if missing:
            raise IRError(f"{_node_label(node)}: input(s) {', '.join(missing)} not defined before use")
        outs = infer_node(node, types)
        for name, t in zip(node.outputs, outs):
            if name:
                types[name] = t
    return types


def _unbound_dims(graph: Graph, types: dict[str, TensorType]) -> list[str]:
    """Symbolic dims must be made of the graph inputs' dim names: only those get a size when it runs."""
    bound = {n for v in graph.inputs for d in v.type.shape for n in names(d)}
    problems = []
    for node in graph.nodes:
        used = {n for d in node.attrs.dims() for n in names(d)}  # type: ignore[arg-type]
        used |= {n for o in node.outputs if o in types for d in types[o].shape for n in names(d)}
        if used - bound:
            problems.append(f"{_node_label(node)}: dimension(s) {', '.join(sorted(used - bound))} are not dims of any graph "
                            f"input (inputs have: {', '.join(sorted(bound)) or 'none'})")
    return problems


def verify(graph: Graph) -> None:
    """Raise one IRError listing every rule the graph breaks."""
    problems: list[str] = []
    defined: dict[str, str] = {}

    def define(name: str, what: str) -> None:
        if name in defined:
            problems.append(f"value {name!r} defined twice ({defined[name]} and {what})")
        defined[name] = what

    for v in graph.inputs:
        define(v.name, "graph input")
    for name, const in graph.constants.items():
        define(name, "constant")
        if const.name != name:
            problems.append(f"constant stored as {name!r} is named {const.name!r}")
        if tuple(const.array.shape) != const.type.shape or const.array.dtype != const.type.dtype.numpy:
            problems.append(f"constant {name!r}: array {const.array.dtype}{list(const.array.shape)} does not match type {const.type}")

    types: dict[str, TensorType] = {v.name: v.type for v in graph.inputs}
    types.update({name: c.type for name, c in graph.constants.items()})
    seen_nodes: set[str] = set()
    for node in graph.nodes:
        label = _node_label(node)
        if node.name in seen_nodes:
            problems.append(f"node name {node.name!r} used twice")
        seen_nodes.add(node.name)
        attrs = node.attrs
        if not attrs.min_inputs <= len(node.inputs) <= attrs.max_inputs:
            problems.append(f"{label}: {len(node.inputs)} inputs, expects {attrs.min_inputs}..{attrs.max_inputs}")
        for pos, name in enumerate(node.inputs):
            if not name:
                if pos < attrs.min_inputs:
                    problems.append(f"{label}: required input {pos} is empty")
                continue
            if name not in defined:
                problems.append(f"{label}: input {name!r} is not defined before use")
            elif pos in attrs.const_inputs and name not in graph.constants:
                problems.append(f"{label}: input {pos} ({name!r}) must be a constant")
        for name in node.outputs:
            if name:
                define(name, label)
        if all(not i or i in types for i in node.inputs):
            try:
                inferred = infer_node(node, types)
            except IRError as err:
                problems.append(str(err))
                continue
            if len(node.outputs) > len(inferred):
                problems.append(f"{label}: {len(node.outputs)} outputs, the op gives {len(inferred)}")
            for name, t in zip(node.outputs, inferred):
                if name and graph.types and graph.types.get(name) != t:
                    problems.append(f"{label}: output {name!r} typed {graph.types.get(name)}, op gives {t}")
                if name:
                    types[name] = t

    for v in graph.outputs:
        if v.name not in defined:
            problems.append(f"graph output {v.name!r} is never defined")
        elif types.get(v.name) not in (None, v.type):
            problems.append(f"graph output {v.name!r} declared {v.type}, computed {types.get(v.name)}")
    if not graph.outputs:
        problems.append("graph has no outputs")
    problems += _unbound_dims(graph, types)

    if problems:
        raise IRError(f"graph {graph.name!r} is invalid ({len(problems)} problem(s)):\n  - " + "\n  - ".join(problems))
