"""Registered balanced adder tree: the accumulate-only datapath's reduction.

Each level adds pairs and registers the result, so the critical path is one adder
whatever the lane count, and yosys never has to find a `$macc` in a long `sum()`.
Latency = `depth` = ceil(log2(n)) cycles; a new vector can enter every cycle.

With `late_last`, the last input (unpaired at the first level; n odd) arrives one cycle after
the others and skips the first level's register.

Ports: `inputs[i]` in, signed(width); `valid_in` in, 1; `sum` out, signed(width + depth);
`valid_out` out, 1.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.pipeline import clog2


class AdderTree(wiring.Component):
    def __init__(self, n: int, width: int, late_last: bool = False) -> None:
        if n < 1:
            raise ValueError(f"adder tree needs at least 1 input, got {n}")
        if late_last and (n < 3 or n % 2 == 0):
            raise ValueError(f"late_last needs an odd number of inputs >= 3 (the last passes level 0 unpaired), got {n}")
        self.n, self.width, self.late_last = n, width, late_last
        self.depth = clog2(n) if n > 1 else 0
        super().__init__({
            "inputs": In(signed(width)).array(n),
            "valid_in": In(1),
            "sum": Out(signed(width + self.depth)),
            "valid_out": Out(1),
        })

    @property
    def latency(self) -> int:
        return self.depth

    def elaborate(self, platform: object) -> Module:
        m = Module()
        level = list(self.inputs)
        valid = self.valid_in
        w = self.width
        for d in range(self.depth):
            w += 1
            nxt = []
            for i in range(0, len(level), 2):
                if d == 0 and self.late_last and i == len(level) - 1:
                    nxt.append(level[i])  # arrives a cycle late: its level-0 register is the producer's
                    continue
                s = Signal(signed(w), name=f"l{d}_{i // 2}", reset_less=True)  # `valid` says when it holds a sum
                m.d.sync += s.eq(level[i] + level[i + 1] if i + 1 < len(level) else level[i])
                nxt.append(s)
            v = Signal(name=f"v{d}")
            m.d.sync += v.eq(valid)
            level, valid = nxt, v
        m.d.comb += [self.sum.eq(level[0]), self.valid_out.eq(valid)]
        return m

    @staticmethod
    def reference(values: np.ndarray) -> int:
        return int(np.asarray(values, np.int64).sum())
