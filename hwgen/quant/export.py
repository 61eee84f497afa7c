"""ONNX export of a trained quantized LSTM or GRU, checked against PyTorch with onnxruntime.

Layout of the written model (opset 17, IR version 9 so onnxruntime 1.31 reads it):

    x [batch, T, X] → Transpose → layer 0 → Squeeze → layer 1 → ... → head → logits
    layer k:  W = DequantizeLinear(lstm{k}.W_codes int8 [1,4H,X], lstm{k}.W_scale [4H], axis=1)
              R = DequantizeLinear(lstm{k}.R_codes int8 [1,4H,H], lstm{k}.R_scale [4H], axis=1)
              with BN: hwgen.BNLSTM(x, W, R, B, "", "", cell_scale, cell_shift) (model-local function)
              without: standard ONNX LSTM(x, W, R, B)        float weights are plain initializers
    GRU layer k (gru{k}.*, W and R [1,3H,·] likewise): standard ONNX GRU(x, W, R, B), linear_before_reset=1,
              with or without BN (a folded BN-GRU has no cell affine, so it needs no function)
    head:     digits: Gemm(Y_h of the last layer) → [batch, 10]
              charlm: MatMul + Add on every step   → [batch, T, V]

Every BN is folded (see :mod:`hwgen.quant.fold`) into per-row affines shared over time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from hwgen.errors import HwgenError
from hwgen.quant.checkpoint import load_checkpoint
from hwgen.quant.errors import CheckpointError
from hwgen.quant.fold import FoldedLayer, FoldedMatrix, fold_layer
from hwgen.quant.model import QuantLSTMModel
from hwgen.quant.onnx_function import DOMAIN, OP, OPSET, bnlstm_function

IR_VERSION = 9
INPUT, OUTPUT = "x", "logits"


class ExportError(HwgenError):
    """The exported model does not reproduce PyTorch (a bug, reported with the numbers)."""


def _init(inits: list[onnx.TensorProto], name: str, array: np.ndarray) -> str:
    inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
    return name


def _weight(nodes: list, inits: list, prefix: str, m: FoldedMatrix) -> str:
    if not m.quantized:
        return _init(inits, f"{prefix}", m.values[None])
    assert m.codes is not None and m.scale is not None
    codes = _init(inits, f"{prefix}_codes", m.codes[None].astype(np.int8))
    scale = _init(inits, f"{prefix}_scale", m.scale.astype(np.float32))
    nodes.append(helper.make_node("DequantizeLinear", [codes, scale], [prefix], name=f"{prefix}_dequant", axis=1))
    return prefix


def _layer(nodes: list, inits: list, k: int, layer: FoldedLayer, x: str, want: str) -> str:
    """Append layer k; returns Y squeezed to [T, B, H] (want "y") or Y_h squeezed to [B, H] (want "h")."""
    p = f"{layer.cell}{k}"
    w = _weight(nodes, inits, f"{p}.W", layer.w)
    r = _weight(nodes, inits, f"{p}.R", layer.r)
    b = _init(inits, f"{p}.B", layer.b[None])
    outs = [f"{p}.Y", f"{p}.Y_h", f"{p}.Y_c"]
    if layer.cell == "gru":
        outs = outs[:2]
        nodes.append(helper.make_node("GRU", [x, w, r, b], outs, name=p, hidden_size=layer.hidden, linear_before_reset=1))
    elif layer.cell_scale is not None and layer.cell_shift is not None:
        cs = _init(inits, f"{p}.cell_scale", layer.cell_scale[None])
        csh = _init(inits, f"{p}.cell_shift", layer.cell_shift[None])
        nodes.append(helper.make_node(OP, [x, w, r, b, "", "", cs, csh], outs, name=p, domain=DOMAIN))
    else:
        nodes.append(helper.make_node("LSTM", [x, w, r, b], outs, name=p, hidden_size=layer.hidden))
    axis, src = (1, outs[0]) if want == "y" else (0, outs[1])
    axes = _init(inits, f"{p}.axes", np.array([axis], np.int64))
    nodes.append(helper.make_node("Squeeze", [src, axes], [f"{p}.{want}"], name=f"{p}_squeeze_{want}"))
    return f"{p}.{want}"


@torch.no_grad()
def to_onnx(model: QuantLSTMModel) -> onnx.ModelProto:
    """The eval-mode model (time-shared BN statistics, deterministic codes of its current weights) as ONNX."""
    cfg = model.config
    model.eval()
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    nodes.append(helper.make_node("Transpose", [INPUT], ["x_seq"], name="to_seq_first", perm=[1, 0, 2]))
    y = "x_seq"
    for k, layer in enumerate(model.layers):
        last = k == len(model.layers) - 1
        y = _layer(nodes, inits, k, fold_layer(layer), y, "h" if last and cfg.task == "digits" else "y")
    h = y
    wfc = model.head.weight.numpy().astype(np.float32)
    bfc = model.head.bias.numpy().astype(np.float32)
    steps: Union[int, str]
    if cfg.task == "digits":
        steps = cfg.steps
        _init(inits, "head.W", wfc)
        _init(inits, "head.b", bfc)
        nodes.append(helper.make_node("Gemm", [h, "head.W", "head.b"], [OUTPUT], name="head", transB=1))
        out_shape: list[Union[int, str]] = ["batch", cfg.outputs]
    else:
        steps = "steps"
        _init(inits, "head.Wt", wfc.T.copy())
        _init(inits, "head.b", bfc)
        nodes.append(helper.make_node("Transpose", [y], ["y_batch_first"], name="to_batch_first", perm=[1, 0, 2]))
        nodes.append(helper.make_node("MatMul", ["y_batch_first", "head.Wt"], ["head_mm"], name="head_matmul"))
        nodes.append(helper.make_node("Add", ["head_mm", "head.b"], [OUTPUT], name="head_bias"))
        out_shape = ["batch", steps, cfg.outputs]
    graph = helper.make_graph(
        nodes, f"hwgen_{cfg.task}_{cfg.weights}_{cfg.cell}",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", steps, cfg.input_size])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, out_shape)], inits)
    opsets = [helper.make_opsetid("", OPSET)]
    functions = []
    if cfg.bn and cfg.cell == "lstm":
        opsets.append(helper.make_opsetid(DOMAIN, 1))
        functions.append(bnlstm_function())
    m = helper.make_model(graph, opset_imports=opsets, functions=functions, producer_name="hwgen.quant",
                          doc_string=f"{cfg.task} {cfg.cell.upper()}, {cfg.weights} weights, hidden {cfg.hidden}, "
                                     f"{cfg.layers} layer(s), batch norm {'folded' if cfg.bn else 'none'}")
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m)
    return m


def sample_input(model: QuantLSTMModel, batch: int = 4, steps: Optional[int] = None, seed: int = 0) -> np.ndarray:
    """A valid input: digits-like pixels in [0, 1], or one-hot characters for char-LM."""
    cfg = model.config
    rng = np.random.default_rng(seed)
    t = steps or (cfg.steps if cfg.task == "digits" else min(cfg.steps, 32))
    if cfg.task == "digits":
        return rng.random((batch, t, cfg.input_size), dtype=np.float32)
    ids = rng.integers(0, cfg.input_size, (batch, t))
    return np.eye(cfg.input_size, dtype=np.float32)[ids]


def onnxruntime_diff(model: QuantLSTMModel, onnx_model: onnx.ModelProto, x: np.ndarray) -> float:
    """max |onnxruntime(x) - PyTorch eval(x)| over the logits."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT], {INPUT: x})[0]
    model.eval()
    model.set_bn_stats("shared")
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    return float(np.abs(got - want).max())


