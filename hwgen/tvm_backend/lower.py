"""hwgen IR -> a TVM Relax IRModule with one function "main".

One small converter per op type (dispatch on the attrs class, never on op names). Nodes
whose inputs are all constants are folded with the reference interpreter's own kernels, so
weight subgraphs (Dequantize of codes, per-direction Concat, ...) become constants before
any kernel sees them; the fold remembers which constants came from Ternary/Binary codes.
LSTMs become calls to the scheduled TIR kernels of `lstm_kernels` (packed weights when the
weights are ternary/binary, float panels otherwise), GRUs calls to `gru_kernels` (float
panels): their converters are in `lower_recurrent`; everything else maps onto Relax's own
operators and is legalised by TVM's default pipeline.

Symbolic dims stay symbolic: every IR dim name (e.g. "batch", "steps") of a graph input
becomes one int64 TIR variable in the Relax signature (inputs sharing a name share it,
Relax checks them at run time), shapes inside the graph are Relax's own inference, and
IR dim names made up by type inference are bound to the Relax shape expression at the
same place (`LowerContext.bind`). The LSTM kernels take the batch and sequence length as
TIR variables, so one library runs any batch size and sequence length.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tvm
from tvm import relax

from hwgen.ir import ops
from hwgen.ir.graph import Graph, Node
from hwgen.ir.types import Binary, Dim, DType, Int, TensorType, Ternary
from hwgen.reference.kernels import KERNELS
from hwgen.ir.dims import add as dim_add
from hwgen.ir.dims import is_symbolic
from hwgen.ir.ops.shape import symbolic_slice_length
from hwgen.tvm_backend import linear, matmul_kernels, norm_kernels, quant_ops
from hwgen.tvm_backend import lower_recurrent  # noqa: F401  (registers the LSTM and GRU converters)
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.relax_context import (_CONVERTERS, LowerContext, Lowered, WeightsMode, converts,
                                             relax_dtype)

# ---- elementwise ----------------------------------------------------------------------

_BINARY = {
    ops.AddAttrs: relax.op.add, ops.SubAttrs: relax.op.subtract, ops.MulAttrs: relax.op.multiply,
    ops.DivAttrs: relax.op.divide, ops.PowAttrs: relax.op.power, ops.EqualAttrs: relax.op.equal,
}
_UNARY = {
    ops.NegAttrs: relax.op.negative, ops.SqrtAttrs: relax.op.sqrt, ops.SigmoidAttrs: relax.op.sigmoid,
    ops.TanhAttrs: relax.op.tanh, ops.ReluAttrs: relax.op.nn.relu, ops.ErfAttrs: relax.op.erf,
    ops.ExpAttrs: relax.op.exp, ops.LogAttrs: relax.op.log, ops.IsNaNAttrs: relax.op.isnan,
    ops.NotAttrs: relax.op.logical_not,
}
#: Comparisons and logic: bool results (the IR's u1).
_BINARY.update({
    ops.GreaterAttrs: relax.op.greater, ops.GreaterOrEqualAttrs: relax.op.greater_equal, ops.LessAttrs: relax.op.less,
    ops.LessOrEqualAttrs: relax.op.less_equal, ops.AndAttrs: relax.op.logical_and, ops.OrAttrs: relax.op.logical_or,
    ops.XorAttrs: relax.op.logical_xor,
})


@converts(*_BINARY)
def _binary(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    a, b = (ctx.expr(n) for n in node.inputs)
    if isinstance(node.attrs, ops.DivAttrs) and isinstance(ctx.type(node.inputs[0]).dtype, Int):
        quotient = relax.op.trunc(relax.op.divide(relax.op.astype(a, "float64"), relax.op.astype(b, "float64")))
        return [relax.op.astype(quotient, relax_dtype(ctx.type(node.outputs[0]).dtype))]
    return [_BINARY[type(node.attrs)](a, b)]


@converts(*_UNARY)
def _unary(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    return [_UNARY[type(node.attrs)](ctx.expr(node.inputs[0]))]


@converts(ops.MaxAttrs, ops.MinAttrs)
def _max_min(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    fn = relax.op.maximum if isinstance(node.attrs, ops.MaxAttrs) else relax.op.minimum
    args = [ctx.expr(n) for n in node.inputs if n]
    out = args[0]
    for other in args[1:]:
        out = fn(out, other)
    return [out]


@converts(ops.ClipAttrs)
def _clip(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.ClipAttrs)
    dtype = ctx.type(node.inputs[0]).dtype.numpy
    out = ctx.expr(node.inputs[0])
    if attrs.min is not None:
        out = relax.op.maximum(out, relax.const(np.asarray(attrs.min, dtype), str(dtype)))
    if attrs.max is not None:  # applied last: with min above max every value is max, as ONNX says
        out = relax.op.minimum(out, relax.const(np.asarray(attrs.max, dtype), str(dtype)))
    return [out]


@converts(ops.IdentityAttrs)
def _identity(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    return [ctx.expr(node.inputs[0])]


@converts(ops.GeluAttrs)
def _gelu(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.GeluAttrs)
    fn = relax.op.nn.gelu_tanh if node.attrs.approximate == "tanh" else relax.op.nn.gelu
    return [fn(ctx.expr(node.inputs[0]))]


@converts(ops.WhereAttrs)
def _where(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    cond, a, b = (ctx.expr(n) for n in node.inputs)
    return [relax.op.where(relax.op.astype(cond, "bool"), a, b)]


@converts(ops.CastAttrs)
def _cast(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.CastAttrs)
    return [relax.op.astype(ctx.expr(node.inputs[0]), relax_dtype(node.attrs.to))]


# ---- shapes ---------------------------------------------------------------------------------


def _static(t: TensorType, node: Node, what: str) -> tuple[int, ...]:
    if not t.is_static:
        raise TVMUnsupportedError(f"node {node.name!r} ({node.op}): the {what} must have a static shape, not {t}")
    return tuple(int(d) for d in t.shape)


@converts(ops.ReshapeAttrs, ops.FlattenAttrs)
def _reshape(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    return [relax.op.reshape(ctx.expr(node.inputs[0]), ctx.shape(ctx.type(node.outputs[0])))]


@converts(ops.SqueezeAttrs)
def _squeeze(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    return [relax.op.reshape(ctx.expr(node.inputs[0]), ctx.shape(ctx.type(node.outputs[0])))]


@converts(ops.UnsqueezeAttrs)
def _unsqueeze(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    return [relax.op.reshape(ctx.expr(node.inputs[0]), ctx.shape(ctx.type(node.outputs[0])))]


@converts(ops.TransposeAttrs)
def _transpose(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.TransposeAttrs)
    return [relax.op.permute_dims(ctx.expr(node.inputs[0]), list(node.attrs.perm))]


@converts(ops.ConcatAttrs)
def _concat(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.ConcatAttrs)
    parts = [ctx.expr(n) for n in node.inputs if n]
    axis = node.attrs.axis % ctx.type(node.outputs[0]).rank
    return [relax.op.concat(parts, axis=axis)]


@converts(ops.SliceAttrs)
def _slice(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.SliceAttrs)
    x = ctx.expr(node.inputs[0])
    shape = ctx.type(node.inputs[0]).shape
    for start, end, axis, step in zip(node.attrs.starts, node.attrs.ends, node.attrs.axes, node.attrs.steps):
        a = axis % len(shape)
        if is_symbolic(start) or is_symbolic(end) or is_symbolic(shape[a]):  # in bounds, as the IR's type assumes
            begin = _slice_start(start, shape[a])
            length = symbolic_slice_length(start, end, step, shape[a], f"node {node.name!r}")
            stop = ctx.dim(begin) + ctx.dim(length) * step if step > 1 else ctx.dim(begin) + ctx.dim(length)
            x = ctx.emit(relax.op.strided_slice(x, [a], [ctx.dim(begin)], [stop], [step], assume_inbound=True))
            continue
        index = range(*slice(start, end, step).indices(int(shape[a])))
        if step > 0:
            x = ctx.emit(relax.op.strided_slice(x, [a], [index.start], [max(index.stop, index.start)], [step]))
        else:  # explicit indices: no end-clamping ambiguity for negative steps
            x = ctx.emit(relax.op.take(x, relax.const(np.array(list(index), np.int64)), axis=a))
    return [x]


def _slice_start(start: Dim, size: Dim) -> Dim:
    return dim_add(size, start) if isinstance(start, int) and start < 0 else start


@converts(ops.GatherElementsAttrs)
def _gather_elements(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.GatherElementsAttrs)
    data, indices = ctx.expr(node.inputs[0]), ctx.expr(node.inputs[1])
    axis = node.attrs.axis % ctx.type(node.inputs[0]).rank
    wrapped = _wrap_negative(ctx, indices, ctx.type(node.inputs[1]).dtype, ctx.dim(ctx.type(node.inputs[0]).shape[axis]))
    return [relax.op.gather_elements(data, wrapped, axis=axis)]


def _wrap_negative(ctx: LowerContext, indices: relax.Expr, dtype: DType, size: object) -> relax.Expr:
    """indices + size where negative (ONNX counts negative indices from the end)."""
    idt = relax_dtype(dtype)
    size_t = relax.const(np.asarray(size, idt), idt) if isinstance(size, int) else \
        relax.op.astype(relax.op.reshape(relax.op.shape_to_tensor(relax.ShapeExpr([size])), ()), idt)
    zero = relax.const(np.asarray(0, idt), idt)
    return relax.op.where(relax.op.less(indices, zero), relax.op.add(indices, size_t), indices)


@converts(ops.GatherNDAttrs)
def _gather_nd(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.GatherNDAttrs)
    data, indices = ctx.expr(node.inputs[0]), ctx.expr(node.inputs[1])
    return [relax.op.gather_nd(data, relax.op.astype(indices, "int64"), batch_dims=node.attrs.batch_dims)]


@converts(ops.RangeAttrs)
def _range(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.RangeAttrs)
    start, size = ctx.dim(attrs.start), ctx.dim(attrs.size)
    return [relax.op.arange(start, start + size * attrs.delta, attrs.delta, relax_dtype(attrs.dtype))]


@converts(ops.ShapeAttrs)
def _shape(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.ShapeAttrs)
    dims = ctx.type(node.inputs[0]).shape[attrs.start : attrs.end]
    if not dims:
        return [relax.const(np.zeros(0, np.int64))]
    return [relax.op.shape_to_tensor(relax.ShapeExpr([ctx.dim(d) for d in dims]))]


@converts(ops.ReduceSumAttrs, ops.ReduceMaxAttrs, ops.ReduceMinAttrs)
def _reduce(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.nn.Reduce)
    rank = ctx.type(node.inputs[0]).rank
    axes = [a % rank for a in attrs.axes] if attrs.axes else list(range(rank))
    fn = {ops.ReduceSumAttrs: relax.op.sum, ops.ReduceMaxAttrs: relax.op.max, ops.ReduceMinAttrs: relax.op.min}[type(attrs)]
    return [fn(ctx.expr(node.inputs[0]), axes, keepdims=attrs.keepdims)]


def _row_codes(ctx: LowerContext, name: str, axis: int) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(codes, scale) of a table that is a folded DequantizeLinear with one scale per row (int8 embeddings),
    when rows are what a Gather along `axis` 0 picks: the library then stores the int8 codes, not floats."""
    if axis != 0 or name not in ctx.dequantized:
        return None
    _, codes, scale, zero_point, q_axis = ctx.dequantized[name]
    if codes.dtype != np.int8 or codes.ndim != 2 or q_axis is None or q_axis % 2 != 0 or \
            scale.shape != (codes.shape[0],) or (zero_point is not None and np.any(zero_point != 0)):
        return None
    return codes, np.asarray(scale, np.float32)


