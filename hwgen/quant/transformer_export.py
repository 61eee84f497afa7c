"""ONNX export of a trained transformer classifier, checked against PyTorch with onnxruntime.

The graph is written op by op (opset 17, IR version 10 for onnxruntime 1.31), from ops
hwgen's frontend imports, with the exact integer weights behind DequantizeLinear:

    input_ids, attention_mask int64 [batch, seq]
    embeddings   Gather(word) + Gather(token type 0) + Slice(position, 0:seq) → LayerNormalization
                 (int8 embeddings: each table is DequantizeLinear(codes int8 [rows, H], scale [rows], axis=0))
    mask bias    (1 - Cast(mask)) · -1e9, [batch, 1, 1, seq]
    per layer    Q, K, V, O, FFN-in, FFN-out: MatMul(x, W) + b with
                 W = DequantizeLinear(codes int8 [in, out], scale [out], axis=1)  (int8, ternary, binary:
                 codes in [-127, 127], {-1, 0, 1}, {-1, 1}; one scale per output row of the torch weight)
                 float weights are plain initializers; heads = the layer's (pruned) head count
                 softmax(Q·Kᵀ/√d + bias)·V, residual + LayerNormalization, GELU = x·(1 + erf(x/√2))/2
    pooling      masked mean: (mask · H) / (mask · maskᵀ), the count of real tokens
    head         MatMul + Add → logits float [batch, classes]

LayerNorm, biases, softmax and the head stay float. The check runs onnxruntime with
DequantizeLinear → MatMul kept exact (see `ort_session`). Structured pruning shows as narrower
matrices (fewer heads, narrower FFN); unstructured pruning as zero codes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from hwgen.quant.export import ExportError
from hwgen.quant.transformer_checkpoint import load_transformer
from hwgen.quant.transformer_model import TextClassifier
from hwgen.quant.transformer_quant import QuantEmbedding, QuantLinear

IR_VERSION = 10
OPSET = 17
IDS, MASK, OUTPUT = "input_ids", "attention_mask", "logits"
MASK_FILL = -1e9
TOLERANCE = 1e-4


class _Graph:
    """Nodes and initializers of the graph being written, with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        self._n += 1
        out = f"{hint}_{self._n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def dequant(self, prefix: str, codes: torch.Tensor, scale: torch.Tensor, axis: int) -> str:
        c = self.init(f"{prefix}_codes", codes.numpy().astype(np.int8))
        s = self.init(f"{prefix}_scale", scale.numpy().astype(np.float32))
        self.nodes.append(helper.make_node("DequantizeLinear", [c, s], [prefix], name=f"{prefix}_dequant", axis=axis))
        return prefix

    def matrix(self, prefix: str, lin: torch.nn.Linear) -> str:
        """The [in, out] weight of `lin` for MatMul: int8 codes behind DequantizeLinear, or float."""
        if isinstance(lin, QuantLinear) and lin.kind != "float":
            codes, scale = lin.codes_and_scale()
            return self.dequant(prefix, codes.t().contiguous(), scale, axis=1)
        w = lin.masked_weight() if isinstance(lin, QuantLinear) else lin.weight
        return self.init(prefix, w.detach().t().contiguous().numpy().astype(np.float32))

    def linear(self, x: str, lin: torch.nn.Linear, prefix: str) -> str:
        y = self.op("MatMul", [x, self.matrix(f"{prefix}.W", lin)], f"{prefix}_mm")
        return self.op("Add", [y, self.init(f"{prefix}.b", lin.bias.detach().numpy())], f"{prefix}_out")

    def layer_norm(self, x: str, ln: torch.nn.LayerNorm, prefix: str) -> str:
        g = self.init(f"{prefix}.gamma", ln.weight.detach().numpy())
        b = self.init(f"{prefix}.beta", ln.bias.detach().numpy())
        return self.op("LayerNormalization", [x, g, b], f"{prefix}_ln", axis=-1, epsilon=float(ln.eps))

    def table(self, prefix: str, emb: torch.nn.Embedding) -> str:
        if isinstance(emb, QuantEmbedding):
            codes, scale = emb.codes_and_scale()
            return self.dequant(prefix, codes, scale, axis=0)
        return self.init(prefix, emb.weight.detach().numpy())


