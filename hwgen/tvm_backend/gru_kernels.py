"""Scheduled TIR recurrence of one GRU direction (float weights, float activations).

The input projection X·Wᵀ + Wb of every step is `gemm_kernels.projection` over float panels
(one GEMM per sequence); `recurrence` is the whole time loop in one kernel. Per step (ONNX
gate order z, r, h; R split into the z/r rows and the h rows, each in float panels):

* "step_zr": gzr = Rzr·h + Rbzr (panel matvec, scheduled like the LSTM's);
* "step_reset": z = σ(clip(Xz + gz)), r = σ(clip(Xr + gr)) and the input of the h matvec,
  r ⊙ h (linear_before_reset = 0) or h (= 1);
* "step_hh": gh = Rh·(that input) + Rbh;
* "step_cell": h~ = tanh(clip(Xh + gh)) or tanh(clip(Xh + r ⊙ gh)); h = (1 − z) ⊙ h~ + z ⊙ h.

Steps and batch may be symbolic (TIR variables bound at run time); each step's blocks are
opaque in the time loop, as in `lstm_kernels.recurrence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import tvm
from tvm import tirx
from tvm.script import tirx as T

from hwgen.tvm_backend import mathfns
from hwgen.tvm_backend.lstm_kernels import VECTOR, Extent, extent, schedule_panel_matmul
from hwgen.tvm_backend.packing import PANEL, padded_rows


@dataclass(frozen=True)
class GRUShape:
    """Sizes of one GRU direction's recurrence (the input size is the projection's only); steps / batch None: symbolic."""

    steps: Optional[int]
    batch: Optional[int]
    hidden: int


@dataclass(frozen=True)
class _GRUMath:
    """The element-wise expressions of one GRU step (time direction, clip, linear_before_reset)."""

    steps: Extent
    reverse: bool
    clip: Optional[float]
    linear_before_reset: bool

    def step(self, t: tirx.PrimExpr) -> tirx.PrimExpr:
        return self.steps - 1 - t if self.reverse else t

    def gate(self, acc: tirx.PrimExpr, pre: tirx.PrimExpr) -> tirx.PrimExpr:
        value = acc + pre
        if self.clip is None:
            return value
        return tirx.max(tirx.min(value, tirx.const(self.clip, "float32")), tirx.const(-self.clip, "float32"))

    def hh_input(self, reset: tirx.PrimExpr, h: tirx.PrimExpr) -> tirx.PrimExpr:
        return h if self.linear_before_reset else reset * h

    def candidate(self, reset: tirx.PrimExpr, gh: tirx.PrimExpr, xh: tirx.PrimExpr) -> tirx.PrimExpr:
        return mathfns.tanh(self.gate(reset * gh if self.linear_before_reset else gh, xh))


@dataclass(frozen=True)
class _Dims:
    """The recurrence's extents: batch (symbolic or not), hidden, and the z/r and h panel counts."""

    batch: Extent
    hid: int
    pzr: int
    ph: int


def _zr_stage(m: _GRUMath, d: _Dims):
    """T.macro: panel matvec gzr = Rzr·h + Rbzr (expanded once per time loop: the schedule finds blocks by name)."""
    steps, batch, hid, pzr = m.steps, d.batch, d.hid, d.pzr

    @T.macro
    def zr_stage(t, hist, rzr, rbzr, gzr):
        for b, p in T.grid(batch, pzr):
            with T.sblock("step_zr"):
                st = T.axis.opaque(steps, t)
                sb, sp = T.axis.remap("SS", [b, p])
                acc = T.sblock_alloc_buffer((PANEL,), "float32")
                for kk, lane in T.grid(hid, PANEL):
                    with T.sblock("zr"):
                        vt = T.axis.spatial(steps, st)
                        vb = T.axis.spatial(batch, sb)
                        vp = T.axis.spatial(pzr, sp)
                        vk, vl = T.axis.remap("RS", [kk, lane])
                        with T.init():
                            acc[vl] = T.float32(0)
                        acc[vl] = acc[vl] + hist[vt, vb, vk] * rzr[vp, vk, vl]
                for lane in range(PANEL):
                    with T.sblock("zr_store"):
                        vb = T.axis.spatial(batch, sb)
                        vp = T.axis.spatial(pzr, sp)
                        vl = T.axis.remap("S", [lane])
                        gzr[vb, vp * PANEL + vl] = acc[vl] + rbzr[vp * PANEL + vl]

    return zr_stage