@converts(ops.GatherAttrs)
def _gather(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.GatherAttrs)
    axis = node.attrs.axis % ctx.type(node.inputs[0]).rank
    rows = _row_codes(ctx, node.inputs[0], axis)
    if rows is not None and not isinstance(ctx.env[node.inputs[1]], np.ndarray):
        codes, scale = rows  # rows of codes x their scales: the same float32 products the folded table holds
        idx = ctx.expr(node.inputs[1])
        picked = relax.op.astype(relax.op.take(relax.const(codes), idx, axis=0), "float32")
        return [relax.op.multiply(picked, relax.op.expand_dims(relax.op.take(relax.const(scale), idx, axis=0), -1))]
    data = ctx.expr(node.inputs[0])
    indices = ctx.env[node.inputs[1]]
    if isinstance(indices, np.ndarray):
        size = ctx.type(node.inputs[0]).shape[axis]
        if (indices < 0).any() and not isinstance(size, int):
            if indices.ndim != 0:
                raise TVMUnsupportedError(f"node {node.name!r} (Gather): negative indices along the symbolic axis "
                                          f"{size!r} must be one scalar")
            first = ctx.dim(size) + int(indices)  # x[..., -k, ...] of a symbolic axis: one slice from its end
            return [relax.op.squeeze(relax.op.strided_slice(data, [axis], [first], [first + 1]), [axis])]
        if (indices < 0).any():
            indices = np.where(indices < 0, indices + int(size), indices)
        indices = relax.const(indices.astype(np.int64))
    return [relax.op.take(data, indices, axis=axis)]


