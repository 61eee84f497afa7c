"""A stable text form of a graph: the same graph always prints the same text (for --dump-ir and diffs)."""

from __future__ import annotations

import numpy as np

from hwgen.ir.graph import Graph


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return repr(float(np.float32(value)))
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def print_graph(graph: Graph) -> str:
    types = graph.types
    lines = [f"graph {graph.name}("]
    lines += [f"    %{v.name}: {v.type}," for v in graph.inputs]
    lines.append(") {")
    for name, c in graph.constants.items():
        a = c.array
        summary = f"{a.reshape(-1)[:4].tolist()}{'...' if a.size > 4 else ''}" if a.size else "[]"
        lines.append(f"  const %{name}: {c.type} = {summary}")
    for node in graph.nodes:
        outs = ", ".join(f"%{o}: {types.get(o, '?')}" if o else "_" for o in node.outputs)
        ins = ", ".join(f"%{i}" if i else "_" for i in node.inputs)
        attrs = ", ".join(f"{k}={_fmt(v)}" for k, v in node.attrs.attr_items())
        lines.append(f"  {outs} = {node.op}[{attrs}]({ins})  # {node.name}")
    lines.append("  return " + ", ".join(f"%{v.name}" for v in graph.outputs))
    lines.append("}")
    return "\n".join(lines) + "\n"
