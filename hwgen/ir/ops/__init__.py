"""Every IR op, one frozen attrs dataclass each. `ALL_OPS` maps the printed op name to its class."""

from hwgen.ir.ops.base import OpAttrs
from hwgen.ir.ops.elementwise import (
    AddAttrs, AndAttrs, CastAttrs, ClipAttrs, DivAttrs, EqualAttrs, ErfAttrs, ExpAttrs, GeluAttrs, GreaterAttrs,
    GreaterOrEqualAttrs, IdentityAttrs, IsInfAttrs, IsNaNAttrs, LessAttrs, LessOrEqualAttrs, LogAttrs, MaxAttrs, MinAttrs,
    ModAttrs, MulAttrs, NegAttrs, NotAttrs, OrAttrs, PowAttrs, ReciprocalAttrs, ReluAttrs, SigmoidAttrs, SqrtAttrs, SubAttrs,
    TanhAttrs, WhereAttrs, XorAttrs,
)
from hwgen.ir.ops.nn import (
    EinsumAttrs, GemmAttrs, LayerNormAttrs, LogSoftmaxAttrs, MatMulAttrs, ReduceMaxAttrs, ReduceMeanAttrs, ReduceMinAttrs,
    ReduceSumAttrs, SoftmaxAttrs,
)
from hwgen.ir.ops.quant import (
    BipolarQuantAttrs, DequantizeAttrs, DynamicQuantizeAttrs, FakeQuantAttrs, MatMulIntegerAttrs, QLinearMatMulAttrs,
    QuantizeAttrs,
)
from hwgen.ir.ops.recurrent import GRUAttrs, LSTMAttrs
from hwgen.ir.ops.shape import (
    ConcatAttrs, ExpandAttrs, FlattenAttrs, GatherAttrs, GatherElementsAttrs, GatherNDAttrs, PadAttrs, RangeAttrs,
    ReshapeAttrs, ScatterNDAttrs, ShapeAttrs, SliceAttrs, SplitAttrs, SqueezeAttrs, TileAttrs, TransposeAttrs, TriluAttrs, UnsqueezeAttrs,
)


def _all_ops() -> dict[str, type[OpAttrs]]:
    seen: dict[str, type[OpAttrs]] = {}
    stack = list(OpAttrs.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.op != "?" and cls.__name__.endswith("Attrs"):
            seen[cls.op] = cls
    return dict(sorted(seen.items()))


ALL_OPS = _all_ops()

__all__ = [
    "ALL_OPS", "OpAttrs", "AddAttrs", "AndAttrs", "BipolarQuantAttrs", "CastAttrs", "ClipAttrs", "ConcatAttrs",
    "DequantizeAttrs", "DivAttrs", "DynamicQuantizeAttrs", "MatMulIntegerAttrs", "QLinearMatMulAttrs", "EinsumAttrs", "EqualAttrs", "ErfAttrs", "ExpAttrs", "ExpandAttrs", "FakeQuantAttrs",
    "FlattenAttrs", "GatherAttrs", "GatherElementsAttrs", "GatherNDAttrs", "GeluAttrs", "GemmAttrs", "GreaterAttrs",
    "GreaterOrEqualAttrs", "GRUAttrs", "IdentityAttrs", "IsInfAttrs", "IsNaNAttrs", "LayerNormAttrs", "LessAttrs",
    "LessOrEqualAttrs", "LogAttrs", "LogSoftmaxAttrs", "LSTMAttrs", "MatMulAttrs", "MaxAttrs", "MinAttrs", "ModAttrs",
    "MulAttrs", "NegAttrs", "NotAttrs", "OrAttrs", "PadAttrs", "PowAttrs", "QuantizeAttrs", "RangeAttrs", "ReciprocalAttrs",
    "ReduceMaxAttrs", "ReduceMeanAttrs", "ReduceMinAttrs", "ReduceSumAttrs", "ReluAttrs", "ReshapeAttrs", "ScatterNDAttrs", "ShapeAttrs",
    "SigmoidAttrs", "SliceAttrs", "SoftmaxAttrs", "SplitAttrs", "SqrtAttrs", "SqueezeAttrs", "SubAttrs", "TanhAttrs",
    "TileAttrs", "TransposeAttrs", "TriluAttrs", "UnsqueezeAttrs", "WhereAttrs", "XorAttrs",
]
