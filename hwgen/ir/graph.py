"""The graph: nodes in topological order over named values.

A `Graph` is immutable; passes build a new one (see `Graph.replace`). Every value
(graph input, constant, node output) has one name and one `TensorType` in
`Graph.types`, filled by `infer_types` so backends never guess a shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping, Optional

import numpy as np

from hwgen.ir.ops import OpAttrs
from hwgen.ir.types import DType, TensorType


@dataclass(frozen=True)
class Value:
    name: str
    type: TensorType


@dataclass(frozen=True)
class Node:
    name: str
    attrs: OpAttrs
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def op(self) -> str:
        return self.attrs.op


@dataclass(frozen=True, eq=False)
class Constant:
    """A constant tensor (weights, scales, shapes). `array.dtype` is `type.dtype.numpy`."""

    name: str
    array: np.ndarray
    type: TensorType

    @staticmethod
    def of(name: str, array: np.ndarray, dtype: Optional[DType] = None) -> "Constant":
        from hwgen.ir.types import dtype_of_array

        dtype = dtype or dtype_of_array(array)
        array = np.array(array, dtype=dtype.numpy, order="C")  # (ascontiguousarray makes 0-d 1-d)
        array.setflags(write=False)
        return Constant(name, array, TensorType(tuple(array.shape), dtype))


@dataclass(frozen=True, eq=False)
class Graph:
    name: str
    nodes: tuple[Node, ...]
    inputs: tuple[Value, ...]
    outputs: tuple[Value, ...]
    constants: Mapping[str, Constant] = field(default_factory=dict)
    #: Type of every value; filled by `with_types()`.
    types: Mapping[str, TensorType] = field(default_factory=dict)

    def replace(self, **changes: object) -> "Graph":
        return replace(self, **changes)  # type: ignore[arg-type]

    def producer(self, value: str) -> Optional[Node]:
        """The node that defines `value`, or None for graph inputs and constants."""
        for node in self.nodes:
            if value in node.outputs:
                return node
        return None

    def consumers(self, value: str) -> list[Node]:
        return [n for n in self.nodes if value in n.inputs]

    def nodes_of(self, attrs_type: type[OpAttrs]) -> Iterator[Node]:
        return (n for n in self.nodes if isinstance(n.attrs, attrs_type))

    def type_of(self, value: str) -> TensorType:
        return self.types[value]

    def with_types(self) -> "Graph":
        """A copy with `types` inferred for every value (raises IRError on the first inconsistency)."""
        from hwgen.ir.verify import infer_types

        return self.replace(types=infer_types(self))

    def parameter_count(self) -> int:
        return int(sum(c.array.size for c in self.constants.values() if c.array.ndim >= 1))
