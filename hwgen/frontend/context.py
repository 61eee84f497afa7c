"""The state of one ONNX → IR conversion.

Converters never build `Graph`s themselves: they read ONNX attributes and typed values
from here and `emit` IR nodes. `emit` infers output types at once (so a shape error
names the ONNX node) and folds nodes whose inputs are all constants — that is how
`Shape → Gather → Concat → Reshape` chains collapse into a static Reshape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import onnx
from onnx import helper, numpy_helper

from hwgen.errors import HwgenError, IRError
from hwgen.frontend import shape_values
from hwgen.ir.dims import Dim
from hwgen.ir.graph import Constant, Node
from hwgen.ir.ops import ConcatAttrs, DequantizeAttrs, LSTMAttrs, OpAttrs
from hwgen.ir.types import DType, Int, TensorType
from hwgen.reference.kernels import KERNELS

#: Ops never folded even with constant inputs: LSTM carries the model's compute, and
#: Dequantize keeps the exact integer weights (codes + scale) visible to backends.
_NEVER_FOLD: tuple[type[OpAttrs], ...] = (LSTMAttrs, DequantizeAttrs)
#: Constants larger than this are not produced by folding (keeps weights where they are).
_FOLD_LIMIT = 1 << 22


class ConversionError(HwgenError):
    """A problem with one ONNX node; the message names it."""


class NotConstantError(ConversionError):
    """An input hwgen needs as a constant (a shape, axes, pads, quantization parameters) is computed at run time.

    `value` is the ONNX value's name (the conformance runner binds such inputs to their test data and retries).
    """

    def __init__(self, message: str, value: str) -> None:
        super().__init__(message)
        self.value = value


def describe(node: onnx.NodeProto) -> str:
    return f"node {node.name or '(unnamed)'!r} ({node.domain + '.' if node.domain else ''}{node.op_type})"


@dataclass
class ConvertContext:
    opset: int
    path: str = "model"
    nodes: list[Node] = field(default_factory=list)
    constants: dict[str, Constant] = field(default_factory=dict)
    types: dict[str, TensorType] = field(default_factory=dict)
    functions: dict[tuple[str, str], onnx.FunctionProto] = field(default_factory=dict)
    #: Symbolic shape values: int64 values computed from symbolic sizes, element by element (see shape_values)
    dims: dict[str, np.ndarray] = field(default_factory=dict)
    _counter: int = 0
    _node_names: set[str] = field(default_factory=set)

    # ---- values ------------------------------------------------------------------------
    def type(self, name: str) -> TensorType:
        if name not in self.types:
            raise ConversionError(f"value {name!r} is used before it is defined")
        return self.types[name]

    def const(self, name: str) -> Optional[np.ndarray]:
        """The value's array if it is a constant, else None ('' is None)."""
        c = self.constants.get(name) if name else None
        return c.array if c is not None else None

    def require_const(self, node: onnx.NodeProto, index: int, what: str) -> np.ndarray:
        name = node.input[index] if index < len(node.input) else ""
        value = self.const(name)
        if value is None:
            raise NotConstantError(f"{describe(node)}: {what} (input {index}, {name!r}) must be a constant; "
                                   "hwgen needs static shapes and quantization parameters", name)
        return value

    def known(self, name: str) -> Optional[np.ndarray]:
        """What an integer value holds at import time, as an object array of dims (None: not known)."""
        if name in self.dims:
            return self.dims[name]
        value = self.const(name)
        return None if value is None else shape_values.from_constant(value)

    def dims_input(self, node: onnx.NodeProto, index: int, what: str) -> list[Dim]:
        """An input that gives sizes (a shape, a bound): its elements as dims, static or symbolic.

        A value computed at run time in a way hwgen cannot follow is refused: by the element when only
        some elements are unknown, else as not constant."""
        name = node.input[index] if index < len(node.input) else ""
        value = self.known(name) if name else None
        if value is None:
            self.require_const(node, index, what)  # raises NotConstantError naming the value
            raise ConversionError(f"{describe(node)}: the {what} (input {index}, {name!r}) must be integer sizes; "
                                  "float or large tensors are not supported there")
        flat = list(value.reshape(-1))
        unknown = [i for i, d in enumerate(flat) if d is None]
        if unknown:
            raise ConversionError(f"{describe(node)}: element {unknown[0]} of the {what} (input {index}, {name!r}) is "
                                  "computed at run time in a way hwgen cannot resolve to a size (supported: Shape, "
                                  "Gather, Slice, Concat, Unsqueeze, Squeeze, Cast, Add, Sub, Mul, Div, Equal, Where, "
                                  "Max, Min over input sizes and constants)")
        return flat

    def add_const(self, name: str, array: np.ndarray, dtype: Optional[DType] = None) -> str:
        c = Constant.of(name, np.asarray(array), dtype)
        self.constants[name] = c
        self.types[name] = c.type
        return name

    def fresh(self, hint: str) -> str:
        self._counter += 1
        name = f"{hint}__{self._counter}"
        while name in self.types:
            self._counter += 1
            name = f"{hint}__{self._counter}"
        return name

    # ---- nodes -----------------------------------------------------------------------------
    def emit(self, attrs: OpAttrs, inputs: list[str], outputs: list[str], name: str, onnx_node: Any = None) -> list[str]:
        """Append one IR node (or fold it to constants); returns its output names."""
        in_types = [self.type(i) if i else None for i in inputs]
        try:
            out_types = attrs.infer(in_types)
        except IRError as err:
            where = describe(onnx_node) if onnx_node is not None else f"node {name!r}"
            raise ConversionError(f"{self.path}: {where}: {err}") from None
        values = [self.const(i) if i else None for i in inputs]
        foldable = (
            not isinstance(attrs, _NEVER_FOLD)
            and all(v is not None for v, i in zip(values, inputs) if i)
            and all(t.is_static and t.numel <= _FOLD_LIMIT for t in out_types)
        )
        if foldable:
            results = KERNELS[type(attrs)](attrs, values)
            for out, t, array in zip(outputs, out_types, results):
                if out:
                    self.add_const(out, np.asarray(array, dtype=t.dtype.numpy).reshape(tuple(int(d) for d in t.shape)), t.dtype)
            return outputs
        symbolic = self._shape_value(attrs, inputs, out_types)
        if symbolic is not None and shape_values.all_static(symbolic):  # e.g. Shape(x)[2] of f32[batch, seq, 64]
            self.add_const(outputs[0], symbolic.astype(out_types[0].dtype.numpy), out_types[0].dtype)
            return outputs
        self.nodes.append(Node(self._unique_node_name(name), attrs, tuple(inputs), tuple(outputs)))
        for out, t in zip(outputs, out_types):
            if out:
                self.types[out] = t
        if symbolic is not None:
            self.dims[outputs[0]] = symbolic
        return outputs

    def _shape_value(self, attrs: OpAttrs, inputs: list[str], out_types: list[TensorType]) -> Optional[np.ndarray]:
        """The symbolic shape value of a one-output op over shape values (None when not one)."""
        if len(out_types) != 1 or not any(i in self.dims for i in inputs if i) and not isinstance(attrs, ConcatAttrs):
            return None
        values = [self.known(i) if i else None for i in inputs if i]
        if all(v is None for v in values):
            return None
        for k, (name, value) in enumerate(zip([i for i in inputs if i], values)):
            t = self.types[name]
            if value is None and isinstance(t.dtype, Int) and t.is_static and t.numel <= shape_values.MAX_ELEMENTS:
                values[k] = np.full(tuple(int(d) for d in t.shape), None, dtype=object)  # run-time data: unknown elements
        result = shape_values.propagate(attrs, values, out_types[0])
        return None if result is None or all(v is None for v in result.reshape(-1)) else result

    def _unique_node_name(self, name: str) -> str:
        taken = self._node_names
        unique = name
        if not name or name in taken:
            base, k = name or "node", 1
            while f"{base}_{k}" in taken:
                k += 1
            unique = f"{base}_{k}"
        taken.add(unique)
        return unique


def attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    """An ONNX attribute's Python value (lists as tuples), or `default` when absent."""
    for a in node.attribute:
        if a.name == name:
            value = helper.get_attribute_value(a)
            if isinstance(value, bytes):
                return value.decode()
            if isinstance(value, list):
                return tuple(v.decode() if isinstance(v, bytes) else v for v in value)
            if isinstance(value, onnx.TensorProto):
                return numpy_helper.to_array(value)
            return value
    return default


def input_name(node: onnx.NodeProto, index: int) -> str:
    return node.input[index] if index < len(node.input) else ""