def _embeddings(g: _Graph, model: TextClassifier) -> str:
    emb = model.encoder.embeddings
    words = g.op("Gather", [g.table("emb.word", emb.word_embeddings), IDS], "word", axis=0)
    zero = g.init("emb.type_id", np.array(0, np.int64))
    typ = g.op("Gather", [g.table("emb.token_type", emb.token_type_embeddings), zero], "token_type", axis=0)
    shape = g.op("Shape", [IDS], "ids_shape")
    one, two = g.init("const.1", np.array([1], np.int64)), g.init("const.2", np.array([2], np.int64))
    seq = g.op("Slice", [shape, one, two], "seq_len")
    pos = g.op("Slice", [g.table("emb.position", emb.position_embeddings), g.init("const.0", np.array([0], np.int64)),
                         seq], "positions")
    x = g.op("Add", [g.op("Add", [words, typ], "word_type"), pos], "emb_sum")
    return g.layer_norm(x, emb.LayerNorm, "emb")


def _attention(g: _Graph, x: str, layer: Any, bias: str, k: int) -> str:
    att = layer.attention.self
    d = att.attention_head_size
    n = att.query.out_features // d
    split = g.init(f"l{k}.heads_shape", np.array([0, 0, n, d], np.int64))
    merge = g.init(f"l{k}.merge_shape", np.array([0, 0, n * d], np.int64))

    def heads(lin: torch.nn.Linear, name: str, perm: list[int]) -> str:
        y = g.op("Reshape", [g.linear(x, lin, f"l{k}.{name}"), split], f"l{k}_{name}_heads")
        return g.op("Transpose", [y], f"l{k}_{name}_t", perm=perm)

    q, kt, v = heads(att.query, "q", [0, 2, 1, 3]), heads(att.key, "k", [0, 2, 3, 1]), heads(att.value, "v", [0, 2, 1, 3])
    s = g.op("Mul", [g.op("MatMul", [q, kt], f"l{k}_qk"), g.init(f"l{k}.scale", np.array(1 / math.sqrt(d), np.float32))],
             f"l{k}_scores")
    p = g.op("Softmax", [g.op("Add", [s, bias], f"l{k}_masked")], f"l{k}_probs", axis=-1)
    c = g.op("Transpose", [g.op("MatMul", [p, v], f"l{k}_ctx")], f"l{k}_ctx_t", perm=[0, 2, 1, 3])
    c = g.op("Reshape", [c, merge], f"l{k}_ctx_merged")
    o = g.linear(c, layer.attention.output.dense, f"l{k}.o")
    return g.layer_norm(g.op("Add", [o, x], f"l{k}_res1"), layer.attention.output.LayerNorm, f"l{k}.ln1")


def _ffn(g: _Graph, x: str, layer: Any, k: int) -> str:
    h = g.linear(x, layer.intermediate.dense, f"l{k}.ffn_in")
    e = g.op("Erf", [g.op("Div", [h, g.init(f"l{k}.sqrt2", np.array(math.sqrt(2), np.float32))], f"l{k}_gelu_div")],
             f"l{k}_erf")
    e = g.op("Add", [e, g.init(f"l{k}.one", np.array(1, np.float32))], f"l{k}_erf1")
    gelu = g.op("Mul", [g.op("Mul", [h, e], f"l{k}_gelu_mul"), g.init(f"l{k}.half", np.array(0.5, np.float32))], f"l{k}_gelu")
    y = g.linear(gelu, layer.output.dense, f"l{k}.ffn_out")
    return g.layer_norm(g.op("Add", [y, x], f"l{k}_res2"), layer.output.LayerNorm, f"l{k}.ln2")


