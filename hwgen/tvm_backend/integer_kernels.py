"""Scheduled TIR kernels of the integer LSTM: bit-exact with `IntegerModel.run`.

The arithmetic is the fixed-point model of the RTL path (`hwgen.model.integer_model`):
acc_x = W x and acc_h = R h accumulate int activations against packed ternary/binary
(or int8) codes in int32 (the lowering checks the model's worst-case accumulator width
fits), the per-row affine, shifts, saturations and the cell update run in int64, and
sigmoid/tanh are the model's own lookup tables passed in as buffers. The matrix loops get
the same schedule as the float kernels (`lstm_kernels.schedule_panel_matmul`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import tvm
from tvm import tirx
from tvm.script import tirx as T

from hwgen.model.integer_model import IntegerLayer, IntegerModel
from hwgen.tvm_backend.lstm_kernels import VECTOR, codes_per_word, decode, extent, panel_dtype, schedule_panel_matmul
from hwgen.tvm_backend.packing import PANEL, WeightKind


def int_projection(rows: int, k: int, n: Optional[int], kind: WeightKind) -> tirx.PrimFunc:
    """PrimFunc(x[n, k] int32, w panels, acc[n, rows_p] int32): acc_x of every step at once (n None: symbolic)."""
    n = extent(n, "n")
    per = codes_per_word(kind)
    words = -(-k // per)
    kp = words * per
    panels = rows // PANEL
    wdtype = panel_dtype(kind)

    @T.prim_func(s_tir=True)
    def proj(x: T.Buffer((n, k), "int32"), w: T.Buffer((panels, words, PANEL), wdtype), out: T.Buffer((n, rows), "int32")):
        T.func_attr({"tir.noalias": True})
        for p, kk, i, lane in T.grid(panels, kp, n, PANEL):
            with T.sblock("matmul"):
                vp, vk, vi, vl = T.axis.remap("SRSS", [p, kk, i, lane])
                with T.init():
                    out[vi, vp * PANEL + vl] = 0
                out[vi, vp * PANEL + vl] = out[vi, vp * PANEL + vl] + T.if_then_else(
                    vk < k, x[vi, T.min(vk, k - 1)], 0) * decode(kind, w[vp, vk // per, vl], vk % per, "int32")

    sch = tvm.s_tir.Schedule(proj)
    block = sch.get_sblock("matmul")
    p, kk, i, lane = sch.get_loops(block)
    kw, ks = sch.split(kk, [None, per])
    chain, vec = sch.split(lane, [None, VECTOR])
    sch.reorder(p, kw, ks, i, chain, vec)
    sch.vectorize(vec)
    sch.unroll(chain)
    if per > 1:
        sch.unroll(ks)
    sch.decompose_reduction(block, kw)
    return sch.mod["main"]


@dataclass(frozen=True)
class FixedPointStep:
    """TIR expressions of one time step's fixed-point arithmetic after the matvecs (IntegerModel._layer_step),
    shared by the portable and the AVX2 recurrences; all int64."""

    gate_min: int
    gate_max: int
    cell_min: int
    cell_max: int
    gate_shift: int
    cell_shift: int
    frac: int  # hidden format fraction bits (A.frac)
    up: int  # C.frac - A.frac
    table_shift: int
    table_min: int
    entries: int

    @staticmethod
    def of(model: IntegerModel, layer: IntegerLayer) -> "FixedPointStep":
        assert model.tanh.index_shift == model.sigmoid.index_shift and model.tanh.index_min == model.sigmoid.index_min
        g, c, a = model.gate_format, model.cell_format, model.hidden_format.frac
        return FixedPointStep(g.min, g.max, c.min, c.max, layer.gate.shift, layer.cell.shift, a, c.frac - a,
                              model.sigmoid.index_shift, model.sigmoid.index_min, int(model.sigmoid.values.shape[0]))

    @staticmethod
    def _sat(v: tirx.PrimExpr, lo: int, hi: int) -> tirx.PrimExpr:
        return tirx.max(tirx.min(v, _i64(hi)), _i64(lo))

    def look(self, table: tirx.Buffer, g: tirx.PrimExpr) -> tirx.PrimExpr:
        return table[tirx.shift_right(g, _i64(self.table_shift)) - _i64(self.table_min)]

    def gate(self, mult_x: tirx.PrimExpr, acc_x: tirx.PrimExpr, mult_h: tirx.PrimExpr, acc_h: tirx.PrimExpr,
             bias: tirx.PrimExpr) -> tirx.PrimExpr:
        """sat_G((mult_x acc_x + mult_h acc_h + bias) >> shift), accumulators int32."""
        pre = mult_x * tirx.Cast("int64", acc_x) + mult_h * tirx.Cast("int64", acc_h) + bias
        return self._sat(tirx.shift_right(pre, _i64(self.gate_shift)), self.gate_min, self.gate_max)

    def cell(self, sig: tirx.Buffer, tanh: tirx.Buffer, c: tirx.PrimExpr, gi: tirx.PrimExpr, gf: tirx.PrimExpr,
             gc: tirx.PrimExpr) -> tirx.PrimExpr:
        """The new cell state from the old one and the i, f, c gates."""
        rnd = _i64(1 << (self.frac - 1))
        return self._sat(tirx.shift_right(self.look(sig, gf) * c + tirx.shift_left(self.look(sig, gi) * self.look(tanh, gc),
                                                                                  _i64(self.up)) + rnd, _i64(self.frac)),
                         self.cell_min, self.cell_max)

    def hidden(self, sig: tirx.Buffer, tanh: tirx.Buffer, c: tirx.PrimExpr, go: tirx.PrimExpr, cell_mult: tirx.PrimExpr,
               cell_bias: tirx.PrimExpr) -> tirx.PrimExpr:
        """The new hidden code (int32) from the new cell state and the o gate."""
        cn = self._sat(tirx.shift_right(cell_mult * c + cell_bias, _i64(self.cell_shift)), self.gate_min, self.gate_max)
        return tirx.Cast("int32", tirx.shift_right(self.look(sig, go) * self.look(tanh, cn) + _i64(1 << (self.frac - 1)),
                                                   _i64(self.frac)))


def _i64(v: int) -> tirx.PrimExpr:
    return tirx.const(v, "int64")


def int_recurrence(model: IntegerModel, layer: IntegerLayer, steps: Optional[int], batch: Optional[int], rows: int,
                   kind: WeightKind) -> tirx.PrimFunc:
    """PrimFunc(accx[T, B, rows_p] int32, r panels, mult_x, mult_h, bias [rows_p] int64, cell_mult, cell_bias [H] int64,
    sigmoid, tanh tables int64, y[T, B, H] int32, h_n[B, H] int32): one layer's full time loop
    (steps / batch None: symbolic)."""
    steps, batch = extent(steps, "steps"), extent(batch, "batch")
    hid = layer.hidden
    per = codes_per_word(kind)
    words = -(-hid // per)
    kp = words * per
    panels = rows // PANEL
    wdtype = panel_dtype(kind)
    fx = FixedPointStep.of(model, layer)
    entries = fx.entries
    look, gate_affine, cell_state, hidden_out = fx.look, fx.gate, fx.cell, fx.hidden

    @T.prim_func(s_tir=True)
    def rec(accx: T.Buffer((steps, batch, rows), "int32"), r: T.Buffer((panels, words, PANEL), wdtype),
            mult_x: T.Buffer((rows,), "int64"), mult_h: T.Buffer((rows,), "int64"), bias: T.Buffer((rows,), "int64"),
            cell_mult: T.Buffer((hid,), "int64"), cell_bias: T.Buffer((hid,), "int64"),
            sig: T.Buffer((entries,), "int64"), tanh: T.Buffer((entries,), "int64"),
            y: T.Buffer((steps, batch, hid), "int32"), h_n: T.Buffer((batch, hid), "int32")):
        T.func_attr({"tir.noalias": True})
        hist = T.alloc_buffer((steps + 1, batch, kp), "int32")
        c = T.alloc_buffer((batch, hid), "int64")
        g = T.alloc_buffer((batch, rows), "int64")
        for t, b, u in T.grid(steps + 1, batch, kp):
            with T.sblock("init_h"):
                vt, vb, vu = T.axis.remap("SSS", [t, b, u])
                hist[vt, vb, vu] = 0
        for b, u in T.grid(batch, hid):
            with T.sblock("init_c"):
                vb, vu = T.axis.remap("SS", [b, u])
                c[vb, vu] = T.int64(0)
        for t in range(steps):
            for b, p in T.grid(batch, panels):
                with T.sblock("step_gates"):
                    st = T.axis.opaque(steps, t)
                    sb, sp = T.axis.remap("SS", [b, p])
                    acc = T.sblock_alloc_buffer((PANEL,), "int32")
                    for kk, lane in T.grid(kp, PANEL):
                        with T.sblock("gates"):
                            vt = T.axis.spatial(steps, st)
                            vb = T.axis.spatial(batch, sb)
                            vp = T.axis.spatial(panels, sp)
                            vk, vl = T.axis.remap("RS", [kk, lane])
                            with T.init():
                                acc[vl] = 0
                            acc[vl] = acc[vl] + hist[vt, vb, vk] * decode(kind, r[vp, vk // per, vl], vk % per, "int32")
                    for lane in range(PANEL):
                        with T.sblock("affine"):
                            vt = T.axis.spatial(steps, st)
                            vb = T.axis.spatial(batch, sb)
                            vp = T.axis.spatial(panels, sp)
                            vl = T.axis.remap("S", [lane])
                            g[vb, vp * PANEL + vl] = gate_affine(mult_x[vp * PANEL + vl], accx[vt, vb, vp * PANEL + vl],
                                                                 mult_h[vp * PANEL + vl], acc[vl], bias[vp * PANEL + vl])
            for b in range(batch):
                with T.sblock("step_cell"):
                    st = T.axis.opaque(steps, t)
                    sb = T.axis.remap("S", [b])
                    for u in range(hid):
                        with T.sblock("cell"):
                            vt = T.axis.spatial(steps, st)
                            vb = T.axis.spatial(batch, sb)
                            vu = T.axis.remap("S", [u])
                            c[vb, vu] = cell_state(sig, tanh, c[vb, vu], g[vb, vu], g[vb, 2 * hid + vu], g[vb, 3 * hid + vu])
                            hist[vt + 1, vb, vu] = hidden_out(sig, tanh, c[vb, vu], g[vb, hid + vu], cell_mult[vu], cell_bias[vu])
                            y[vt, vb, vu] = hist[vt + 1, vb, vu]
        for b, u in T.grid(batch, hid):
            with T.sblock("final_h"):
                vb, vu = T.axis.remap("SS", [b, u])
                h_n[vb, vu] = hist[steps, vb, vu]

    sch = tvm.s_tir.Schedule(rec)
    schedule_panel_matmul(sch, "gates", per)
    return sch.mod["main"]