def _reset_stage(m: _GRUMath, d: _Dims):
    """T.macro: z, r and the h matvec's input (expanded once per time loop: the schedule finds blocks by name)."""
    steps, batch, hid, sigmoid, gate, step = m.steps, d.batch, d.hid, mathfns.sigmoid, m.gate, m.step

    @T.macro
    def reset_stage(t, xw, hist, gzr, zg, rg, rin):
        for b in range(batch):
            with T.sblock("step_reset"):
                st = T.axis.opaque(steps, t)
                sb = T.axis.remap("S", [b])
                for u in range(hid):
                    with T.sblock("reset"):
                        vt = T.axis.spatial(steps, st)
                        vb = T.axis.spatial(batch, sb)
                        vu = T.axis.remap("S", [u])
                        zg[vb, vu] = sigmoid(gate(gzr[vb, vu], xw[step(vt), vb, vu]))
                        rg[vb, vu] = sigmoid(gate(gzr[vb, hid + vu], xw[step(vt), vb, hid + vu]))
                for u in range(hid):
                    with T.sblock("hh_input"):
                        vt = T.axis.spatial(steps, st)
                        vb = T.axis.spatial(batch, sb)
                        vu = T.axis.remap("S", [u])
                        rin[vb, vu] = m.hh_input(rg[vb, vu], hist[vt, vb, vu])

    return reset_stage


def _hh_stage(m: _GRUMath, d: _Dims):
    """T.macro: panel matvec gh = Rh·input + Rbh (expanded once per time loop: the schedule finds blocks by name)."""
    steps, batch, hid, ph = m.steps, d.batch, d.hid, d.ph

    @T.macro
    def hh_stage(t, rin, rh, rbh, gh):
        for b, p in T.grid(batch, ph):
            with T.sblock("step_hh"):
                st = T.axis.opaque(steps, t)
                sb, sp = T.axis.remap("SS", [b, p])
                acc = T.sblock_alloc_buffer((PANEL,), "float32")
                for kk, lane in T.grid(hid, PANEL):
                    with T.sblock("hh"):
                        vb = T.axis.spatial(batch, sb)
                        vp = T.axis.spatial(ph, sp)
                        vk, vl = T.axis.remap("RS", [kk, lane])
                        with T.init():
                            acc[vl] = T.float32(0)
                        acc[vl] = acc[vl] + rin[vb, vk] * rh[vp, vk, vl]
                for lane in range(PANEL):
                    with T.sblock("hh_store"):
                        vb = T.axis.spatial(batch, sb)
                        vp = T.axis.spatial(ph, sp)
                        vl = T.axis.remap("S", [lane])
                        gh[vb, vp * PANEL + vl] = acc[vl] + rbh[vp * PANEL + vl]

    return hh_stage


def _cell_stage(m: _GRUMath, d: _Dims):
    """T.macro: h~ and the new h, written to the history and y (expanded once per time loop: the schedule finds blocks by name)."""
    steps, batch, hid, step = m.steps, d.batch, d.hid, m.step

    @T.macro
    def cell_stage(t, xw, hist, zg, rg, gh, y):
        for b in range(batch):
            with T.sblock("step_cell"):
                st = T.axis.opaque(steps, t)
                sb = T.axis.remap("S", [b])
                hnew = T.sblock_alloc_buffer((hid,), "float32")
                for u in range(hid):
                    with T.sblock("cell"):
                        vt = T.axis.spatial(steps, st)
                        vb = T.axis.spatial(batch, sb)
                        vu = T.axis.remap("S", [u])
                        hnew[vu] = ((T.float32(1) - zg[vb, vu])
                                    * m.candidate(rg[vb, vu], gh[vb, vu], xw[step(vt), vb, 2 * hid + vu])
                                    + zg[vb, vu] * hist[vt, vb, vu])
                for u in range(hid):
                    with T.sblock("cell_y"):
                        vt = T.axis.spatial(steps, st)
                        vb = T.axis.spatial(batch, sb)
                        vu = T.axis.remap("S", [u])
                        hist[vt + 1, vb, vu] = hnew[vu]
                        y[step(vt), vb, vu] = hnew[vu]

    return cell_stage


