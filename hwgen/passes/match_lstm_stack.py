"""Recognise "stacked LSTM (+ dense head)" in an IR graph and pull out its parameters.

The accelerator and the integer kernels run one model shape: L forward LSTM layers of
one hidden size, then optionally one dense layer (Gemm, or MatMul + Add) and optionally a
final (Log)Softmax, which hardware leaves out since it does not change the argmax.
Between them only data-movement ops may appear. The dense layer reads either the last
step's hidden state (Y_h, or Y gathered/sliced at one step: a classifier) or every step
of the top layer's Y (`every_step`: a character-level language model, logits per step). Weights
are read through Dequantize nodes (exact codes and per-row scales), or factored out of
folded float constants when every row is ±s·{1, 0}.

`why_not(graph)` lists every reason a graph does not fit (for `hwgen inspect`);
`match_lstm_stack(graph)` returns the `LSTMStack` and checks it numerically against
the reference interpreter, so a structure that merely looks right cannot slip through.
"""

from __future__ import annotations

from collections import Counter

from dataclasses import replace
from typing import Optional

import numpy as np

from hwgen.errors import HwgenError, UnsupportedError
from hwgen.ir import ops
from hwgen.ir.graph import Graph, Node
from hwgen.ir.nonfinite import nonfinite_constants
from hwgen.ir.types import Binary, Float32, Ternary
from hwgen.model.lstm_stack import FloatHead, FloatLayer, LSTMStack

_DATA_MOVEMENT = (ops.TransposeAttrs, ops.SqueezeAttrs, ops.UnsqueezeAttrs, ops.ReshapeAttrs, ops.FlattenAttrs,
                  ops.IdentityAttrs, ops.GatherAttrs, ops.SliceAttrs)
_HEAD = (ops.GemmAttrs, ops.MatMulAttrs, ops.AddAttrs)
_FINAL = (ops.SoftmaxAttrs, ops.LogSoftmaxAttrs)
_STEP_PICK = (ops.GatherAttrs, ops.SliceAttrs)  # ops that pick one step out of Y


# ---- weights ----------------------------------------------------------------------------------


def _const(graph: Graph, name: str) -> Optional[np.ndarray]:
    c = graph.constants.get(name)
    return None if c is None else c.array


