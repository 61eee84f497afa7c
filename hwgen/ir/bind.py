"""Give a graph's symbolic dims sizes: the step between "one graph for every batch and sequence
length" and one concrete run.

The interpreter (and anything else that runs a graph) reads the sizes of its input arrays, binds
each input dim name to its size (`input_bindings`), evaluates every symbolic dim attribute of every
op at those sizes (`bind_graph`), and re-infers the types node by node: where an op computes a size different
from what the symbolic type promised (e.g. a slice ``[:sequence]`` of a 512-row table run with a
longer sequence), the error names the node and the dimension.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from hwgen.errors import HwgenError, IRError
from hwgen.ir.dims import evaluate, is_symbolic, substitute
from hwgen.ir.graph import Graph, Node, Value
from hwgen.ir.types import TensorType
from hwgen.ir.verify import infer_node, infer_types


def input_bindings(graph: Graph, shapes: Mapping[str, Sequence[int]]) -> dict[str, int]:
    """Each input dim name's size, read from the input shapes; a name given two sizes is an error."""
    bindings: dict[str, int] = {}
    where: dict[str, str] = {}
    for v in graph.inputs:
        shape = tuple(int(s) for s in shapes[v.name])
        for axis, (d, size) in enumerate(zip(v.type.shape, shape)):
            if isinstance(d, str):
                if d in bindings and bindings[d] != size:
                    raise HwgenError(f"dimension {d!r} is {bindings[d]} in {where[d]} but {size} in axis {axis} of input "
                                     f"{v.name!r}")
                bindings.setdefault(d, size)
                where.setdefault(d, f"axis {axis} of input {v.name!r}")
    for v in graph.inputs:  # inputs typed by expressions (rare): check them once every name is bound
        for axis, (d, size) in enumerate(zip(v.type.shape, shapes[v.name])):
            if is_symbolic(d) and not isinstance(d, str) and evaluate(d, bindings) != int(size):
                raise HwgenError(f"input {v.name!r} axis {axis} is {size}, the model expects {d} = {evaluate(d, bindings)}")
    return bindings


def bind_graph(graph: Graph, bindings: Mapping[str, int]) -> Graph:
    """The graph at these sizes: concrete input types, every dim attribute evaluated, and each node's
    types inferred and checked against its symbolic ones in order, so the first op whose size
    disagrees is the one named."""
    inputs = tuple(Value(v.name, TensorType(tuple(evaluate(d, bindings) for d in v.type.shape), v.type.dtype))
                   for v in graph.inputs)
    nodes = tuple(Node(n.name, n.attrs.bind(bindings), n.inputs, n.outputs) if n.attrs.dim_fields else n
                  for n in graph.nodes)
    symbolic = graph.types or infer_types(graph)
    types: dict[str, TensorType] = {v.name: v.type for v in inputs}
    types.update({name: c.type for name, c in graph.constants.items()})
    for node in nodes:
        try:
            outs = infer_node(node, types)
        except IRError as err:
            raise HwgenError(f"at sizes {_sizes(bindings)}: {err}") from None
        for name, t in zip(node.outputs, outs):
            if name:
                _check(node, name, symbolic.get(name), t, bindings)
                types[name] = t
    outputs = tuple(Value(v.name, types[v.name]) for v in graph.outputs)
    return graph.replace(inputs=inputs, nodes=nodes, types=types, outputs=outputs)


def specialise(graph: Graph, shapes: Mapping[str, Sequence[int]]) -> Graph:
    """The graph with the named inputs given these shapes and every dim of theirs substituted throughout
    (attributes and types); dims of other inputs stay symbolic. For a backend built for fixed sizes."""
    bindings: dict[str, int] = {}
    for v in graph.inputs:
        if v.name in shapes:
            for d, size in zip(v.type.shape, shapes[v.name]):
                if isinstance(d, str):
                    bindings[d] = int(size)
    inputs = tuple(Value(v.name, TensorType(tuple(substitute(d, bindings) for d in v.type.shape), v.type.dtype))
                   for v in graph.inputs)
    nodes = tuple(Node(n.name, n.attrs.bind(bindings), n.inputs, n.outputs) if n.attrs.dim_fields else n
                  for n in graph.nodes)
    bound = graph.replace(inputs=inputs, nodes=nodes, types={})
    types = infer_types(bound)
    return bound.replace(types=types, outputs=tuple(Value(v.name, types[v.name]) for v in graph.outputs))


def _check(node: Node, name: str, want: "TensorType | None", got: TensorType, bindings: Mapping[str, int]) -> None:
    """The concrete type is the symbolic one evaluated at the sizes, or one error naming the node and dimension."""
    if want is None:
        return
    for axis, (d, size) in enumerate(zip(want.shape, got.shape)):
        if is_symbolic(d) and evaluate(d, bindings) != size:
            raise HwgenError(f"node {node.name!r} ({node.op}): dimension {axis} of {name!r} is {d} = "
                             f"{evaluate(d, bindings)} at sizes {_sizes(bindings)}, but the op gives {size}")


def _sizes(bindings: Mapping[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(bindings.items()))
