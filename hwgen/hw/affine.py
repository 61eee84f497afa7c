"""Per-row affine on the accumulators, on one shared multiplier (one DSP).

gate = sat_G((mult_x·acc_x + mult_h·acc_h + bias) >> shift[layer]), the integer form of
the folded batch norm / dequantization scale. The two products of a row go through the
same multiplier in consecutive cycles, so a new row may enter every 2 cycles
(the controller guarantees rows at least 2 cycles apart). The multiplier has registered
inputs and a registered output (nothing but a register between the constant ROM and it, and
between it and the adders: it maps to one SB_MAC16 / MULT18X18D with both registers inside).

Row constants live in a ROM (`rows` = [(mult_x, mult_h, bias)] in hardware row order).

A GRU's rows carry a fourth constant, the reset bias (`hwgen.hw.images.row_params`): then the
affine also keeps a row's two partial sums apart, `px` = mult_x·acc_x + bias (the first sum, as
it passes) and `ph` = mult_h·acc_h + reset bias (one more adder and register on the second
product), both held from `valid_out` until the next row's, for the GRU state update's n row
(the reset gate multiplies ph before the two are added: `hwgen.model.gru`).

Ports: `valid_in` in, 1; `acc_x`, `acc_h` in, signed(acc_bits); `row` in (ROM address);
`layer` in; `tag_in` in; `gate` out, signed(gate_bits); `valid_out` out; `tag_out` out;
`product` out (the multiplier's register); with reset biases `px`, `ph` out, signed(sum_bits). Latency 6.
"""

from __future__ import annotations

from typing import Sequence

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.images import row_words
from hwgen.hw.pipeline import carry_select_add, clog2, delay


def saturate(m: Module, value: object, bits: int, name: str) -> Signal:
    """A comb signal: `value` (signed) clamped to signed(bits).

    Out of range means the bits above the kept ones are not all copies of the sign: a wide
    AND/OR in LUTs, not two comparisons on carry chains."""
    out = Signal(signed(bits), name=name)
    v = Value.cast(value)
    if not v.shape().signed:
        v = Cat(v, Const(0, 1)).as_signed()
    if len(v) <= bits:
        m.d.comb += out.eq(v)
        return out
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    top = v[bits - 1:]
    with m.If(top.all() | ~top.any()):
        m.d.comb += out.eq(v[:bits].as_signed())
    with m.Elif(v[-1]):
        m.d.comb += out.eq(lo)
    with m.Else():
        m.d.comb += out.eq(hi)
    return out


def shift_by_layer(m: Module, value: Value, layer: Value, shifts: Sequence[int], name: str) -> Signal:
    """A comb signal: `value` >> shifts[layer]. The last layer is the default arm (a layer index past the list
    never occurs): with one layer no multiplexer at all, where an extra default arm cost a 2-to-1 multiplexer
    on every bit (~30 LUTs each in the affine and the state update)."""
    out = Signal(value.shape(), name=name)
    with m.Switch(layer):
        for i, s in enumerate(shifts[:-1]):
            with m.Case(i):
                m.d.comb += out.eq(value >> s)
        with m.Default():
            m.d.comb += out.eq(value >> shifts[-1])
    return out


