"""The dense head on its own int8 lanes: logits = W · h + b, `products` (`AccelConfig.head_products`) a cycle.

Each cycle the head takes `products` elements of an h word (`lanes` wide: one read serves
lanes / products cycles, the rest of the word waits in a shift register) and one weight word
(`products` int8 codes of one output row, `hwgen.hw.images.head_words`) into int8 multiply lanes
(`hwgen.hw.lanes.Lanes`), an adder tree and an accumulator; outputs follow one another without a
bubble (H / products cycles each). Finished logits (plus bias) wait in a small FIFO for the output
stream; an output is begun only when the FIFO has room for it, so back-pressure never loses one.

Where h comes from (`h_copy`): with every-step outputs a copy of the top layer's h (both step
banks, written with the vector memory's h writes), so the head never uses the vector memory's read
port and runs while the controller computes the next step; with last-step outputs (once a sequence,
where a copy would only cost block RAM) the vector memory's read port, while the controller HOLDs.

Timing (`hwgen.hw.schedule.HeadTiming`): `start` is seen `delay` cycles before the first issue
(the last unit's h must be written before its word is read); the issue takes outputs × H/products
cycles; a logit leaves `head_pipe` cycles after its last issue. `busy` is high from `start` until
the last issue: the controller does not start the next step's head, nor let a step past one that
would overwrite the bank being read, until it drops.

Ports: `start` in, 1 (pulse); `bank` in, 1 and `seq_end` in, 1 (the step's h bank and whether it
ends its sequence, read with `start`); `busy` out, 1; with the copy its write `h_we`, `h_addr`
(bank · H/lanes + word), `h_en` (a lane mask), `h_data`, else the vector memory's read `h_raddr`
out, `h_rdata` in (one cycle later) and `reading` out, 1 (the head owns the read port); the output
stream `out_valid`, `out_ready`, `out_data`, `out_last` (the last logit of a burst that ends a sequence).
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw.adder_tree import AdderTree
from hwgen.hw.lanes import Lanes
from hwgen.hw.onehot import OneHotFSM
from hwgen.hw.pipeline import BLOCK_RAM, NO_RW_CHECK, clog2, delay, registered_read

#: Issue of a chunk to its products in the lanes: the memories' read, the operand registers, the lanes' register.
HEAD_LANE_LATENCY = 3


def head_pipe(products: int) -> int:
    """Cycles from the issue of an output's last chunk to its logit on `out_data` (FIFO never full, output ready):
    the lanes, the adder tree, the accumulator, the bias add into the FIFO and the FIFO's read side."""
    return HEAD_LANE_LATENCY + (clog2(products) if products > 1 else 0) + 2


