"""Shape and data-movement ONNX ops → IR.

Shape arguments are constants or symbolic shape values (`hwgen.frontend.shape_values`): a
Reshape to ``Concat(Shape(x)[0], -1, 4, 16)`` of ``f32[batch, sequence, 64]`` becomes
``Reshape[shape=(batch, sequence, 4, 16)]``."""

from __future__ import annotations

import numpy as np
import onnx

from hwgen.frontend import shape_values
from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.registry import converter
from hwgen.ir import dims as D
from hwgen.ir import ops
from hwgen.ir.types import Int, dtype_of_array


@converter("Constant", since=1, notes="tensor/float(s)/int(s) values")
def constant(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        value = attr(node, key)
        if value is not None:
            array = np.asarray(value, dtype=np.float32 if "float" in key else (np.int64 if "int" in key else None))
            ctx.add_const(node.output[0], array)
            return
    raise ConversionError(f"{describe(node)}: only tensor/float/int Constant values are supported")


@converter("Shape", since=1, notes="static dims fold to a constant; symbolic dims give a symbolic shape value "
           "(start/end 15+)")
def shape(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    t = ctx.type(node.input[0])
    start, end = int(attr(node, "start", 0)), attr(node, "end", None)
    dims = t.shape[start:end]
    if all(isinstance(d, int) for d in dims):
        ctx.add_const(node.output[0], np.asarray(dims, dtype=np.int64), Int(64))
        return
    # an op in case something reads the value as data; dead code (removed) when only shapes use it
    ctx.emit(ops.ShapeAttrs(start, None if end is None else int(end)), [node.input[0]], [node.output[0]], node.name, node)
    ctx.dims[node.output[0]] = shape_values.of_dims(dims)


@converter("Reshape", since=5, notes="constant or symbolic shape; 0 and -1 resolved (symbolically too)")
def reshape(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    x = ctx.type(node.input[0])
    target = ctx.dims_input(node, 1, "shape")
    allowzero = int(attr(node, "allowzero", 0))
    out: list = [x.shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    if -1 in out:
        axis = out.index(-1)
        rest = D.product([d for d in out if d != -1])
        try:
            out[axis] = D.floordiv(x.size, rest) if rest != 0 else 0
        except D.DimError:
            raise ConversionError(f"{describe(node)}: dimension {axis} (-1) of the Reshape of {x} to {out} is "
                                  f"{x.size} / ({rest}), which is not a whole size for every input size") from None
    ctx.emit(ops.ReshapeAttrs(tuple(out)), [node.input[0]], list(node.output), node.name, node)


@converter("Squeeze", since=1, notes="axes attribute")
def squeeze_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(attr(node, "axes", ()))
    ctx.emit(ops.SqueezeAttrs(axes), [node.input[0]], list(node.output), node.name, node)


@converter("Squeeze", since=13, notes="axes as constant input")
def squeeze_v13(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(int(a) for a in ctx.require_const(node, 1, "axes")) if input_name(node, 1) else ()
    ctx.emit(ops.SqueezeAttrs(axes), [node.input[0]], list(node.output), node.name, node)


@converter("Unsqueeze", since=1, notes="axes attribute")
def unsqueeze_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.UnsqueezeAttrs(tuple(attr(node, "axes", ()))), [node.input[0]], list(node.output), node.name, node)


@converter("Unsqueeze", since=13, notes="axes as constant input")
def unsqueeze_v13(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = tuple(int(a) for a in ctx.require_const(node, 1, "axes"))
    ctx.emit(ops.UnsqueezeAttrs(axes), [node.input[0]], list(node.output), node.name, node)


@converter("Transpose", since=1)
def transpose(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    rank = ctx.type(node.input[0]).rank
    perm = tuple(attr(node, "perm", tuple(range(rank - 1, -1, -1))))
    ctx.emit(ops.TransposeAttrs(perm), [node.input[0]], list(node.output), node.name, node)


@converter("Concat", since=4, notes="any axis, any number of inputs")
def concat(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.ConcatAttrs(int(attr(node, "axis"))), list(node.input), list(node.output), node.name, node)


@converter("Gather", since=1, notes="negative indices")
def gather(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.GatherAttrs(int(attr(node, "axis", 0))), list(node.input), list(node.output), node.name, node)


@converter("Expand", since=8, notes="constant or symbolic shape")
def expand(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    target = tuple(ctx.dims_input(node, 1, "shape"))
    ctx.emit(ops.ExpandAttrs(target), [node.input[0]], list(node.output), node.name, node)


@converter("Flatten", since=1, notes="static shapes")
def flatten(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.FlattenAttrs(int(attr(node, "axis", 1))), [node.input[0]], list(node.output), node.name, node)


def _emit_slice(ctx: ConvertContext, node: onnx.NodeProto, starts: list[int], ends: list[int],
                axes: list[int] | None, steps: list[int] | None) -> None:
    rank = ctx.type(node.input[0]).rank
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ConversionError(f"{describe(node)}: Slice starts/ends/axes/steps have lengths "
                              f"{len(starts)}/{len(ends)}/{len(axes)}/{len(steps)}; they must match")
    norm = [a + rank if a < 0 else a for a in axes]
    ctx.emit(ops.SliceAttrs(tuple(starts), tuple(ends), tuple(norm), tuple(steps)),
             [node.input[0]], list(node.output), node.name, node)


@converter("Slice", since=1, notes="starts/ends/axes attributes")
def slice_v1(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    axes = attr(node, "axes")
    _emit_slice(ctx, node, list(attr(node, "starts")), list(attr(node, "ends")), None if axes is None else list(axes), None)


@converter("Slice", since=10, notes="starts/ends/axes/steps as constant inputs")
def slice_v10(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    def ints(index: int, what: str) -> list[int] | None:
        return [int(v) for v in ctx.require_const(node, index, what).reshape(-1)] if input_name(node, index) else None

    starts, ends = ctx.dims_input(node, 1, "starts"), ctx.dims_input(node, 2, "ends")
    _emit_slice(ctx, node, starts, ends, ints(3, "axes"), ints(4, "steps"))  # type: ignore[arg-type]


def _emit_split(ctx: ConvertContext, node: onnx.NodeProto, sizes: list[int] | None) -> None:
    x = ctx.type(node.input[0])
    axis = int(attr(node, "axis", 0))
    a = axis + x.rank if axis < 0 else axis
    if not 0 <= a < x.rank:
        raise ConversionError(f"{describe(node)}: Split axis {axis} out of range for {x}")
    dim = x.shape[a]
    parts = len(node.output)
    if sizes is None:
        if not isinstance(dim, int):
            raise ConversionError(f"{describe(node)}: Split of symbolic axis {a} of {x} needs explicit sizes")
        num = attr(node, "num_outputs")
        parts = int(num) if num is not None else parts
        chunk = -(-dim // parts)  # ceil: ONNX puts the remainder in the last output
        sizes = [min(chunk, dim - k * chunk) for k in range(parts)]
        if any(s <= 0 for s in sizes) or (num is None and dim % parts):
            raise ConversionError(f"{describe(node)}: cannot split axis {a} of {x} into {parts} equal parts")
    if len(sizes) != len(node.output):
        raise ConversionError(f"{describe(node)}: Split gives {len(sizes)} parts for {len(node.output)} outputs")
    ctx.emit(ops.SplitAttrs(a, tuple(sizes)), [node.input[0]], list(node.output), node.name, node)


@converter("Split", since=2, notes="split sizes attribute or equal parts")
def split_v2(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    sizes = attr(node, "split")
    _emit_split(ctx, node, None if sizes is None else [int(s) for s in sizes])


@converter("Split", since=13, notes="split sizes as constant input")
def split_v13(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    sizes = [int(s) for s in ctx.require_const(node, 1, "split")] if input_name(node, 1) else None
    _emit_split(ctx, node, sizes)


@converter("Split", since=18, notes="num_outputs (uneven last part)")
def split_v18(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    split_v13(ctx, node)


@converter("Range", since=11, notes="constant inputs fold; an integer range up to a symbolic size is a Range op")
def range_(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    if all(ctx.const(node.input[i]) is not None for i in range(3)):
        start, limit, delta = (ctx.require_const(node, i, what) for i, what in enumerate(("start", "limit", "delta")))
        if not delta.reshape(()):
            raise ConversionError(f"{describe(node)}: Range delta must not be 0")
        ctx.add_const(node.output[0], np.arange(start.reshape(()), limit.reshape(()), delta.reshape(()), dtype=start.dtype))
        return
    (start,), (limit,), (delta,) = (ctx.dims_input(node, i, what) for i, what in enumerate(("start", "limit", "delta")))
    if not isinstance(delta, int) or delta == 0:
        raise ConversionError(f"{describe(node)}: Range delta must be a non-zero constant, not {delta}")
    size = D.ceildiv(D.sub(limit, start), delta)
    dtype = ctx.type(node.input[0]).dtype
    ctx.emit(ops.RangeAttrs(start, size, delta, dtype), [], [node.output[0]], node.name, node)


@converter("ConstantOfShape", since=9, notes="constant shape folds; a symbolic shape becomes an Expand of the value")
def constant_of_shape(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    shape_value = ctx.dims_input(node, 0, "shape")
    value = attr(node, "value")
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if all(isinstance(d, int) for d in shape_value):
        ctx.add_const(node.output[0], np.full([int(d) for d in shape_value], fill[0], dtype=fill.dtype))
        return
    scalar = ctx.add_const(ctx.fresh(f"{node.output[0]}_value"), fill[:1].reshape(()), dtype_of_array(fill))
    ctx.emit(ops.ExpandAttrs(tuple(shape_value)), [scalar], [node.output[0]], node.name, node)


@converter("Size", since=1, notes="static shapes; folded to a constant")
def size(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    t = ctx.type(node.input[0])
    if not t.is_static:
        raise ConversionError(f"{describe(node)}: Size of {t} has symbolic dimensions; export with static shapes "
                              "or fix the input sizes (import_onnx(input_shapes=...), hwgen inspect --shape)")
    ctx.add_const(node.output[0], np.asarray(t.numel, dtype=np.int64), Int(64))


@converter("GatherElements", since=11, notes="any axis, negative indices")
def gather_elements(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.GatherElementsAttrs(int(attr(node, "axis", 0))), list(node.input), list(node.output), node.name, node)


@converter("GatherND", since=11, notes="batch_dims (12+), negative indices")
def gather_nd(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    ctx.emit(ops.GatherNDAttrs(int(attr(node, "batch_dims", 0))), list(node.input), list(node.output), node.name, node)


@converter("ScatterND", since=11, notes="reduction none/add/mul (16+), max/min (18+); repeated indices: last write wins")
def scatter_nd(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    reduction = attr(node, "reduction", "none")
    if reduction not in ops.shape.SCATTER_REDUCTIONS:
        raise ConversionError(f"{describe(node)}: ScatterND reduction {reduction!r} is not supported "
                              f"(supported: {', '.join(ops.shape.SCATTER_REDUCTIONS)})")
    ctx.emit(ops.ScatterNDAttrs(reduction), list(node.input), list(node.output), node.name, node)


@converter("Tile", since=6, notes="constant repeats")
def tile(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    repeats = tuple(int(r) for r in ctx.require_const(node, 1, "repeats").reshape(-1))
    ctx.emit(ops.TileAttrs(repeats), [node.input[0]], list(node.output), node.name, node)


@converter("Trilu", since=14, notes="upper/lower, constant k")
def trilu(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    k = int(ctx.require_const(node, 1, "k").reshape(())) if input_name(node, 1) else 0
    ctx.emit(ops.TriluAttrs(bool(attr(node, "upper", 1)), k), [node.input[0]], list(node.output), node.name, node)


def _emit_pad(ctx: ConvertContext, node: onnx.NodeProto, pads: list[int], value: float, axes: list[int] | None) -> None:
    mode = attr(node, "mode", "constant")
    if mode not in ops.shape.PAD_MODES:
        raise ConversionError(f"{describe(node)}: Pad mode {mode!r} is not supported (supported: {', '.join(ops.shape.PAD_MODES)})")
    rank = ctx.type(node.input[0]).rank
    axes = list(range(rank)) if axes is None else [a + rank if a < 0 else a for a in axes]
    if len(pads) != 2 * len(axes) or any(not 0 <= a < rank for a in axes):
        raise ConversionError(f"{describe(node)}: Pad pads {pads} must have 2 entries per axis of {axes} (rank {rank})")
    full = [0] * (2 * rank)
    for i, a in enumerate(axes):
        full[a], full[a + rank] = pads[i], pads[i + len(axes)]
    ctx.emit(ops.PadAttrs(tuple(full), mode, value), [node.input[0]], list(node.output), node.name, node)


@converter("Pad", since=2, notes="pads and value attributes; constant/reflect/edge; negative pads crop")
def pad_v2(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    _emit_pad(ctx, node, [int(p) for p in attr(node, "pads", ())], float(attr(node, "value", 0.0)), None)


@converter("Pad", since=11, notes="constant pads, constant_value and axes (18+) inputs; constant/reflect/edge/wrap (19+); "
           "negative pads crop")
def pad_v11(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    pads = [int(p) for p in ctx.require_const(node, 1, "pads").reshape(-1)]
    value = ctx.require_const(node, 2, "constant_value") if input_name(node, 2) else None
    if value is not None and value.size != 1:
        raise ConversionError(f"{describe(node)}: Pad constant_value must be a scalar, got shape {list(value.shape)}")
    axes = [int(a) for a in ctx.require_const(node, 3, "axes").reshape(-1)] if input_name(node, 3) else None
    _emit_pad(ctx, node, pads, 0.0 if value is None else float(value.reshape(())), axes)
