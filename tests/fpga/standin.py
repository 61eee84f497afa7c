"""A tiny accelerator with the contract's ports, for testing the host link on its own.

Per sequence it accumulates ``acc[o] += T[o, i] * x[t, i]`` over all steps with ternary
codes T held in a register file written through ``wmem_we/wmem_addr/wmem_data``
(code 1: +1, 3: -1, 0: skip), then streams ``acc`` out. :func:`reference` is its
numpy spec; together they exercise weight upload, both streams and ``*_last``.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Array, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class TernaryDenseStream(wiring.Component):
    def __init__(self, inputs: int = 3, outputs: int = 2, in_width: int = 8, out_width: int = 16,
                 weights_in_ram: bool = True):
        self.inputs, self.outputs = inputs, outputs
        members = {
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(signed(in_width)), "in_last": In(1),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(out_width)), "out_last": Out(1),
        }
        if weights_in_ram:
            members.update({"wmem_we": In(1), "wmem_addr": In(8), "wmem_data": In(2)})
        self.weights_in_ram = weights_in_ram
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        n_w = self.inputs * self.outputs
        codes = Array(Signal(2, name=f"w{k}", init=1 if not self.weights_in_ram else 0) for k in range(n_w))
        acc = Array(Signal(signed(len(self.out_data)), name=f"acc{o}") for o in range(self.outputs))
        col = Signal(range(self.inputs))
        emit = Signal(range(self.outputs))
        if self.weights_in_ram:
            with m.If(self.wmem_we):
                m.d.sync += codes[self.wmem_addr].eq(self.wmem_data)
        with m.FSM():
            with m.State("IN"):
                m.d.comb += self.in_ready.eq(1)
                with m.If(self.in_valid):
                    for o in range(self.outputs):
                        code = codes[o * self.inputs + col]
                        with m.If(code == 1):
                            m.d.sync += acc[o].eq(acc[o] + self.in_data)
                        with m.Elif(code == 3):
                            m.d.sync += acc[o].eq(acc[o] - self.in_data)
                    m.d.sync += col.eq(col + 1)
                    with m.If(col == self.inputs - 1):
                        m.d.sync += col.eq(0)
                    with m.If(self.in_last):
                        m.d.sync += emit.eq(0)
                        m.next = "OUT"
            with m.State("OUT"):
                m.d.comb += [self.out_valid.eq(1), self.out_data.eq(acc[emit]),
                             self.out_last.eq(emit == self.outputs - 1)]
                with m.If(self.out_ready):
                    m.d.sync += emit.eq(emit + 1)
                    with m.If(emit == self.outputs - 1):
                        m.d.sync += [a.eq(0) for a in acc]
                        m.next = "IN"
        return m


def reference(codes: np.ndarray, x: np.ndarray, out_width: int = 16) -> np.ndarray:
    """``codes`` (outputs, inputs) in {0, 1, 3}; ``x`` (steps, inputs) -> (outputs,) wrapped to out_width."""
    t = np.where(codes == 1, 1, np.where(codes == 3, -1, 0))
    acc = (t @ x.T.astype(np.int64)).sum(axis=1)
    return ((acc + (1 << (out_width - 1))) % (1 << out_width)) - (1 << (out_width - 1))