class RowAffine(wiring.Component):
    latency = 6

    def __init__(self, rows: Sequence[tuple[int, int, int]], shifts: Sequence[int], acc_bits: int, mult_bits: int,
                 bias_bits: int, sum_bits: int, gate_bits: int, tag_bits: int) -> None:
        self.rows, self.shifts = list(rows), list(shifts)
        self.acc_bits, self.mult_bits, self.bias_bits, self.sum_bits, self.gate_bits = acc_bits, mult_bits, bias_bits, sum_bits, gate_bits
        if len({len(r) for r in self.rows}) != 1 or len(self.rows[0]) not in (3, 4):
            raise ValueError("rows must all be (mult_x, mult_h, bias) or all (mult_x, mult_h, bias, reset_bias)")
        self.partial_sums = len(self.rows[0]) == 4
        ports = {
            "valid_in": In(1), "acc_x": In(signed(acc_bits)), "acc_h": In(signed(acc_bits)),
            "row": In(unsigned(clog2(len(self.rows)))), "layer": In(unsigned(clog2(len(self.shifts)))),
            "tag_in": In(unsigned(tag_bits)),
            "gate": Out(signed(gate_bits)), "valid_out": Out(1), "tag_out": Out(unsigned(tag_bits)),
            "product": Out(signed(acc_bits + mult_bits)),
        }
        if self.partial_sums:
            ports.update({"px": Out(signed(sum_bits)), "ph": Out(signed(sum_bits))})
        super().__init__(ports)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        mb, bb = self.mult_bits, self.bias_bits
        word = row_words(self.rows, mb, bb)
        m.submodules.rom = rom = Memory(shape=unsigned(2 * mb + bb * (2 if self.partial_sums else 1)), depth=len(word),
                                        init=word)
        rd = rom.read_port()
        m.d.comb += rd.addr.eq(self.row)
        mx, mh, bias = rd.data[:mb].as_signed(), rd.data[mb:2 * mb].as_signed(), rd.data[2 * mb:2 * mb + bb].as_signed()

        n = self.latency
        v = [Signal(name=f"v{i}") for i in range(n)]
        m.d.sync += [v[0].eq(self.valid_in)] + [v[i].eq(v[i - 1]) for i in range(1, n)]
        m.d.comb += self.valid_out.eq(v[n - 1])
        tags = [Signal.like(self.tag_in, name=f"tag{i}") for i in range(n)]
        m.d.sync += [tags[0].eq(self.tag_in)] + [tags[i].eq(tags[i - 1]) for i in range(1, n)]
        m.d.comb += self.tag_out.eq(tags[n - 1])
        layers = [Signal.like(self.layer, name=f"layer{i}") for i in range(n - 1)]
        m.d.sync += [layers[0].eq(self.layer)] + [layers[i].eq(layers[i - 1]) for i in range(1, n - 1)]

        # c0: row constants read; c1 (v0): x operands into the multiplier's input registers; c2 (v1): h operands;
        # c3: product x (+ bias into s1); c4: product h (+ s1 into s2); c5: gate = sat(s2 >> shift), out at c6.
        ax1, ah1 = Signal(signed(self.acc_bits)), Signal(signed(self.acc_bits))
        m.d.sync += [ax1.eq(self.acc_x), ah1.eq(self.acc_h)]  # c1: stage-1 copies
        ah2, mh2, b2, b3 = Signal(signed(self.acc_bits)), Signal(signed(mb)), Signal(signed(bb)), Signal(signed(bb))
        m.d.sync += [ah2.eq(ah1), mh2.eq(mh), b2.eq(bias), b3.eq(b2)]  # c2, c3
        # A row's h operands follow its x operands; rows are >= 2 cycles apart, so v[1] alone picks.
        a, b = Signal(signed(self.acc_bits)), Signal(signed(mb))
        m.d.comb += [a.eq(Mux(v[1], ah2, ax1)), b.eq(Mux(v[1], mh2, mx))]
        a_r, b_r = Signal(signed(self.acc_bits)), Signal(signed(mb))
        m.d.sync += [a_r.eq(a), b_r.eq(b), self.product.eq(a_r * b_r)]
        s1 = Signal(signed(self.sum_bits))
        s2 = Signal(signed(self.sum_bits))
        m.d.sync += s1.eq(carry_select_add(m, self.product, b3, self.sum_bits, "s1"))  # c3
        m.d.sync += s2.eq(carry_select_add(m, s1, self.product, self.sum_bits, "s2"))  # c4
        shifted = shift_by_layer(m, s2, layers[n - 2], self.shifts, "shifted")
        m.d.sync += self.gate.eq(saturate(m, shifted, self.gate_bits, "gate_sat"))  # c5
        if self.partial_sums:  # c4: s1 holds px and the product is mult_h·acc_h (+ the reset bias into ph5 at c5)
            rb = delay(m, rd.data[2 * mb + bb:].as_signed(), 3, "rb")
            ph5 = Signal(signed(self.sum_bits), name="ph5")
            m.d.sync += ph5.eq(carry_select_add(m, self.product, rb, self.sum_bits, "ph"))
            # Held until the next row's: loads of registers only (an enable in front of the adder was the
            # critical path on the UP5K).
            with m.If(v[3]):
                m.d.sync += self.px.eq(s1)
            with m.If(v[4]):
                m.d.sync += self.ph.eq(ph5)
        return m