@torch.no_grad()
def to_onnx(model: TextClassifier, name: str = "hwgen_transformer") -> onnx.ModelProto:
    """The eval-mode classifier (deterministic codes of its current weights) as ONNX."""
    model.eval()
    act = getattr(model.encoder.config, "hidden_act", "gelu")
    if act != "gelu":
        raise ExportError(f"hidden activation {act!r} is not exported (the exact erf GELU is)")
    g = _Graph()
    x = _embeddings(g, model)
    maskf = g.op("Cast", [MASK], "mask_f", to=TensorProto.FLOAT)
    inv = g.op("Sub", [g.init("const.one", np.array(1, np.float32)), maskf], "mask_inv")
    fill = g.op("Mul", [inv, g.init("const.fill", np.array(MASK_FILL, np.float32))], "mask_fill")
    bias = g.op("Unsqueeze", [fill, g.init("const.axes12", np.array([1, 2], np.int64))], "mask_bias")
    for k, layer in enumerate(model.layers):
        x = _ffn(g, _attention(g, x, layer, bias, k), layer, k)
    row = g.op("Unsqueeze", [maskf, g.init("const.axis1", np.array([1], np.int64))], "mask_row")
    col = g.op("Unsqueeze", [maskf, g.init("const.axis2", np.array([2], np.int64))], "mask_col")
    total = g.op("MatMul", [row, x], "pool_sum")
    count = g.op("Clip", [g.op("MatMul", [row, col], "pool_count"), g.init("const.eps", np.array(1e-9, np.float32))],
                 "pool_count_min")
    pooled = g.op("Squeeze", [g.op("Div", [total, count], "pool_mean"), "const.axis1"], "pooled")
    mm = g.op("MatMul", [pooled, g.init("head.W", model.head.weight.detach().t().contiguous().numpy())], "head_mm")
    g.nodes.append(helper.make_node("Add", [mm, g.init("head.b", model.head.bias.detach().numpy())], [OUTPUT], name="head"))
    graph = helper.make_graph(
        g.nodes, name,
        [helper.make_tensor_value_info(IDS, TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info(MASK, TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", model.head.out_features])], g.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hwgen.quant")
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m)
    return m


def sample_batch(model: TextClassifier, batch: int = 4, seq: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids with padded rows of different lengths (the first row full)."""
    rng = np.random.default_rng(seed)
    seq = min(seq, model.max_positions)
    ids = rng.integers(0, model.encoder.config.vocab_size, (batch, seq)).astype(np.int64)
    lengths = np.concatenate([[seq], rng.integers(2, seq + 1, batch - 1)])
    mask = (np.arange(seq)[None] < lengths[:, None]).astype(np.int64)
    return ids * mask, mask


def ort_session(m: Union[onnx.ModelProto, str, os.PathLike], exact: bool = True) -> Any:
    """An onnxruntime CPU session; `exact` keeps DequantizeLinear → MatMul at full float precision.

    onnxruntime 1.31's default graph optimizations fuse DequantizeLinear → MatMul into
    MatMulNBits with accuracy level 4, which quantizes the activations to int8 on the fly:
    logits then move by ~1e-4 (2.2e-4 on the tests' tiny ternary model). Accuracy level 0
    keeps the ONNX semantics (float activations); every other optimization stays on.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    if exact:
        opts.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
    data = m.SerializeToString() if isinstance(m, onnx.ModelProto) else str(m)
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def onnxruntime_diff(model: TextClassifier, m: onnx.ModelProto, ids: np.ndarray, mask: np.ndarray,
                     exact: bool = True) -> float:
    """max |onnxruntime - PyTorch eval| over the logits of one batch."""
    got = ort_session(m, exact).run([OUTPUT], {IDS: ids, MASK: mask})[0]
    model.eval()
    with torch.no_grad():
        want = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    return float(np.abs(got - want).max())


@dataclass(frozen=True)
class TransformerExportReport:
    path: Path
    run: Path
    weights: str
    embeddings: str
    heads: tuple[int, ...]
    ffn: tuple[int, ...]
    max_abs_diff: float  # onnxruntime (exact session) vs PyTorch
    default_ort_diff: float  # ... with onnxruntime's default fusions (int8 activations in MatMulNBits)


def export_transformer_run(run: Union[str, os.PathLike], path: Union[str, os.PathLike],
                           tolerance: float = TOLERANCE, seq: Optional[int] = None) -> TransformerExportReport:
    """RUN/ → model.onnx: deterministic codes, checked in onnxruntime (≤ `tolerance`) before it is written."""
    ckpt = load_transformer(run)
    model, path = ckpt.model, Path(path)
    m = to_onnx(model, f"hwgen_{ckpt.spec.weights}_transformer")
    batch = sample_batch(model, seq=seq or ckpt.spec.max_len)
    diff = onnxruntime_diff(model, m, *batch)
    if not diff <= tolerance:
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {diff:.3g} (> {tolerance:g}); not written")
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, path)
    shape = ckpt.spec.shape
    return TransformerExportReport(path, Path(run), ckpt.spec.weights, ckpt.spec.embeddings, shape.heads, shape.ffn, diff,
                                   onnxruntime_diff(model, m, *batch, exact=False))
