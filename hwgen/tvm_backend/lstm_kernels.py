"""Scheduled TIR kernels of one LSTM direction (float activations).

Two kernels per direction, chosen for what is fast at batch 1:

* the input projection of *all* time steps at once, `gemm_kernels.projection`,
  XW[n, j] = wscale[j] * sum_k X[n, k] W[j, k] + bias[j] with n = (t, b);
* `recurrence`: the whole time loop in one kernel (no per-step calls, state stays in
  cache): gates = XW[t] + rscale * (R h) with R packed in panels, then the cell update
  with vectorised exp/tanh (`mathfns`).

The matrix loops are plain TIR blocks scheduled with `tvm.s_tir.Schedule`: the k loop is
split by the codes per word and unrolled (every shift becomes a constant), the PANEL rows
are split into `VECTOR`-lane vectors (vectorised) and unrolled chains (independent FMA
chains hide latency), and the reduction init is hoisted. Accumulators are a PANEL-float
block buffer in the default ("global") scope: TVM puts small global buffers on the stack,
where LLVM keeps them in registers ("local" buffers go to the heap workspace and were
stored back after every FMA). Each step is wrapped in opaque blocks so the time loop's
write-after-read dependency on the state stays outside the scheduled scopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import tvm
from tvm import tirx
from tvm.script import tirx as T

from hwgen.tvm_backend import mathfns
from hwgen.tvm_backend.packing import BITS, PANEL, WeightKind

#: float32 lanes per vector the schedules aim at (AVX2: 8; NEON splits into 2x4).
VECTOR = 8


@dataclass(frozen=True)
class LSTMShape:
    """Sizes of one LSTM direction; steps / batch None: symbolic (a TIR variable in the kernels)."""

    steps: Optional[int]
    batch: Optional[int]
    input: int
    hidden: int

    @property
    def gates(self) -> int:
        return 4 * self.hidden


def codes_per_word(kind: WeightKind) -> int:
    return 32 // BITS[kind] if kind in BITS else 1


def panel_dtype(kind: WeightKind) -> str:
    return {"float": "float32", "int8": "int8"}.get(kind, "int32")


def decode(kind: WeightKind, w: tirx.PrimExpr, sub: tirx.PrimExpr, dtype: str = "float32") -> tirx.PrimExpr:
    """The value (-1, 0, +1, the float weight or the int8 code) of code `sub` inside word `w`, as `dtype`."""
    if kind == "float":
        return w
    if kind == "int8":
        return tirx.Cast(dtype, w)
    bits = BITS[kind]
    field = tirx.shift_right(tirx.shift_left(w, tirx.const(32 - bits, "int32") - sub * bits), tirx.const(32 - bits, "int32"))
    if kind == "binary":
        field = tirx.bitwise_or(field, tirx.const(1, "int32"))
    return field if dtype == "int32" else tirx.Cast(dtype, field)


def _words(k: int, kind: WeightKind) -> int:
    per = codes_per_word(kind)
    return -(-k // per)


#: A loop extent: a size fixed at build time, or a symbolic size (a TIR variable bound at run time).
Extent = Union[int, tirx.Var]


def extent(size: Optional[int], name: str) -> Extent:
    """`size`, or a fresh int64 TIR variable `name` for a symbolic size (None)."""
    return int(size) if size is not None else tirx.Var(name, "int64")


def schedule_panel_matmul(sch: tvm.s_tir.Schedule, name: str, per: int) -> None:
    """The recurrent matvec schedule: k split by codes per word (inner part unrolled, so every shift
    is a constant), PANEL lanes split into unrolled chains of VECTOR-wide vectors, init hoisted."""
    block = sch.get_sblock(name)
    kk, lane = sch.get_loops(block)[-2:]
    kw, ks = sch.split(kk, [None, per])
    chain, vec = sch.split(lane, [None, VECTOR])
    sch.vectorize(vec)
    sch.unroll(chain)
    if per > 1:
        sch.unroll(ks)
    sch.decompose_reduction(block, kw)


def matvec(rows: int, k: int, kind: WeightKind) -> tirx.PrimFunc:
    """PrimFunc(h[k], w panels, scale[rows_p], out[rows_p]): one recurrent matvec, scheduled exactly as
    inside `recurrence` (the benchmark compares it with a hand-written C microkernel)."""
    per = codes_per_word(kind)
    words = -(-k // per)
    kp = words * per
    panels = rows // PANEL
    wdtype = panel_dtype(kind)

    @T.prim_func(s_tir=True)
    def mv(h: T.Buffer((kp,), "float32"), w: T.Buffer((panels, words, PANEL), wdtype), scale: T.Buffer((rows,), "float32"),
           out: T.Buffer((rows,), "float32")):
        T.func_attr({"tir.noalias": True})
        for p in range(panels):
            with T.sblock("panel"):
                sp = T.axis.remap("S", [p])
                acc = T.sblock_alloc_buffer((PANEL,), "float32")
                for kk, lane in T.grid(kp, PANEL):
                    with T.sblock("gates"):
                        vp = T.axis.spatial(panels, sp)
                        vk, vl = T.axis.remap("RS", [kk, lane])
                        with T.init():
                            acc[vl] = T.float32(0)
                        acc[vl] = acc[vl] + h[vk] * decode(kind, w[vp, vk // per, vl], vk % per)
                for lane in range(PANEL):
                    with T.sblock("store"):
                        vp = T.axis.spatial(panels, sp)
                        vl = T.axis.remap("S", [lane])
                        out[vp * PANEL + vl] = acc[vl] * scale[vp * PANEL + vl]

    sch = tvm.s_tir.Schedule(mv)
    schedule_panel_matmul(sch, "gates", per)
    _, sv = sch.split(sch.get_loops(sch.get_sblock("store"))[-1], [None, VECTOR])
    sch.vectorize(sv)
    return sch.mod["main"].with_attr("global_symbol", f"matvec_{kind}")


@dataclass(frozen=True)
class _CellMath:
    """The element-wise expressions of one LSTM cell step (gate clip, cell affine, time direction)."""

    steps: Extent
    reverse: bool
    clip: Optional[float]
    cell_affine: bool

    def step(self, t: tirx.PrimExpr) -> tirx.PrimExpr:
        return self.steps - 1 - t if self.reverse else t

    def cell(self, c: tirx.PrimExpr, scale: tirx.PrimExpr, shift: tirx.PrimExpr) -> tirx.PrimExpr:
        return c * scale + shift if self.cell_affine else c

    def gate(self, acc: tirx.PrimExpr, pre: tirx.PrimExpr) -> tirx.PrimExpr:
        value = acc + pre
        if self.clip is None:
            return value
        return tirx.max(tirx.min(value, tirx.const(self.clip, "float32")), tirx.const(-self.clip, "float32"))


def recurrence(shape: LSTMShape, rows: int, kind: WeightKind, reverse: bool, clip: Optional[float],
               cell_affine: bool) -> tirx.PrimFunc:
    """PrimFunc(xw[T, B, rows_p], r panels, rscale[rows_p], cscale[H], cshift[H], h0[B, H], c0[B, H],
    y[T, B, H], h_n[B, H], c_n[B, H]): the full time loop of one direction. shape.steps / shape.batch
    None: symbolic (the kernel runs any sequence length / batch size)."""
    steps, batch, hid = extent(shape.steps, "steps"), extent(shape.batch, "batch"), shape.hidden
    per = codes_per_word(kind)
    kp = _words(hid, kind) * per
    panels = rows // PANEL
    wdtype = panel_dtype(kind)
    m = _CellMath(steps, reverse, clip, cell_affine)
    sigmoid, tanh, gate, step = mathfns.sigmoid, mathfns.tanh, m.gate, m.step

    # The hidden state lives in a history buffer hist[t] (h before step t, zero-padded to the packed
    # K). Each step is two opaque blocks, "step_gates" (per panel) and "step_cell", so that the blocks
    # the schedule touches sit in scopes without the time loop's write-after-read dependency.
    @T.prim_func(s_tir=True)
    def rec(xw: T.Buffer((steps, batch, rows), "float32"), r: T.Buffer((panels, kp // per, PANEL), wdtype),
            rscale: T.Buffer((rows,), "float32"), cscale: T.Buffer((hid,), "float32"), cshift: T.Buffer((hid,), "float32"),
            h0: T.Buffer((batch, hid), "float32"), c0: T.Buffer((batch, hid), "float32"),
            y: T.Buffer((steps, batch, hid), "float32"), h_n: T.Buffer((batch, hid), "float32"),
            c_n: T.Buffer((batch, hid), "float32")):
        T.func_attr({"tir.noalias": True})
        hist = T.alloc_buffer((steps + 1, batch, kp), "float32")
        g = T.alloc_buffer((batch, rows), "float32")
        for t, b, u in T.grid(steps + 1, batch, kp):
            with T.sblock("init_h"):
                vt, vb, vu = T.axis.remap("SSS", [t, b, u])
                hist[vt, vb, vu] = T.if_then_else(vt == 0 and vu < hid, h0[vb, T.min(vu, hid - 1)], T.float32(0))
        for b, u in T.grid(batch, hid):
            with T.sblock("init_c"):
                vb, vu = T.axis.remap("SS", [b, u])
                c_n[vb, vu] = c0[vb, vu]
        for t in range(steps):
            for b, p in T.grid(batch, panels):
                with T.sblock("step_gates"):
                    st = T.axis.opaque(steps, t)
                    sb, sp = T.axis.remap("SS", [b, p])
                    acc = T.sblock_alloc_buffer((PANEL,), "float32")
                    for kk, lane in T.grid(kp, PANEL):
                        with T.sblock("gates"):
                            vt = T.axis.spatial(steps, st)
                            vb = T.axis.spatial(batch, sb)
                            vp = T.axis.spatial(panels, sp)
                            vk, vl = T.axis.remap("RS", [kk, lane])
                            with T.init():
                                acc[vl] = T.float32(0)
                            acc[vl] = acc[vl] + hist[vt, vb, vk] * decode(kind, r[vp, vk // per, vl], vk % per)
                    for lane in range(PANEL):
                        with T.sblock("store"):
                            vb = T.axis.spatial(batch, sb)
                            vp = T.axis.spatial(panels, sp)
                            vl = T.axis.remap("S", [lane])
                            g[vb, vp * PANEL + vl] = acc[vl] * rscale[vp * PANEL + vl]
            for b in range(batch):
                with T.sblock("step_cell"):
                    st = T.axis.opaque(steps, t)
                    sb = T.axis.remap("S", [b])
                    ctmp = T.sblock_alloc_buffer((hid,), "float32")
                    for u in range(hid):
                        with T.sblock("cell_c"):
                            vt = T.axis.spatial(steps, st)
                            vb = T.axis.spatial(batch, sb)
                            vu = T.axis.remap("S", [u])
                            ctmp[vu] = (sigmoid(gate(g[vb, 2 * hid + vu], xw[step(vt), vb, 2 * hid + vu])) * c_n[vb, vu]
                                        + sigmoid(gate(g[vb, vu], xw[step(vt), vb, vu]))
                                        * tanh(gate(g[vb, 3 * hid + vu], xw[step(vt), vb, 3 * hid + vu])))
                    for u in range(hid):
                        with T.sblock("cell_h"):
                            vt = T.axis.spatial(steps, st)
                            vb = T.axis.spatial(batch, sb)
                            vu = T.axis.remap("S", [u])
                            hist[vt + 1, vb, vu] = (sigmoid(gate(g[vb, hid + vu], xw[step(vt), vb, hid + vu]))
                                                    * tanh(m.cell(ctmp[vu], cscale[vu], cshift[vu])))
                            c_n[vb, vu] = ctmp[vu]
                    for u in range(hid):
                        with T.sblock("cell_y"):
                            vt = T.axis.spatial(steps, st)
                            vb = T.axis.spatial(batch, sb)
                            vu = T.axis.remap("S", [u])
                            y[step(vt), vb, vu] = hist[vt + 1, vb, vu]
        for b, u in T.grid(batch, hid):
            with T.sblock("final_h"):
                vb, vu = T.axis.remap("SS", [b, u])
                h_n[vb, vu] = hist[steps, vb, vu]

    return _schedule_recurrence(tvm.s_tir.Schedule(rec), per).mod["main"].with_attr(
        "global_symbol", f"lstm_recurrence_{kind}_{'rev' if reverse else 'fwd'}")


def _schedule_recurrence(sch: tvm.s_tir.Schedule, per: int) -> tvm.s_tir.Schedule:
    schedule_panel_matmul(sch, "gates", per)
    _, sv = sch.split(sch.get_loops(sch.get_sblock("store"))[-1], [None, VECTOR])
    sch.vectorize(sv)
    for name in ("cell_c", "cell_h", "cell_y"):
        _, cv = sch.split(sch.get_loops(sch.get_sblock(name))[-1], [None, VECTOR])
        sch.vectorize(cv)
    return sch
