"""Every IR op, one frozen attrs dataclass each. `ALL_OPS` maps the printed op name to its class."""

from hwgen.ir.ops.base import OpAttrs
from hwgen.ir.ops.elementwise import (
    AddAttrs, CastAttrs, ClipAttrs, DivAttrs, EqualAttrs, ErfAttrs, GeluAttrs, IdentityAttrs, ModAttrs, MulAttrs, NegAttrs,
    PowAttrs, ReluAttrs, SigmoidAttrs, SqrtAttrs, SubAttrs, TanhAttrs, WhereAttrs,
)
from hwgen.ir.ops.nn import GemmAttrs, LayerNormAttrs, LogSoftmaxAttrs, MatMulAttrs, ReduceMeanAttrs, SoftmaxAttrs
from hwgen.ir.ops.quant import BipolarQuantAttrs, DequantizeAttrs, FakeQuantAttrs, QuantizeAttrs
from hwgen.ir.ops.recurrent import LSTMAttrs
from hwgen.ir.ops.shape import (
    ConcatAttrs, ExpandAttrs, FlattenAttrs, GatherAttrs, ReshapeAttrs, SliceAttrs, SplitAttrs, SqueezeAttrs,
    TransposeAttrs, UnsqueezeAttrs,
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
    "ALL_OPS", "OpAttrs", "AddAttrs", "BipolarQuantAttrs", "CastAttrs", "ClipAttrs", "ConcatAttrs", "DequantizeAttrs", "DivAttrs",
    "EqualAttrs", "ErfAttrs", "ExpandAttrs", "FakeQuantAttrs", "FlattenAttrs", "GatherAttrs", "GeluAttrs", "GemmAttrs",
    "IdentityAttrs", "LayerNormAttrs", "LogSoftmaxAttrs", "LSTMAttrs", "MatMulAttrs", "ModAttrs", "MulAttrs", "NegAttrs",
    "PowAttrs", "QuantizeAttrs", "ReduceMeanAttrs", "ReluAttrs", "ReshapeAttrs", "SigmoidAttrs", "SliceAttrs",
    "SoftmaxAttrs", "SplitAttrs", "SqrtAttrs", "SqueezeAttrs", "SubAttrs", "TanhAttrs", "TransposeAttrs",
    "UnsqueezeAttrs", "WhereAttrs",
]
