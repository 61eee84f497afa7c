"""The op base class and shape helpers shared by every op.

An op *is* its attrs dataclass: `Node.attrs` is an instance of one subclass of
:class:`OpAttrs`, and every backend dispatches on that type (never on a string).
Each op declares how many inputs it takes (optional inputs are the empty string
``""`` in `Node.inputs`) and how many outputs it gives, and infers its output
types from its input types, raising :class:`~hwgen.errors.IRError` with the
reason when they are inconsistent.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar, Mapping, Optional, Sequence

from hwgen.errors import IRError
from hwgen.ir.dims import dims_differ, is_symbolic, substitute
from hwgen.ir.types import Dim, DType, Float32, TensorType

# Input types handed to `infer`: None marks an absent optional input.
InTypes = Sequence[Optional[TensorType]]


@dataclass(frozen=True)
class OpAttrs:
    """Base of all op attribute classes. Subclasses set `op`, the arities and `infer`."""

    op: ClassVar[str] = "?"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 1
    #: Inputs (by position) that must be constants: shapes, indices, quantization params.
    const_inputs: ClassVar[tuple[int, ...]] = ()
    #: Attributes holding dims (one Dim or a tuple of them) that may be symbolic: `bind` evaluates them.
    dim_fields: ClassVar[tuple[str, ...]] = ()

    def infer(self, inputs: InTypes) -> list[TensorType]:
        """Output types (one per output slot) from input types; raise IRError if inconsistent."""
        raise NotImplementedError(f"{type(self).__name__}.infer")

    def bind(self, bindings: Mapping[str, int]) -> "OpAttrs":
        """This op with the bound names of its dim attributes replaced by their sizes (itself when it has none)."""
        if not self.dim_fields:
            return self
        changes: dict[str, object] = {}
        for name in self.dim_fields:
            value = getattr(self, name)
            if isinstance(value, tuple):
                changes[name] = tuple(substitute(d, bindings) for d in value)
            elif value is not None:
                changes[name] = substitute(value, bindings)
        return replace(self, **changes)

    def dims(self) -> list[object]:
        """Every dim in the dim attributes (for the verifier's check that their names are bound)."""
        out: list[object] = []
        for name in self.dim_fields:
            value = getattr(self, name)
            out.extend(value if isinstance(value, tuple) else [value] if value is not None else [])
        return out

    def attr_items(self) -> list[tuple[str, object]]:
        """Attributes in declaration order, for the printer."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


def require(cond: bool, message: str) -> None:
    if not cond:
        raise IRError(message)


def present(inputs: InTypes, index: int) -> Optional[TensorType]:
    return inputs[index] if index < len(inputs) else None


def norm_axis(axis: int, rank: int, what: str = "axis") -> int:
    require(-rank <= axis < max(rank, 1), f"{what} {axis} out of range for rank {rank}")
    return axis % rank if rank else 0


def dims_equal(a: Dim, b: Dim) -> bool:
    """Equal, or not provably different (a symbolic dim may stand for any size)."""
    return a == b or ((is_symbolic(a) or is_symbolic(b)) and not dims_differ(a, b))


def broadcast_shapes(*shapes: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """Numpy (multidirectional) broadcasting, allowing symbolic dims."""
    rank = max(len(s) for s in shapes)
    out: list[Dim] = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        sized = [d for d in dims if d != 1]
        if not sized:
            out.append(1)
            continue
        first = sized[0]
        for d in sized[1:]:
            require(dims_equal(first, d), f"shapes {' and '.join(str(s) for s in shapes)} do not broadcast")
        ints = [d for d in sized if isinstance(d, int)]
        out.append(ints[0] if ints else first)
    return tuple(out)


def same_dtype(inputs: InTypes, op: str) -> DType:
    dtypes = {t.dtype for t in inputs if t is not None}
    require(len(dtypes) == 1, f"{op} needs one dtype for all inputs, got {', '.join(sorted(map(str, dtypes)))}")
    return dtypes.pop()


def float_input(t: Optional[TensorType], op: str, what: str = "input") -> TensorType:
    require(t is not None, f"{op} needs its {what}")
    assert t is not None
    require(t.dtype == Float32(), f"{op} {what} must be f32, got {t.dtype}")
    return t
