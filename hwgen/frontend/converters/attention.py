"""ONNX `Attention` (opset 23+, what the dynamo exporter writes for scaled_dot_product_attention) → IR.

Expanded at import into the ops every backend already has, following the ONNX
reference: softmax(softcap((Q·√s) @ (K·√s)ᵀ) + bias) @ V, with bias from attn_mask (bool:
0 / -inf, float: added) and is_causal; softcap(x) = c·tanh(x/c) when given. 3-D inputs are split
into heads with Reshape + Transpose. Rejected by name: KV caches (past_key/value,
nonpad_kv_seqlen), grouped-query heads, sliding windows, extra outputs.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, attr, describe, input_name
from hwgen.frontend.registry import converter
from hwgen.ir import ops
from hwgen.ir.types import Float32, Int


class _Builder:
    """Emits the expansion's nodes with names derived from the ONNX node's."""

    def __init__(self, ctx: ConvertContext, node: onnx.NodeProto) -> None:
        self.ctx, self.node = ctx, node
        self.base = node.name or "attention"

    def __call__(self, attrs: ops.OpAttrs, inputs: list[str], hint: str, out: str | None = None) -> str:
        name = out or self.ctx.fresh(f"{self.base}_{hint}")
        self.ctx.emit(attrs, inputs, [name], f"{self.base}/{hint}", self.node)
        return name

    def const(self, hint: str, value: np.ndarray) -> str:
        return self.ctx.add_const(self.ctx.fresh(f"{self.base}_{hint}"), value)


def _heads_first(b: _Builder, x: str, heads: int, what: str) -> str:
    """[batch, seq, heads*size] → [batch, heads, seq, size]."""
    t = b.ctx.type(x)
    batch, seq, hidden = t.shape
    if not isinstance(hidden, int) or hidden % heads:
        raise ConversionError(f"{describe(b.node)}: {what} hidden size {hidden} is not a multiple of {heads} heads")
    split = b(ops.ReshapeAttrs((batch, seq, heads, hidden // heads)), [x], f"{what}_heads")
    return b(ops.TransposeAttrs((0, 2, 1, 3)), [split], f"{what}_bhsd")


@converter("Attention", since=23, notes="no KV cache, equal Q/KV heads; mask (bool/float), is_causal, scale, softcap")
def attention(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    where = f"{ctx.path}: {describe(node)}"
    for index, what in ((4, "past_key"), (5, "past_value"), (6, "nonpad_kv_seqlen")):
        if input_name(node, index):
            raise ConversionError(f"{where}: {what} (KV cache) is not supported")
    if any(node.output[1:]):
        raise ConversionError(f"{where}: only output Y is supported (not present_key/present_value/qk_matmul_output)")
    for name in ("left_window_size", "right_window_size"):
        if int(attr(node, name, -1)) != -1:
            raise ConversionError(f"{where}: sliding-window attention ({name}) is not supported")
    b = _Builder(ctx, node)
    q, k, v = node.input[0], node.input[1], node.input[2]
    rank = ctx.type(q).rank
    if rank == 3:
        q_heads, kv_heads = attr(node, "q_num_heads"), attr(node, "kv_num_heads")
        if q_heads is None or kv_heads is None:
            raise ConversionError(f"{where}: 3-D Q/K/V need the q_num_heads and kv_num_heads attributes")
        if q_heads != kv_heads:
            raise ConversionError(f"{where}: grouped-query attention ({q_heads} query heads, {kv_heads} KV heads) is not supported")
        q, k, v = (_heads_first(b, x, int(q_heads), what) for x, what in ((q, "q"), (k, "k"), (v, "v")))
    elif rank != 4:
        raise ConversionError(f"{where}: Q must be 3-D or 4-D, got {ctx.type(q)}")
    qt, kt = ctx.type(q), ctx.type(k)
    if qt.shape[1] != kt.shape[1]:
        raise ConversionError(f"{where}: grouped-query attention ({qt.shape[1]} query heads, {kt.shape[1]} KV heads) is not supported")
    head_size = qt.shape[3]
    scale = attr(node, "scale")
    if scale is None:
        if not isinstance(head_size, int):
            raise ConversionError(f"{where}: head size of {qt} is symbolic; give the scale attribute")
        scale = 1 / math.sqrt(head_size)
    root = b.const("scale", np.float32(math.sqrt(float(scale))))  # ONNX scales Q and K by √scale each
    q = b(ops.MulAttrs(), [q, root], "q_scaled")
    k = b(ops.MulAttrs(), [k, root], "k_scaled")
    k_t = b(ops.TransposeAttrs((0, 1, 3, 2)), [k], "k_t")
    scores = b(ops.MatMulAttrs(), [q, k_t], "scores")
    softcap = float(attr(node, "softcap", 0.0))
    if softcap > 0:  # before the bias, so masked scores stay -inf
        scores = b(ops.DivAttrs(), [scores, b.const("softcap", np.float32(softcap))], "capped")
        scores = b(ops.TanhAttrs(), [scores], "capped_tanh")
        scores = b(ops.MulAttrs(), [scores, b.const("softcap", np.float32(softcap))], "softcapped")
    masked = bool(input_name(node, 3)) or bool(int(attr(node, "is_causal", 0)))
    scores = _add_bias(b, node, scores, where)
    probs = b(ops.SoftmaxAttrs(axis=-1), [scores], "probs")
    if masked:
        probs = _zero_fully_masked_rows(b, scores, probs)
    if rank == 4:
        b(ops.MatMulAttrs(), [probs, v], "out", node.output[0])
        return
    y = b(ops.MatMulAttrs(), [probs, v], "out_bhsd")
    y = b(ops.TransposeAttrs((0, 2, 1, 3)), [y], "out_bshd")
    batch, seq, heads, size = ctx.type(y).shape
    merged = heads * size if isinstance(heads, int) and isinstance(size, int) else f"{node.output[0]}_hidden"
    b(ops.ReshapeAttrs((batch, seq, merged)), [y], "out", node.output[0])


def _zero_fully_masked_rows(b: _Builder, scores: str, probs: str) -> str:
    """ONNX (and onnxruntime) output 0 for a query row whose keys are all masked; softmax of an
    all -inf row is NaN, so such rows are found (every score -inf) and their weights set to 0."""
    is_masked = b(ops.EqualAttrs(), [scores, b.const("neg_inf", np.float32(-np.inf))], "is_masked")
    share = b(ops.ReduceMeanAttrs(axes=(-1,), keepdims=True), [b(ops.CastAttrs(Float32()), [is_masked], "is_masked_f")],
              "masked_share")
    all_masked = b(ops.EqualAttrs(), [share, b.const("one", np.float32(1))], "all_masked")
    return b(ops.WhereAttrs(), [all_masked, b.const("zero", np.float32(0)), probs], "probs_guarded")


def _add_bias(b: _Builder, node: onnx.NodeProto, scores: str, where: str) -> str:
    """scores + the additive bias of attn_mask and is_causal (bool mask: attend → 0, masked → -inf)."""
    st = b.ctx.type(scores)
    q_len, kv_len = st.shape[2], st.shape[3]
    neg_inf = b.const("neg_inf", np.float32(-np.inf))
    mask = input_name(node, 3)
    if mask:
        mt = b.ctx.type(mask)
        if mt.shape and mt.shape[-1] != kv_len:
            raise ConversionError(f"{where}: attn_mask {mt} must cover all {kv_len} keys (padded masks are not supported)")
        if mt.dtype == Int(1, signed=False):
            mask = b(ops.WhereAttrs(), [mask, b.const("zero", np.float32(0)), neg_inf], "mask_bias")
        scores = b(ops.AddAttrs(), [scores, mask], "masked")
    if int(attr(node, "is_causal", 0)):
        if not (isinstance(q_len, int) and isinstance(kv_len, int)):
            raise ConversionError(f"{where}: is_causal needs static sequence lengths, got {st}")
        allowed = np.arange(kv_len)[None, :] <= np.arange(q_len)[:, None]
        causal = b.const("causal", np.where(allowed, np.float32(0), np.float32(-np.inf)).astype(np.float32))
        scores = b(ops.AddAttrs(), [scores, causal], "causal")
    return scores
