"""The typed IR: dtypes, one attrs dataclass per op, the graph, its verifier and printer."""

from hwgen.ir.graph import Constant, Graph, Node, Value
from hwgen.ir.printer import print_graph
from hwgen.ir.types import Binary, DType, Float32, Int, TensorType, Ternary, weight_kind
from hwgen.ir.verify import infer_types, verify

__all__ = [
    "Binary", "Constant", "DType", "Float32", "Graph", "Int", "Node", "TensorType", "Ternary", "Value",
    "infer_types", "print_graph", "verify", "weight_kind",
]