def head_delay(hidden: int, lanes: int, products: int, write_offset: int) -> int:
    """Cycles from `start` to the first issue: the step's last unit is written `write_offset` cycles after its last
    issue (the cycle before `start`), and its h word, the last, is read (H - lanes) / products cycles into the first
    output."""
    return max(1, write_offset - (hidden - lanes) // products)


def fifo_depth(hidden: int, products: int) -> int:
    """Logits begun but not yet sent that an always-ready stream still holds: one begins every H/products cycles and
    each is out `head_pipe` cycles after its last issue."""
    cycles = hidden // products
    return -(-(cycles + head_pipe(products)) // cycles) + 1


class HeadUnit(wiring.Component):
    def __init__(self, hidden: int, lanes: int, products: int, act_bits: int, out_bits: int, delay_cycles: int,
                 words: Sequence[int], bias: Sequence[int], h_copy: bool, h_bases: tuple[int, int] = (0, 0),
                 addr_bits: int = 1) -> None:
        if hidden % lanes or lanes % products:
            raise ValueError(f"lanes={lanes} must divide hidden={hidden} and products={products} must divide lanes")
        self.hidden, self.lanes, self.products, self.act_bits, self.out_bits = hidden, lanes, products, act_bits, out_bits
        self.chunks, self.cycles = hidden // lanes, hidden // products  # h words, issue cycles per output
        self.delay_cycles = max(1, delay_cycles)
        self.words, self.bias = list(words), list(bias)
        self.outputs = len(self.bias)
        self.h_copy = h_copy
        self.h_bases = (0, self.chunks) if h_copy else h_bases
        if len(self.words) != self.outputs * self.cycles:
            raise ValueError(f"{len(self.words)} head words for {self.outputs} outputs × {self.cycles} cycles")
        ports = {
            "start": In(1), "bank": In(1), "seq_end": In(1), "busy": Out(1),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(out_bits)), "out_last": Out(1),
        }
        if h_copy:
            ports.update({"h_we": In(1), "h_addr": In(unsigned(clog2(2 * self.chunks))), "h_en": In(lanes),
                          "h_data": In(unsigned(lanes * act_bits))})
        else:
            ports.update({"h_raddr": Out(unsigned(addr_bits)), "h_rdata": In(unsigned(lanes * act_bits)),
                          "reading": Out(1)})
        super().__init__(ports)

    def _h_read(self, m: Module) -> tuple[Signal, Value]:
        """(address, data one cycle later) of the h words: the copy's read port, or the vector memory's."""
        if not self.h_copy:
            return self.h_raddr, self.h_rdata
        lanes, a = self.lanes, self.act_bits
        m.submodules.hmem = hmem = Memory(shape=unsigned(lanes * a), depth=2 * self.chunks, init=[],
                                          attrs={**NO_RW_CHECK, **BLOCK_RAM})
        h_wr = hmem.write_port(granularity=a)
        m.d.comb += [h_wr.addr.eq(self.h_addr), h_wr.data.eq(self.h_data), h_wr.en.eq(Mux(self.h_we, self.h_en, 0))]
        return registered_read(m, hmem, "hmem")

    def elaborate(self, platform: object) -> Module:
        m = Module()
        lanes, n, a, K = self.lanes, self.products, self.act_bits, self.outputs
        per_word = lanes // n  # issue cycles on one h word
        h_raddr, h_rdata = self._h_read(m)
        m.submodules.wrom = wrom = Memory(shape=unsigned(n * 8), depth=len(self.words), init=self.words)
        w_raddr, w_rdata = registered_read(m, wrom, "wrom")

        # ---- issue: `products` codes of one output row a cycle --------------------------------------------------
        depth = fifo_depth(self.hidden, n)
        m.submodules.fifo = fifo = SyncFIFO(width=self.out_bits + 1, depth=depth)
        word = Signal(range(max(self.chunks, 2)))  # the h word
        sub = Signal(range(max(per_word, 2)))  # which `products` elements of it
        waddr = Signal(range(max(len(self.words), 2)))
        k_last = Signal(init=int(K == 1))  # the output being issued is the burst's last
        owed = Signal(range(depth + 1))  # outputs begun whose logit has not left the FIFO
        count = Signal(range(self.delay_cycles + 1))
        issue = Signal()
        bank, seq_end = Signal(), Signal()  # latched at start: the controller moves on to the next step's values
        first = (word == 0) & (sub == 0)
        last = (word == self.chunks - 1) & (sub == per_word - 1)
        room = ~first | (owed < depth)
        begin, sent = Signal(), Signal()
        m.d.comb += [begin.eq(issue & first), sent.eq(fifo.r_en & fifo.r_rdy)]
        m.d.sync += owed.eq(owed + begin - sent)
        b0, b1 = self.h_bases
        m.d.comb += [h_raddr.eq(Mux(bank, b1, b0) + word), w_raddr.eq(waddr)]

        fsm = OneHotFSM(m, ("IDLE", "DELAY", "ISSUE"), "hd")
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | self.start)
        if not self.h_copy:
            m.d.comb += self.reading.eq(fsm.ongoing("ISSUE"))
        with fsm.state("IDLE"), m.If(self.start):
            m.d.sync += [count.eq(self.delay_cycles - 1), bank.eq(self.bank), seq_end.eq(self.seq_end)]
            fsm.next("DELAY")
        with fsm.state("DELAY"):
            m.d.sync += count.eq(count - 1)
            with m.If(count == 0):
                fsm.next("ISSUE")
        with fsm.state("ISSUE"):
            m.d.comb += issue.eq(room)
            with m.If(room):
                m.d.sync += [sub.eq(sub + 1), waddr.eq(waddr + 1)]
                with m.If(sub == per_word - 1):
                    m.d.sync += [sub.eq(0), word.eq(word + 1)]
                with m.If(last):
                    m.d.sync += [word.eq(0), k_last.eq(waddr == len(self.words) - 1 - self.cycles)]
                    with m.If(k_last):
                        m.d.sync += [waddr.eq(0), k_last.eq(K == 1)]
                        fsm.next("IDLE")

        # An h word serves `per_word` cycles: its first `products` elements straight from the read data, the rest
        # from a register shifted down as they are used.
        if per_word > 1:
            fresh, take = delay(m, issue & (sub == 0), 1, "hd_fresh"), delay(m, issue, 1, "hd_take")
            rest = Signal(lanes * a, name="hd_rest", reset_less=True)
            h_word = Mux(fresh, h_rdata, rest)
            with m.If(take):
                m.d.sync += rest.eq(h_word >> (n * a))
        else:
            h_word = h_rdata
        # ---- datapath: operand registers, int8 lanes, adder tree, accumulator -----------------------------------
        h_op, w_op = Signal(n * a, reset_less=True), Signal(n * 8, reset_less=True)
        m.d.sync += [h_op.eq(h_word[:n * a]), w_op.eq(w_rdata)]
        # not `lanes`: yosys selections of the gate lanes' multipliers (`*.lanes`, benchmarks/accel_vs_int8.py) leave it
        m.submodules.multipliers = lane_unit = Lanes(n, a, "int8")
        for i in range(n):
            m.d.comb += [lane_unit.values[i].eq(h_op[i * a:(i + 1) * a].as_signed()),
                         lane_unit.codes[i].eq(w_op[i * 8:(i + 1) * 8])]
        m.submodules.tree = tree = AdderTree(n, lane_unit.term_bits)
        m.d.comb += [tree.inputs[i].eq(lane_unit.terms[i]) for i in range(n)]
        ctrl = Cat(issue, first, last, k_last & seq_end)
        ctrl_d = delay(m, ctrl, HEAD_LANE_LATENCY + tree.latency, "hd_ctl")
        v, f, lst, end = ctrl_d[0], ctrl_d[1], ctrl_d[2], ctrl_d[3]
        # The accumulator wraps to out_bits: the logit fits, so only the products' low bits count.
        acc = Signal(signed(self.out_bits))
        done, done_end = Signal(), Signal()
        with m.If(v):
            m.d.sync += acc.eq(Mux(f, 0, acc) + tree.sum)
        m.d.sync += [done.eq(v & lst), done_end.eq(end)]

        # ---- bias, FIFO, output stream ---------------------------------------------------------------------------
        m.submodules.brom = brom = Memory(shape=signed(self.out_bits), depth=K, init=self.bias)
        b_raddr, b_rdata = registered_read(m, brom, "brom")
        kb = Signal(range(max(K, 2)))  # the output whose logit `done` finishes
        kb_next = Signal.like(kb)
        m.d.comb += kb_next.eq(Mux(done, Mux(kb == K - 1, 0, kb + 1), kb))
        m.d.sync += kb.eq(kb_next)
        # b_rdata is bias[kb] when `done` is next high: read at kb itself when logits are >= 2 cycles apart (no
        # counter logic in front of the ROM: it was the H=64 UP5K char-LM's critical path), else at the next kb.
        m.d.comb += b_raddr.eq(kb if self.cycles > 1 else kb_next)
        m.d.comb += [fifo.w_en.eq(done), fifo.w_data.eq(Cat((acc + b_rdata)[:self.out_bits], done_end)),
                     self.out_valid.eq(fifo.r_rdy), fifo.r_en.eq(self.out_ready),
                     self.out_data.eq(fifo.r_data[:self.out_bits].as_signed()),
                     self.out_last.eq(fifo.r_data[self.out_bits])]
        return m