@converts(ops.SplitAttrs)
def _split(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.SplitAttrs)
    axis = node.attrs.axis % ctx.type(node.inputs[0]).rank
    cuts = [int(c) for c in np.cumsum(node.attrs.sizes)[:-1]]
    parts = ctx.emit(relax.op.split(ctx.expr(node.inputs[0]), cuts, axis=axis))
    return [relax.TupleGetItem(parts, i) for i in range(len(node.attrs.sizes))]


@converts(ops.ExpandAttrs)
def _expand(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    return [relax.op.broadcast_to(ctx.expr(node.inputs[0]), ctx.shape(ctx.type(node.outputs[0])))]


# ---- dense algebra and normalisation ---------------------------------------------------------------------


def _linear_weight(ctx: LowerContext, name: str,
                   transposed: bool) -> Optional[tuple[np.ndarray, Optional[linear.QuantizedWeight]]]:
    """The constant [K, N] weight of a Linear layer and its codes when it is a folded DequantizeLinear;
    None when `name` is computed at run time. With int8 activations a weight DequantizeLinear the
    integer kernels cannot take exactly is refused here (by node)."""
    value = ctx.env[name]
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        return None
    weight = np.asarray(value.T if transposed else value)
    if name not in ctx.dequantized:
        return weight, None
    node_name, codes, scale, zero_point, axis = ctx.dequantized[name]
    if ctx.int8_activations:
        linear.check_int8_weight(node_name, codes, zero_point, axis, out_axis=0 if transposed else 1)
    return weight, linear.quantized_weight(codes, scale, zero_point, axis, transposed)


@converts(ops.MatMulAttrs)
def _matmul(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    """A Linear layer (x @ constant W) on the scheduled kernels of `linear`, a float32 (batched) matmul of two
    run-time tensors (attention) on `matmul_kernels`; any other matmul in Relax."""
    w = _linear_weight(ctx, node.inputs[1], transposed=False)
    if w is not None:
        y = linear.lower_linear(ctx, node, node.inputs[0], w[0], w[1], np.zeros(w[0].shape[1], np.float32))
        if y is not None:
            return [y]
    else:
        y = matmul_kernels.lower_matmul(ctx, node)
        if y is not None:
            return [y]
    return [relax.op.matmul(ctx.expr(node.inputs[0]), ctx.expr(node.inputs[1]))]


def _gemm_linear(ctx: LowerContext, node: Node, attrs: ops.GemmAttrs) -> Optional[relax.Expr]:
    """Gemm(A, constant B, constant C of N or 1 values) with alpha 1 as one Linear layer (bias = beta C)."""
    if attrs.trans_a or attrs.alpha != 1.0:
        return None
    w = _linear_weight(ctx, node.inputs[1], transposed=bool(attrs.trans_b))
    if w is None:
        return None
    n = w[0].shape[1]
    bias = np.zeros(n, np.float32)
    if len(node.inputs) > 2 and node.inputs[2]:
        c = ctx.env[node.inputs[2]]
        if not isinstance(c, np.ndarray) or c.size not in (1, n) or c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1):
            return None
        bias = (np.broadcast_to(c.reshape(-1), (n,)) * np.float32(attrs.beta)).astype(np.float32)
    return linear.lower_linear(ctx, node, node.inputs[0], w[0], w[1], bias)


@converts(ops.GemmAttrs)
def _gemm(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.GemmAttrs)
    fused = _gemm_linear(ctx, node, attrs)
    if fused is not None:
        return [fused]
    a, b = ctx.expr(node.inputs[0]), ctx.expr(node.inputs[1])
    a = relax.op.permute_dims(a, [1, 0]) if attrs.trans_a else a
    b = relax.op.permute_dims(b, [1, 0]) if attrs.trans_b else b
    y = relax.op.matmul(a, b)
    if attrs.alpha != 1.0:
        y = relax.op.multiply(y, relax.const(np.float32(attrs.alpha)))
    if len(node.inputs) > 2 and node.inputs[2]:
        c = ctx.expr(node.inputs[2])
        if attrs.beta != 1.0:
            c = relax.op.multiply(c, relax.const(np.float32(attrs.beta)))
        y = relax.op.add(y, c)
    return [y]


@converts(ops.SoftmaxAttrs, ops.LogSoftmaxAttrs)
def _softmax(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.SoftmaxAttrs)
    x_type = ctx.type(node.inputs[0])
    if (not isinstance(node.attrs, ops.LogSoftmaxAttrs) and relax_dtype(x_type.dtype) == "float32"
            and x_type.rank >= 1 and node.attrs.axis % x_type.rank == x_type.rank - 1):
        lead = ctx.shape(TensorType(x_type.shape[:-1], x_type.dtype))
        return [norm_kernels.lower_softmax(ctx, ctx.expr(node.inputs[0]), lead, ctx.dim(x_type.shape[-1]))]
    fn = relax.op.nn.log_softmax if isinstance(node.attrs, ops.LogSoftmaxAttrs) else relax.op.nn.softmax
    return [fn(ctx.expr(node.inputs[0]), axis=node.attrs.axis)]


@converts(ops.LayerNormAttrs)
def _layer_norm(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.LayerNormAttrs)
    x_type = ctx.type(node.inputs[0])
    axis = node.attrs.axis % x_type.rank
    norm_shape = _static(TensorType(x_type.shape[axis:], x_type.dtype), node, "normalised part of the input")

    def param(index: int, fill: float) -> relax.Expr:
        if index < len(node.inputs) and node.inputs[index]:
            value = ctx.env[node.inputs[index]]
            if isinstance(value, np.ndarray):
                return relax.const(np.broadcast_to(value, norm_shape).astype(np.float32).copy())
            return relax.op.broadcast_to(value, norm_shape)
        return relax.const(np.full(norm_shape, fill, np.float32))

    axes = list(range(axis, x_type.rank))
    if axes == [x_type.rank - 1] and relax_dtype(x_type.dtype) == "float32" and norm_kernels.fits(norm_shape[0]):
        lead = ctx.shape(TensorType(x_type.shape[:-1], x_type.dtype))
        return [norm_kernels.lower_layer_norm(ctx, ctx.expr(node.inputs[0]), lead, norm_shape[0], param(1, 1.0),
                                              param(2, 0.0), node.attrs.epsilon)]
    return [relax.op.nn.layer_norm(ctx.expr(node.inputs[0]), param(1, 1.0), param(2, 0.0), axes, node.attrs.epsilon)]


@converts(ops.ReduceMeanAttrs)
def _reduce_mean(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.ReduceMeanAttrs)
    rank = ctx.type(node.inputs[0]).rank
    axes = [a % rank for a in node.attrs.axes] if node.attrs.axes else list(range(rank))
    return [relax.op.mean(ctx.expr(node.inputs[0]), axes, keepdims=node.attrs.keepdims)]


# ---- quantization (activations; constant weights are folded before they get here) ----------------


def _per_axis(ctx: LowerContext, node: Node, index: int, axis: Optional[int]) -> Optional[relax.Expr]:
    if index >= len(node.inputs) or not node.inputs[index]:
        return None
    value = ctx.env[node.inputs[index]]
    assert isinstance(value, np.ndarray), "quantization parameters are constants (IR const_inputs)"
    rank = ctx.type(node.inputs[0]).rank
    if axis is not None and value.size > 1:
        shape = [1] * rank
        shape[axis % rank] = -1
        value = value.reshape(shape)
    else:
        value = value.reshape(())
    return relax.const(value.astype(np.float32))


@converts(ops.DequantizeAttrs)
def _dequantize(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    assert isinstance(node.attrs, ops.DequantizeAttrs)
    x = relax.op.astype(ctx.expr(node.inputs[0]), "float32")
    zp = _per_axis(ctx, node, 2, node.attrs.axis)
    if zp is not None:
        x = relax.op.subtract(x, zp)
    scale = _per_axis(ctx, node, 1, node.attrs.axis)
    assert scale is not None
    return [relax.op.multiply(x, scale)]


@converts(ops.QuantizeAttrs)
def _quantize(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.QuantizeAttrs)
    t = Int(attrs.bits, attrs.signed)
    scale = _per_axis(ctx, node, 1, attrs.axis)
    assert scale is not None
    q = relax.op.round(relax.op.divide(ctx.expr(node.inputs[0]), scale))  # round half to even, like np.rint
    zp = _per_axis(ctx, node, 2, attrs.axis)
    if zp is not None:
        q = relax.op.add(q, zp)
    return [relax.op.astype(relax.op.clip(q, t.min, t.max), relax_dtype(t))]


@converts(ops.DynamicQuantizeAttrs)
def _dynamic_quantize(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    return quant_ops.dynamic_quantize(ctx.expr(node.inputs[0]))


@converts(ops.MatMulIntegerAttrs)
def _matmul_integer(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    def zero_point(index: int) -> tuple[Optional[relax.Expr], int]:
        if index >= len(node.inputs) or not node.inputs[index]:
            return None, 1
        size = ctx.type(node.inputs[index]).shape
        return ctx.expr(node.inputs[index]), int(size[0]) if size and isinstance(size[0], int) else 1

    (a_zp, a_size), (b_zp, b_size) = zero_point(2), zero_point(3)
    return [quant_ops.matmul_integer(ctx.expr(node.inputs[0]), ctx.expr(node.inputs[1]), a_zp, a_size, b_zp, b_size)]


_ROUNDING = {"ROUND": relax.op.round, "CEIL": relax.op.ceil, "FLOOR": relax.op.floor, "ROUND_TO_ZERO": relax.op.trunc}


@converts(ops.FakeQuantAttrs)
def _fake_quant(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    attrs = node.attrs
    assert isinstance(attrs, ops.FakeQuantAttrs)
    if attrs.signed:
        lo, hi = -(2 ** (attrs.bits - 1)) + int(attrs.narrow), 2 ** (attrs.bits - 1) - 1
    else:
        lo, hi = 0, 2**attrs.bits - 1 - int(attrs.narrow)
    scale, zp = ctx.expr(node.inputs[1]), ctx.expr(node.inputs[2])
    q = _ROUNDING[attrs.rounding](relax.op.add(relax.op.divide(ctx.expr(node.inputs[0]), scale), zp))
    q = relax.op.clip(q, lo, hi)
    return [relax.op.multiply(relax.op.subtract(q, zp), scale)]


@converts(ops.BipolarQuantAttrs)
def _bipolar(ctx: LowerContext, node: Node) -> Sequence[relax.Expr]:
    x = ctx.expr(node.inputs[0])
    sign = relax.op.where(relax.op.greater_equal(x, relax.const(np.float32(0))), relax.const(np.float32(1)),
                          relax.const(np.float32(-1)))
    return [relax.op.multiply(sign, ctx.expr(node.inputs[1]))]


# ---- the graph --------------------------------------------------------------------------------------

#: Ops that move weights around without changing values: a Ternary/Binary origin survives them.
_WEIGHT_MOVES = (ops.ReshapeAttrs, ops.FlattenAttrs, ops.SqueezeAttrs, ops.UnsqueezeAttrs, ops.TransposeAttrs,
                 ops.ConcatAttrs, ops.SliceAttrs, ops.GatherAttrs, ops.SplitAttrs, ops.IdentityAttrs)


def _fold(ctx: LowerContext, node: Node) -> bool:
    """Evaluate a node whose inputs are all constants with the reference kernels."""
    if isinstance(node.attrs, (ops.LSTMAttrs, ops.GRUAttrs)):
        return False
    if any(is_symbolic(d) for d in node.attrs.dims()) or not all(ctx.type(o).is_static for o in node.outputs if o):
        return False  # sizes known only at run time (a Slice up to the sequence length, a Range)
    args = [ctx.env[n] if n else None for n in node.inputs]
    if not all(a is None or isinstance(a, np.ndarray) for a in args):
        return False
    results = KERNELS[type(node.attrs)](node.attrs, args)  # type: ignore[arg-type]
    origin = None
    if isinstance(node.attrs, ops.DequantizeAttrs):
        ctx.dequantized[node.outputs[0]] = (node.name, np.asarray(args[0]), np.asarray(args[1]),
                                            None if len(args) < 3 or args[2] is None else np.asarray(args[2]),
                                            node.attrs.axis)
        dtype = ctx.type(node.inputs[0]).dtype
        origin = "binary" if isinstance(dtype, Binary) else "ternary" if isinstance(dtype, Ternary) else None
    elif isinstance(node.attrs, _WEIGHT_MOVES):
        marks = {ctx.kinds.get(n) for n in node.inputs if n}
        origin = "ternary" if "ternary" in marks else "binary" if marks == {"binary"} else None
    for name, value in zip(node.outputs, results):
        if name:
            ctx.env[name] = np.asarray(value)
            if origin:
                ctx.kinds[name] = origin
    return True


def unsupported(graph: Graph) -> list[str]:
    """Why the graph cannot be lowered (empty when it can). Symbolic input dims are fine (they stay
    symbolic); an LSTM's or GRU's input size must be static."""
    reasons = [f"node {n.name!r}: op {n.op} has no TVM lowering" for n in graph.nodes if type(n.attrs) not in _CONVERTERS]
    for node in [*graph.nodes_of(ops.LSTMAttrs), *graph.nodes_of(ops.GRUAttrs)]:
        size = graph.types[node.inputs[0]].shape[-1]
        if not isinstance(size, int):
            reasons.append(f"node {node.name!r} ({node.op}): input size {size!r} is symbolic")
    return reasons


def _params(graph: Graph, ctx: LowerContext) -> list[relax.Var]:
    """The Relax parameters of "main": one shared int64 TIR variable per symbolic dim name."""
    params = []
    for v in graph.inputs:
        for d in v.type.shape:
            if isinstance(d, str) and d not in ctx.dims:
                ctx.dims[d] = tvm.tirx.Var(d, "int64")
        params.append(relax.Var(v.name, relax.TensorType(ctx.shape(v.type), relax_dtype(v.type.dtype))))
    return params


def lower_graph(graph: Graph, weights: WeightsMode = "auto", int8_activations: bool = False,
                simd: str = "portable") -> Lowered:
    """Lower a typed IR graph to a Relax module whose "main" takes the graph inputs; symbolic input
    dims stay symbolic (one library for every batch size / sequence length). `int8_activations`: Linear
    layers with DequantizeLinear weights take per-token int8 activations (`linear`), on the
    u8 x s8 kernels of `simd` (`quad_kernels.SIMD_LEVELS`: "avx2", "avx512"; "portable": none)."""
    if not graph.types:
        graph = graph.with_types()
    problems = unsupported(graph)
    if problems:
        raise TVMUnsupportedError(f"graph {graph.name!r} cannot be compiled for TVM: " + "; ".join(problems))
    bb = relax.BlockBuilder()
    ctx = LowerContext(graph, bb, weights, int8_activations=int8_activations, simd=simd)
    params = _params(graph, ctx)
    symbolic = tuple(ctx.dims)
    ctx.env.update({name: c.array for name, c in graph.constants.items()})
    ctx.kinds.update({name: ("binary" if isinstance(c.type.dtype, Binary) else "ternary")
                      for name, c in graph.constants.items() if isinstance(c.type.dtype, (Binary, Ternary))})
    with bb.function("main", params):
        with bb.dataflow():
            for var, value in zip(params, graph.inputs):
                ctx.env[value.name] = var
            for node in graph.nodes:
                if _fold(ctx, node):
                    continue
                results = _CONVERTERS[type(node.attrs)](ctx, node)
                for name, expr in zip(node.outputs, results):
                    if name:
                        ctx.env[name] = bb.emit(expr)
                        ctx.bind(name, ctx.env[name])
            outs = []
            for value in graph.outputs:
                expr = ctx.expr(value.name)
                if relax_dtype(ctx.type(value.name).dtype) == "bool":
                    expr = relax.op.astype(expr, "uint8")
                outs.append(bb.emit_output(expr))
        bb.emit_func_output(outs[0] if len(outs) == 1 else relax.Tuple(outs))
    return Lowered(bb.get(), graph, tuple(ctx.kernels), symbolic, tuple(ctx.linears))