def factor_rows(w: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(codes, scale) with w == codes * scale[:, None] exactly and codes in {-1, 0, 1}, or None."""
    w = np.asarray(w, np.float32)
    scale = np.abs(w).max(axis=1)
    safe = np.where(scale > 0, scale, 1).astype(np.float32)
    codes = np.rint(w / safe[:, None]).astype(np.int8)
    if np.array_equal((codes.astype(np.float32) * safe[:, None]).astype(np.float32), w):
        return codes, scale.astype(np.float64)
    return None


def _weight(graph: Graph, name: str, what: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Codes [dirs, rows, cols] -> ([rows, cols] int8, [rows] scale, kind) for one LSTM weight input."""
    node = graph.producer(name)
    if node is not None and isinstance(node.attrs, ops.DequantizeAttrs):
        codes = _const(graph, node.inputs[0])
        scale = _const(graph, node.inputs[1])
        zp = _const(graph, node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if codes is None or scale is None:
            raise UnsupportedError(f"{what}: Dequantize node {node.name!r} must have constant codes and scale")
        if zp is not None and np.any(zp):
            raise UnsupportedError(f"{what}: Dequantize node {node.name!r} has a non-zero zero point (only symmetric weights)")
        codes2 = codes[0].astype(np.int8)
        rows = codes2.shape[0]
        if scale.size == 1:
            s = np.full(rows, float(scale.reshape(())))
        elif node.attrs.axis is not None and node.attrs.axis % codes.ndim == 1:
            s = scale.astype(np.float64)
        else:
            raise UnsupportedError(f"{what}: Dequantize node {node.name!r} scales along axis {node.attrs.axis}; "
                                   "only per-tensor or per-row (axis 1) scales are supported")
        dtype = graph.constants[node.inputs[0]].type.dtype
        kind = "binary" if isinstance(dtype, Binary) else "ternary" if isinstance(dtype, Ternary) else "int8"
        return codes2, s, kind
    w = _const(graph, name)
    if w is None:
        raise UnsupportedError(f"{what}: weight {name!r} is computed at run time; it must be a constant")
    f = factor_rows(w[0])
    if f is None:
        return w[0].astype(np.float32), np.ones(w.shape[1]), "float"
    codes, scale = f
    kind = "binary" if set(np.unique(codes).tolist()) <= {-1, 1} else "ternary"
    return codes, scale, kind


# ---- structure --------------------------------------------------------------------------------


def sequence_source(graph: Graph, first) -> tuple[bool, str]:
    """Where the first recurrent layer's sequence comes from: (batch_first, tensor name), looking through one
    [1, 0, 2] Transpose (a batch-first model's exported form)."""
    src = first.inputs[0]
    prod = graph.producer(src)
    if prod is not None and isinstance(prod.attrs, ops.TransposeAttrs) and prod.attrs.perm == (1, 0, 2):
        return True, prod.inputs[0]
    return False, src


def why_not(graph: Graph) -> list[str]:
    """Every reason this graph is not an LSTM stack (+ dense head) the accelerator can run (empty: it is)."""
    grus = [n.name for n in graph.nodes_of(ops.GRUAttrs)]
    if grus:  # one reason, not the LSTM-shape reasons a GRU graph trips in turn
        return [f"node(s) {', '.join(map(repr, grus))} are GRUs, not an LSTM stack (a GRU stack is matched by "
                "hwgen.passes.lower_gru: --target rtl and tvm build it)"]
    reasons: list[str] = []
    if len(graph.inputs) != 1:
        reasons.append(f"needs exactly one input (the sequence), the graph has {len(graph.inputs)}")
    if len(graph.outputs) != 1:
        reasons.append(f"needs exactly one output, the graph has {len(graph.outputs)}")
    lstms = list(graph.nodes_of(ops.LSTMAttrs))
    if not lstms:
        reasons.append("has no LSTM node")
    hidden = {n.attrs.hidden for n in lstms if isinstance(n.attrs, ops.LSTMAttrs)}
    if len(hidden) > 1:
        reasons.append(f"LSTM layers have different hidden sizes {sorted(hidden)}; one size for all layers is supported")
    for n in lstms:
        a = n.attrs
        assert isinstance(a, ops.LSTMAttrs)
        if a.direction != "forward":
            reasons.append(f"LSTM {n.name!r} is {a.direction}; only forward LSTMs are supported")
        if a.clip is not None:
            reasons.append(f"LSTM {n.name!r} clips gates (clip={a.clip}); not supported")
        for idx, what in ((a.INITIAL_H, "initial_h"), (a.INITIAL_C, "initial_c")):
            if idx < len(n.inputs) and n.inputs[idx]:
                v = _const(graph, n.inputs[idx])
                if v is None or np.any(v):
                    reasons.append(f"LSTM {n.name!r} has a non-zero {what}; the accelerator starts from zero state")
        for idx, what in ((a.W, "W"), (a.R, "R")):
            try:
                _, _, kind = _weight(graph, n.inputs[idx], f"LSTM {n.name!r} {what}")
            except HwgenError as err:
                reasons.append(str(err))
                continue
            if kind == "float":
                reasons.append(f"LSTM {n.name!r} {what} has float weights; the multiplier-free accelerator needs "
                               "binary/ternary codes with per-row scales (train with hwgen train, or quantize)")
    weight_feeds = {n.inputs[i] for n in lstms for i in (1, 2) if i < len(n.inputs)}
    heads = 0
    stray: list[Node] = []
    for n in graph.nodes:
        if isinstance(n.attrs, ops.LSTMAttrs) or isinstance(n.attrs, _DATA_MOVEMENT):
            continue
        if isinstance(n.attrs, ops.DequantizeAttrs) and (set(n.outputs) & weight_feeds or _const(graph, n.inputs[0]) is not None):
            continue
        if isinstance(n.attrs, (ops.GemmAttrs, ops.MatMulAttrs)):
            heads += 1
            continue
        if isinstance(n.attrs, ops.AddAttrs) or isinstance(n.attrs, _FINAL):
            continue
        stray.append(n)
    if stray:
        reasons.append(_stray_reason(stray))
    if heads > 1:
        reasons.append(f"has {heads} dense layers; one final dense layer is supported")
    return reasons


def _stray_reason(stray: list[Node], named: int = 3) -> str:
    """One line for the nodes outside an LSTM stack + dense head: the first few by name, the rest counted
    by op, so a whole transformer's refusal stays readable."""
    names = ", ".join(f"{n.name!r} ({n.op})" for n in stray[:named])
    more = f" and {len(stray) - named} more" if len(stray) > named else ""
    ops_count = Counter(n.op for n in stray)
    by_op = ", ".join(f"{op} x{k}" if k > 1 else op for op, k in ops_count.most_common())
    which = "node is" if len(stray) == 1 else f"{len(stray)} nodes are"
    return (f"{which} not part of an LSTM stack + dense head: {names}{more} [{by_op}] "
            "(supported: LSTM, Dequantize, Gemm/MatMul(+Add), (Log)Softmax, data movement)")


def _head(graph: Graph, after: list[Node]) -> tuple[Optional[FloatHead], bool]:
    gemms = [n for n in after if isinstance(n.attrs, (ops.GemmAttrs, ops.MatMulAttrs))]
    final = any(isinstance(n.attrs, _FINAL) for n in after)
    if not gemms:
        return None, final
    n = gemms[0]
    b_name = n.inputs[1]
    w = _const(graph, b_name)
    if w is None:
        prod = graph.producer(b_name)
        if prod is not None and isinstance(prod.attrs, ops.DequantizeAttrs):
            from hwgen.reference.kernels import KERNELS

            w = KERNELS[ops.DequantizeAttrs](prod.attrs, [_const(graph, i) if i else None for i in prod.inputs])[0]
    if w is None:
        raise UnsupportedError(f"dense node {n.name!r}: its weight must be a constant")
    bias = None
    if isinstance(n.attrs, ops.GemmAttrs):
        if n.attrs.trans_a:
            raise UnsupportedError(f"Gemm {n.name!r} with transA is not supported")
        w = w.T if n.attrs.trans_b else w  # [H, K]
        w = w * n.attrs.alpha
        if len(n.inputs) > 2 and n.inputs[2]:
            bias = _const(graph, n.inputs[2])
            if bias is None:
                raise UnsupportedError(f"Gemm {n.name!r}: its bias must be a constant")
            bias = np.broadcast_to(bias, (w.shape[1],)) * n.attrs.beta
    out = n.outputs[0]
    for m in after:
        if isinstance(m.attrs, ops.AddAttrs) and out in m.inputs:
            other = m.inputs[1] if m.inputs[0] == out else m.inputs[0]
            b = _const(graph, other)
            if b is None:
                raise UnsupportedError(f"Add {m.name!r} after the dense layer must add a constant bias")
            bias = (0 if bias is None else bias) + np.broadcast_to(b.reshape(-1), (w.shape[1],))
    bias = np.zeros(w.shape[1]) if bias is None else bias
    return FloatHead(np.asarray(w, np.float64).T.copy(), np.asarray(bias, np.float64).copy()), final


def _reads_every_step(graph: Graph, top: Node) -> bool:
    """Does the output depend on every step of the top LSTM? True when only its Y is read and
    no Gather/Slice picks a step out of it on the way (Y → Squeeze/Transpose/Reshape → head)."""
    y_h = top.outputs[1] if len(top.outputs) > 1 else ""
    if y_h and (graph.consumers(y_h) or y_h in {v.name for v in graph.outputs}):
        return False
    frontier, seen = [top.outputs[0]], set()
    while frontier:
        value = frontier.pop()
        if value in seen:
            continue
        seen.add(value)
        for n in graph.consumers(value):
            if isinstance(n.attrs, _STEP_PICK):
                return False
            if isinstance(n.attrs, _DATA_MOVEMENT):
                frontier.extend(n.outputs)
    return True


def _nonfinite_reasons(graph: Graph) -> list[str]:
    """NaN/Inf constants: the fixed-point weights cannot hold them, so the model is refused by their names."""
    return [f"{c}; the accelerator's fixed-point weights cannot hold it" for c in nonfinite_constants(graph)]


def match_lstm_stack(graph: Graph, check: bool = True) -> LSTMStack:
    """The LSTMStack in `graph`, or UnsupportedError listing every reason it is not one."""
    reasons = why_not(graph) + _nonfinite_reasons(graph)
    if reasons:
        raise UnsupportedError(f"graph {graph.name!r} cannot be lowered to the LSTM accelerator: " + "; ".join(reasons))
    lstms = list(graph.nodes_of(ops.LSTMAttrs))
    layers = []
    for n in lstms:
        a = n.attrs
        assert isinstance(a, ops.LSTMAttrs)
        hid = a.hidden
        wc, ws, wk = _weight(graph, n.inputs[a.W], f"LSTM {n.name!r} W")
        rc, rs, rk = _weight(graph, n.inputs[a.R], f"LSTM {n.name!r} R")
        b = _const(graph, n.inputs[a.B]) if len(n.inputs) > a.B and n.inputs[a.B] else None
        if len(n.inputs) > a.B and n.inputs[a.B] and b is None:
            raise UnsupportedError(f"LSTM {n.name!r}: bias B must be a constant")
        bias = (b[0, : 4 * hid] + b[0, 4 * hid:]).astype(np.float64) if b is not None else np.zeros(4 * hid)
        cs = np.ones(hid)
        csh = np.zeros(hid)
        if len(n.inputs) > a.CELL_SCALE and n.inputs[a.CELL_SCALE]:
            s, t = _const(graph, n.inputs[a.CELL_SCALE]), _const(graph, n.inputs[a.CELL_SHIFT])
            if s is None or t is None:
                raise UnsupportedError(f"LSTM {n.name!r}: cell_scale/cell_shift must be constants")
            cs, csh = s[0].astype(np.float64), t[0].astype(np.float64)
        kind = "int8" if "int8" in (wk, rk) else "ternary" if "ternary" in (wk, rk) else "binary"
        layers.append(FloatLayer(wc, ws, rc, rs, bias, cs, csh, kind))
    batch_first, src = sequence_source(graph, lstms[0])
    if src != graph.inputs[0].name:
        raise UnsupportedError(f"the first LSTM's input must be the graph input {graph.inputs[0].name!r} "
                               "(seq-first, or batch-first through one Transpose)")
    last_index = max(graph.nodes.index(n) for n in lstms)
    head, final = _head(graph, list(graph.nodes[last_index + 1:]))
    top = graph.nodes[last_index]
    stack = LSTMStack(tuple(layers), head, batch_first, graph.inputs[0].name, graph.outputs[0].name, final, graph.name,
                      every_step=_reads_every_step(graph, top))
    if check:
        stack = _check_against_interpreter(graph, stack, top)
    return stack


def _check_against_interpreter(graph: Graph, stack: LSTMStack, top: Node) -> LSTMStack:
    """Run graph and stack on random inputs; they must agree, or the structure was misread.

    Returns the stack with `output_batch_first` set from the layout that matched (per-step outputs)."""
    from hwgen.reference import run

    t_in = graph.inputs[0].type
    if t_in.rank != 3 or not isinstance(t_in.dtype, Float32):
        raise UnsupportedError(f"input {t_in} must be a float [seq, batch, features] or [batch, seq, features] tensor")
    dims = list(t_in.shape)
    seq_axis, batch_axis = (1, 0) if stack.batch_first else (0, 1)
    steps = dims[seq_axis] if isinstance(dims[seq_axis], int) else 3
    batch = dims[batch_axis] if isinstance(dims[batch_axis], int) else 2
    x = np.random.default_rng(1).uniform(-1, 1, (batch, steps, stack.layers[0].input_size)).astype(np.float32)
    feed = x if stack.batch_first else x.transpose(1, 0, 2)
    got = np.asarray(run(graph, {stack.input_name: feed})[stack.output_name], np.float64)
    want = stack.run_float(x)
    if got.size != want.size:
        layouts: list[tuple[bool, np.ndarray]] = []
    elif stack.every_step:  # [batch, T, K] or [T, batch, K] (also flattened, e.g. around a Gemm per step)
        layouts = [(True, got.reshape(want.shape)), (False, got.reshape(steps, batch, -1).transpose(1, 0, 2))]
    else:
        layouts = [(True, got.reshape(want.shape))]
    for batch_first, candidate in layouts:
        if stack.final_softmax:
            ok = np.array_equal(candidate.argmax(-1), want.argmax(-1))
        else:
            ok = np.allclose(candidate, want, atol=1e-3, rtol=1e-3)
        if ok:
            return replace(stack, output_batch_first=batch_first)
    what = (f"every step of LSTM {top.name!r}'s Y into the dense layer" if stack.every_step
            else f"the last step of LSTM {top.name!r} into the dense layer")
    raise UnsupportedError(f"graph {graph.name!r}: output {stack.output_name!r} is not {what} (read as such it gives "
                           f"other values{'' if got.size == want.size else f': {got.size} elements, not {want.size}'}); "
                           "ops between the layers may change values; supported: the last step (Y_h, or Y "
                           "sliced/gathered at -1) or every step (Y through Squeeze/Transpose/Reshape) into one "
                           "Gemm or MatMul(+Add)")


def accelerator_reasons(graph: Graph) -> list[str]:
    """`why_not`, then the full match: every reason the accelerator cannot take `graph` (empty: it can).

    The targets' checks use this so `hwgen inspect` reports a reason instead of failing on a
    graph that passes the quick checks but not the match (e.g. a per-step output head).
    """
    reasons = why_not(graph) + _nonfinite_reasons(graph)
    if reasons:
        return reasons
    try:
        match_lstm_stack(graph)
    except HwgenError as err:
        return [str(err)]
    return []
