"""What the Relax lowering carries from node to node: the context, the converter registry and the
lowered module's record. Kept apart from the converters (`lower`) so other modules can name these
types without importing every converter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional, Sequence, Union

import numpy as np
import tvm
from tvm import relax

from hwgen.ir.graph import Graph, Node
from hwgen.ir.ops import OpAttrs
from hwgen.ir.types import Dim, DType, Int, TensorType
from hwgen.tvm_backend.dim_exprs import to_tir
from hwgen.tvm_backend.errors import TVMUnsupportedError

Operand = Union[np.ndarray, relax.Expr, None]
WeightsMode = Literal["auto", "float"]


@dataclass(frozen=True)
class LSTMKernel:
    """What one LSTM node became: recorded in the build manifest."""

    node: str
    direction: str
    steps: Dim  # a size, or the name of a symbolic dim
    batch: Dim
    input: int
    hidden: int
    input_weights: str  # float | ternary | binary
    recurrent_weights: str
    weight_bytes: int  # bytes of the W and R panels actually stored


@dataclass(frozen=True, eq=False)
class Lowered:
    module: tvm.IRModule
    graph: Graph
    kernels: tuple[LSTMKernel, ...]
    #: IR names of the dims left symbolic in the signature, in order of appearance
    symbolic_dims: tuple[str, ...] = ()
    #: `linear.LinearKernel`s: what each MatMul/Gemm against a constant weight became
    linears: tuple[Any, ...] = ()

    @property
    def variant(self) -> str:
        """"float" for float weights only, else the packed kinds used, with the activations' type."""
        kinds = {k.recurrent_weights for k in self.kernels} | {k.input_weights for k in self.kernels}
        kinds |= {lin.weights for lin in self.linears}
        packed = sorted(k for k in kinds if k != "float")
        act = "int8act" if any(lin.activations == "int8" for lin in self.linears) else "f32act"
        return f"{'+'.join(packed)}-{act}" if packed else "float"


def relax_dtype(dtype: DType) -> str:
    if isinstance(dtype, Int) and dtype.bits == 1:
        return "bool"
    return str(dtype.numpy)


@dataclass
class LowerContext:
    graph: Graph
    bb: relax.BlockBuilder
    weights: WeightsMode
    env: dict[str, Operand] = field(default_factory=dict)
    #: Constants that are (shape ops of) Dequantize over Ternary/Binary codes.
    kinds: dict[str, str] = field(default_factory=dict)
    kernels: list[LSTMKernel] = field(default_factory=list)
    kernel_cache: dict[tuple, tvm.ir.GlobalVar] = field(default_factory=dict)
    #: IR dim name -> its size in Relax (a TIR variable for an input's symbolic dim)
    dims: dict[str, tvm.tirx.PrimExpr] = field(default_factory=dict)
    #: Linear layers take per-token int8 activations (`linear`); float activations otherwise.
    int8_activations: bool = False
    #: Folded DequantizeLinear outputs -> (node name, codes, scale, zero point or None, axis): Linear weights' codes.
    dequantized: dict[str, tuple[str, np.ndarray, np.ndarray, Optional[np.ndarray], Optional[int]]] = \
        field(default_factory=dict)
    linears: list[Any] = field(default_factory=list)
    #: The target's x86 SIMD level (`quad_kernels.SIMD_LEVELS`): which Linear kernels it runs.
    simd: str = "portable"

    def type(self, name: str) -> TensorType:
        return self.graph.types[name]

    def dim(self, d: Dim) -> Union[int, tvm.tirx.PrimExpr]:
        """A size, or the TIR expression of a symbolic dim over the signature's variables."""
        return to_tir(d, self._name)

    def _name(self, d: str) -> tvm.tirx.PrimExpr:
        if d not in self.dims:
            raise TVMUnsupportedError(f"graph {self.graph.name!r}: symbolic dim {d!r} is not known from the inputs")
        return self.dims[d]

    def shape(self, t: TensorType) -> list:
        """The IR type's shape in Relax terms: sizes, and TIR expressions for symbolic dims."""
        return [self.dim(d) for d in t.shape]

    def bind(self, name: str, expr: relax.Expr) -> None:
        """Bind the IR's symbolic dim names of value `name` not yet known to Relax's inferred shape."""
        names = [(i, d) for i, d in enumerate(self.type(name).shape) if isinstance(d, str) and d not in self.dims]
        shape = getattr(getattr(expr, "ty", None), "shape", None)
        if not names or not isinstance(shape, relax.ShapeExpr) or len(shape.values) != self.type(name).rank:
            return
        for i, d in names:
            self.dims[d] = shape.values[i]

    def expr(self, name: str) -> relax.Expr:
        value = self.env[name]
        if isinstance(value, np.ndarray):
            dtype = relax_dtype(self.type(name).dtype)
            return relax.const(value.astype(dtype) if dtype == "bool" else value, dtype)
        assert isinstance(value, relax.Expr), name
        return value

    def emit(self, expr: relax.Expr) -> relax.Expr:
        return self.bb.emit(expr)

    def prim_func(self, key: tuple, make: Callable[[], tvm.tirx.PrimFunc], name: str) -> tvm.ir.GlobalVar:
        if key not in self.kernel_cache:
            name = f"{name}_{len(self.kernel_cache)}"
            self.kernel_cache[key] = self.bb.add_func(make().with_attr("global_symbol", name), name)
        return self.kernel_cache[key]


Converter = Callable[[LowerContext, Node], Sequence[relax.Expr]]
_CONVERTERS: dict[type[OpAttrs], Converter] = {}


def converts(*types: type[OpAttrs]) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for t in types:
            _CONVERTERS[t] = fn
        return fn

    return register
