"""The per-lane weight "multiply": add / subtract / skip (ternary, binary) or a MAC (int8).

Ternary codes are 2-bit two's complement (+1 = 01, -1 = 11, 0 = 00): bit 0 says
"use the value", bit 1 says "negate". Binary codes are 1 bit (0 = +1, 1 = -1). Negation
is XOR with all ones; the +1 that completes each two's-complement negation is not added
per lane but counted (`carries`) and enters the adder tree as one more leaf — so no
subtractor sits in front of the tree. The int8 baseline multiplies (one multiplier per lane).

Ports: `values` in, lanes × signed(act_bits); `codes` in, lanes × weight bits; registered
outputs `terms` (lanes × term width) and `carries` (popcount of negated lanes; 0 for int8).
Latency 1 (`carries`: `carry_latency`, 1 or 2; 2 splits the popcount over two registers).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.pipeline import clog2

WEIGHT_BITS = {"binary": 1, "ternary": 2, "int8": 8}


def encode_code(code: int, kind: str) -> int:
    """The memory bits of one weight code."""
    if kind == "binary":
        if code not in (-1, 1):
            raise ValueError(f"binary code must be ±1, got {code}")
        return 1 if code < 0 else 0
    if kind == "ternary":
        if code not in (-1, 0, 1):
            raise ValueError(f"ternary code must be in -1..1, got {code}")
        return code & 3
    if not -128 <= code <= 127:
        raise ValueError(f"int8 code out of range: {code}")
    return code & 0xFF


class Lanes(wiring.Component):
    def __init__(self, lanes: int, act_bits: int, kind: str, carry_latency: int = 1) -> None:
        if carry_latency not in (1, 2):
            raise ValueError(f"carry_latency must be 1 or 2, not {carry_latency}")
        self.lanes, self.act_bits, self.kind, self.carry_latency = lanes, act_bits, kind, carry_latency
        self.wbits = WEIGHT_BITS[kind]
        self.term_bits = act_bits + 8 if kind == "int8" else act_bits
        super().__init__({
            "values": In(signed(act_bits)).array(lanes),
            "codes": In(unsigned(self.wbits)).array(lanes),
            "terms": Out(signed(self.term_bits)).array(lanes),
            "carries": Out(unsigned(clog2(lanes + 1) + 1)),
        })

    latency = 1

    def elaborate(self, platform: object) -> Module:
        m = Module()
        if self.kind == "int8":
            for v, c, t in zip(self.values, self.codes, self.terms):
                m.d.sync += t.eq(v * c.as_signed())
            m.d.sync += self.carries.eq(0)
            return m
        negs = []
        for v, c, t in zip(self.values, self.codes, self.terms):
            use = c[0] if self.kind == "ternary" else Const(1, 1)
            neg = c[1] if self.kind == "ternary" else c[0]
            flipped = (v.as_unsigned() ^ neg.replicate(self.act_bits)).as_signed()  # ~v when negating
            term = Signal.like(t, reset_less=True)  # no reset: the adder tree's valid says when a sum counts
            m.d.sync += term.eq(Mux(use, flipped, 0))
            m.d.comb += t.eq(term)
            negs.append(use & neg)
        # The popcount as a balanced tree of small adds (a chain of `lanes` adds would be the slowest path).
        # With carry_latency=2 it is split: counts of groups of 4 lanes registered, then their sum.
        def total(bits: list) -> object:
            level = list(bits)
            while len(level) > 1:
                level = [level[i] + level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
            return level[0]

        if self.carry_latency == 1:
            m.d.sync += self.carries.eq(total(negs))
        else:
            partial = []
            for k in range(0, len(negs), 4):
                group = negs[k:k + 4]
                count = Signal(range(len(group) + 1), name=f"negs{k // 4}")
                m.d.sync += count.eq(total(group))
                partial.append(count)
            m.d.sync += self.carries.eq(total(partial))
        return m

    @staticmethod
    def reference(values: np.ndarray, codes: np.ndarray) -> int:
        return int((np.asarray(values, np.int64) * np.asarray(codes, np.int64)).sum())