@dataclass(frozen=True)
class ExportReport:
    path: Path
    run: Path
    weights: str
    bn: bool
    frozen: str  # "deterministic" or "stochastic sample (seed N)"
    max_abs_diff: float  # onnxruntime vs PyTorch eval on a sample batch
    metric: Optional[str] = None
    folded: Optional[float] = None  # task metric with time-shared (folded) BN statistics
    per_step: Optional[float] = None  # ... with per-step statistics
    cell: str = "lstm"


def export_model(model: QuantLSTMModel, path: Union[str, os.PathLike], tolerance: float = 1e-5) -> tuple[Path, float]:
    """Write `model` to `path` and check it in onnxruntime; raises ExportError beyond `tolerance`."""
    path = Path(path)
    m = to_onnx(model)
    diff = onnxruntime_diff(model, m, sample_input(model))
    if not diff <= tolerance:
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {diff:.3g} (> {tolerance:g}); not written")
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, path)
    return path, diff


def export_run(run: Union[str, os.PathLike], path: Union[str, os.PathLike], sample_seed: Optional[int] = None,
               evaluate_metric: bool = True) -> ExportReport:
    """RUN/ → model.onnx: freeze one weight sample (deterministic unless `sample_seed`), fold BN, check, write."""
    ckpt = load_checkpoint(run)
    model = ckpt.model
    stochastic = sample_seed is not None
    model.freeze(stochastic=stochastic, seed=sample_seed or 0)
    folded = per_step = None
    metric = None
    if evaluate_metric:
        metric, folded, per_step = _metrics(model, ckpt.train_config, ckpt.vocab, Path(run))
    out, diff = export_model(model, path)
    return ExportReport(out, Path(run), model.config.weights, model.config.bn,
                        f"stochastic sample (seed {sample_seed})" if stochastic else "deterministic",
                        diff, metric, folded, per_step, model.config.cell)


def _metrics(model: QuantLSTMModel, train_config: dict, vocab: Optional[bytes],
             run: Path) -> tuple[str, float, Optional[float]]:
    from hwgen.quant.data import CharCorpus
    from hwgen.quant.train import TrainConfig, evaluate, load_task_data

    known = {k: v for k, v in train_config.items() if k in TrainConfig.__dataclass_fields__}
    known["corpus"] = tuple(known.get("corpus", ()))
    known["progress"] = False
    known.pop("fold_epochs", None)
    config = TrainConfig(**known)
    data = load_task_data(config)
    if isinstance(data, CharCorpus) and data.vocab != vocab:
        raise CheckpointError(f"{run}: the corpus found now ({data.source}) is not the one this model was trained on "
                              "(its vocabulary differs); export with --no-eval, or train with an explicit --corpus")
    name = "accuracy" if model.config.task == "digits" else "bpc"
    folded = evaluate(model, data, config, bn_stats="shared")
    per_step = evaluate(model, data, config, bn_stats="per_step") if model.config.bn else None
    return name, folded, per_step