def recurrence(shape: GRUShape, reverse: bool, linear_before_reset: bool, clip: Optional[float]) -> tirx.PrimFunc:
    """PrimFunc(xw[T, B, rows3], rzr panels, rbzr[rows_zr], rh panels, rbh[rows_h], h0[B, H], y[T, B, H], h_n[B, H]):
    the full time loop of one direction; rows3 = padded_rows(3H) (xw: X·Wᵀ + Wb, gates z, r, h),
    rzr = R[:2H] and rh = R[2H:] as float panels (`packing.pack_float`)."""
    steps, batch, hid = extent(shape.steps, "steps"), extent(shape.batch, "batch"), shape.hidden
    rows3, rows_zr, rows_h = padded_rows(3 * hid), padded_rows(2 * hid), padded_rows(hid)
    pzr, ph = rows_zr // PANEL, rows_h // PANEL
    m, d = _GRUMath(steps, reverse, clip, linear_before_reset), _Dims(batch, hid, pzr, ph)
    zr_stage, reset_stage, hh_stage, cell_stage = _zr_stage(m, d), _reset_stage(m, d), _hh_stage(m, d), _cell_stage(m, d)

    @T.prim_func(s_tir=True)
    def rec(xw: T.Buffer((steps, batch, rows3), "float32"), rzr: T.Buffer((pzr, hid, PANEL), "float32"),
            rbzr: T.Buffer((rows_zr,), "float32"), rh: T.Buffer((ph, hid, PANEL), "float32"),
            rbh: T.Buffer((rows_h,), "float32"), h0: T.Buffer((batch, hid), "float32"),
            y: T.Buffer((steps, batch, hid), "float32"), h_n: T.Buffer((batch, hid), "float32")):
        T.func_attr({"tir.noalias": True})
        hist = T.alloc_buffer((steps + 1, batch, hid), "float32")
        gzr = T.alloc_buffer((batch, rows_zr), "float32")
        gh = T.alloc_buffer((batch, rows_h), "float32")
        zg = T.alloc_buffer((batch, hid), "float32")
        rg = T.alloc_buffer((batch, hid), "float32")
        rin = T.alloc_buffer((batch, hid), "float32")
        for b, u in T.grid(batch, hid):
            with T.sblock("init_h"):
                vb, vu = T.axis.remap("SS", [b, u])
                hist[0, vb, vu] = h0[vb, vu]
        for t in range(steps):
            zr_stage(t, hist, rzr, rbzr, gzr)
            reset_stage(t, xw, hist, gzr, zg, rg, rin)
            hh_stage(t, rin, rh, rbh, gh)
            cell_stage(t, xw, hist, zg, rg, gh, y)
        for b, u in T.grid(batch, hid):
            with T.sblock("final_h"):
                vb, vu = T.axis.remap("SS", [b, u])
                h_n[vb, vu] = hist[steps, vb, vu]

    return _schedule(tvm.s_tir.Schedule(rec)).mod["main"].with_attr(
        "global_symbol", f"gru_recurrence_{'rev' if reverse else 'fwd'}")


def _schedule(sch: tvm.s_tir.Schedule) -> tvm.s_tir.Schedule:
    for matmul, store in (("zr", "zr_store"), ("hh", "hh_store")):
        schedule_panel_matmul(sch, matmul, 1)
        _, sv = sch.split(sch.get_loops(sch.get_sblock(store))[-1], [None, VECTOR])
        sch.vectorize(sv)
    for name in ("reset", "hh_input", "cell", "cell_y"):
        _, cv = sch.split(sch.get_loops(sch.get_sblock(name))[-1], [None, VECTOR])
        sch.vectorize(cv)
    return sch
