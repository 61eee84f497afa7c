"""The whole accumulate-only LSTM (or GRU) accelerator: the top module of the contract.

Data path, one chunk per cycle (see `hwgen.hw.schedule` for the timing):

    controller ─► weight memory ─┐
         │                       ├─► lanes (add/sub/skip | MAC) ─► adder tree ─► accumulator
         └──► x / h memories ────┘                                                   │
    output unit ◄── h memory ◄── state update ◄── activation unit ◄── row affine ◄───┘
    (or dense head: int8 lanes, adder tree, accumulator, FIFO; every-step: its own copy of h)

A GRU (`config.cell == "gru"`) runs rows z, r, n through the same lanes, accumulator and affine; z and r
through σ, the n row's two partial sums straight to `hwgen.hw.gru_update` (in place of the LSTM's
`hwgen.hw.state_update`), which uses the activation unit's port B for tanh.

With `gate_rows=4` the word holds a unit's four gate rows (with 2: rows i, f, then g, o): as many lane
sets, adder trees and accumulators on the same vector chunk, and a row serialiser between the
accumulators and the affine.

Ports (flat, see docs/accelerator-interface.md): `in_valid`, `in_ready`, `in_data`
(signed act_bits), `in_last`; `out_valid`, `out_ready`, `out_data` (signed out_bits),
`out_last`; with SPRAM weights also `wmem_we`, `wmem_addr`, `wmem_data` (load the
weight words of `hwgen.hw.images.weight_words` before the first sequence).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.hw import images
from hwgen.hw.accumulator import Accumulator
from hwgen.hw.activation import ActivationUnit
from hwgen.hw.adder_tree import AdderTree
from hwgen.hw.affine import RowAffine
from hwgen.hw.controller import Controller
from hwgen.hw.gru_update import GRUStateUpdate
from hwgen.hw.head_unit import HeadUnit
from hwgen.hw.input_banks import InputBanks
from hwgen.hw.lanes import Lanes
from hwgen.hw.output_unit import OutputUnit
from hwgen.hw.pipeline import BLOCK_RAM, NO_RW_CHECK, clog2, delay, registered_read
from hwgen.hw.row_serialiser import RowSerialiser
from hwgen.hw.schedule import acc_offset, tree_leaves
from hwgen.hw.state_update import StateUpdate
from hwgen.hw.weight_memory import WeightMemory
from hwgen.model.saved import RecurrentModel

if TYPE_CHECKING:  # config.py builds the accelerator (AccelConfig.create), so the class is only named here
    from hwgen.hw.config import AccelConfig


class Accelerator(wiring.Component):
    def __init__(self, config: AccelConfig, model: RecurrentModel, simulate: bool = False) -> None:
        self.config, self.model, self.simulate = config, model, simulate
        ports = {
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(signed(config.act_bits)), "in_last": In(1),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(signed(config.out_bits)), "out_last": Out(1),
        }
        if config.weight_memory == "spram":
            ports.update({"wmem_we": In(1), "wmem_addr": In(unsigned(clog2(config.weight_words))),
                          "wmem_data": In(unsigned(config.word_bits))})
        super().__init__(ports)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        cfg = self.config
        L, lanes, a = cfg.layers, cfg.lanes, cfg.act_bits
        xc, hc = cfg.x_chunks(0), cfg.h_chunks
        m.submodules.ctrl = ctrl = Controller(cfg)

        # One vector memory holds both the double-buffered x banks (words 0 .. 2·xc-1) and the h banks (from hb):
        # one block-RAM column set instead of two. Its one write port serves the state update's h writes first; an
        # input beat waits (in_ready low) in the cycle an h word is written, one cycle per unit, far within a pass.
        hb = 2 * xc
        # The schedule never reads a word in the cycle it is written (its gaps order every h read after the write;
        # x banks are read only when full, written only when not): NO_RW_CHECK, so no collision logic. BLOCK_RAM: a
        # shallow one (H=64, 8 lanes: 32 words) became distributed RAM and read multiplexers on the ECP5.
        m.submodules.vmem = vmem = Memory(shape=unsigned(lanes * a), depth=hb + 2 * L * hc, init=[],
                                          attrs={**NO_RW_CHECK, **BLOCK_RAM})
        v_wr = vmem.write_port(granularity=a)
        v_raddr, v_rdata = registered_read(m, vmem, "vmem")

        # ---- input stream into the double-buffered x banks ------------------------------------
        m.submodules.banks = banks = InputBanks(lanes, cfg.input)
        m.d.comb += [self.in_ready.eq(banks.in_ready), banks.in_valid.eq(self.in_valid), banks.in_last.eq(self.in_last),
                     ctrl.full.eq(banks.full), ctrl.last.eq(banks.last),
                     banks.release.eq(ctrl.x_release), banks.release_bank.eq(ctrl.xsel)]

        issue_addr, codes_next = self._issue(m, ctrl, hb, len(v_raddr))
        tree_sums = self._lanes(m, ctrl, v_rdata, codes_next)
        state = self._rows(m, ctrl, tree_sums)

        # The write port's address, data and enables are registered (VEC_WRITE_LATENCY): nothing combinational
        # from the state update or the input stream reaches the block RAM (or yosys's read/write collision logic).
        m.d.comb += banks.hold_next.eq(state.h_we_next)  # in_ready from a register of the input writer's own
        ht = state.h_tag
        w_addr, w_data, w_en = Signal.like(v_wr.addr), Signal.like(v_wr.data), Signal.like(v_wr.en)
        with m.If(state.h_we):
            m.d.sync += [w_addr.eq(hb + (ht.layer * 2 + ~ht.bank) * hc + ht.uchunk),
                         w_data.eq(state.h_value.as_unsigned().replicate(lanes)), w_en.eq(1 << ht.ulane)]
        with m.Else():
            m.d.sync += [w_addr.eq(banks.addr), w_data.eq(self.in_data.as_unsigned().replicate(lanes)),
                         w_en.eq(banks.lane_en)]
        m.d.comb += [v_wr.addr.eq(w_addr), v_wr.data.eq(w_data), v_wr.en.eq(w_en)]

        # ---- output -----------------------------------------------------------------------------------
        if self.model.head is not None:
            self._head(m, ctrl, state, hb, v_raddr, v_rdata, issue_addr)
            return m
        m.submodules.out = out = OutputUnit(cfg.hidden, lanes, a, cfg.out_bits, len(v_raddr))
        m.d.comb += [out.start.eq(ctrl.output), out.h_base.eq(hb + ((L - 1) * 2 + ctrl.tag.bank) * hc),
                     out.h_data.eq(v_rdata), ctrl.out_done.eq(out.done), out.seq_end.eq(ctrl.seq_end),
                     self.out_valid.eq(out.out_valid), self.out_data.eq(out.out_data), self.out_last.eq(out.out_last),
                     out.out_ready.eq(self.out_ready)]
        m.d.comb += v_raddr.eq(Mux(ctrl.output, out.h_addr, issue_addr))
        return m

    def _head(self, m: Module, ctrl: Controller, state: StateUpdate, hb: int, v_raddr: Signal, v_rdata: Value,
              issue_addr: Signal) -> None:
        """The dense head. Every-step outputs: beside the passes, from its own copy of the top layer's h, written as
        the vector memory's h words are (the same registered write, VEC_WRITE_LATENCY). Last-step outputs: from the
        vector memory's read port while the controller HOLDs. Start, bank and sequence end come from the controller."""
        cfg, head = self.config, self.model.head
        assert head is not None
        L, hc = cfg.layers, cfg.h_chunks
        copy = cfg.output_steps == "every_step"
        sched = cfg.schedule()
        m.submodules.head = unit = HeadUnit(
            cfg.hidden, cfg.lanes, cfg.head_products, cfg.act_bits, cfg.out_bits, sched.head.delay,
            images.head_words(cfg, self.model), [int(b) for b in head.bias], h_copy=copy,
            h_bases=(hb + 2 * (L - 1) * hc, hb + (2 * (L - 1) + 1) * hc), addr_bits=len(v_raddr))
        if copy:
            ht = state.h_tag
            top = Const(1) if L == 1 else (ht.layer == L - 1)
            h_we, h_addr, h_en = Signal(), Signal.like(unit.h_addr), Signal.like(unit.h_en)
            m.d.sync += [h_we.eq(state.h_we & top), h_addr.eq(Mux(ht.bank, ht.uchunk, hc + ht.uchunk)),
                         h_en.eq(1 << ht.ulane)]
            h_data = delay(m, state.h_value.as_unsigned().replicate(cfg.lanes), 1, "hd_wdata")
            m.d.comb += [unit.h_we.eq(h_we), unit.h_addr.eq(h_addr), unit.h_en.eq(h_en), unit.h_data.eq(h_data),
                         v_raddr.eq(issue_addr)]
        else:
            m.d.comb += [unit.h_rdata.eq(v_rdata), v_raddr.eq(Mux(unit.reading, unit.h_raddr, issue_addr))]
        m.d.comb += [unit.start.eq(ctrl.head_start), unit.bank.eq(ctrl.head_bank), unit.seq_end.eq(ctrl.head_last),
                     ctrl.head_busy.eq(unit.busy), ctrl.out_done.eq(0),
                     self.out_valid.eq(unit.out_valid), self.out_data.eq(unit.out_data), self.out_last.eq(unit.out_last),
                     unit.out_ready.eq(self.out_ready)]

    def _issue(self, m: Module, ctrl: Controller, hb: int, addr_width: int) -> tuple[Signal, Value]:
        """The weight memory (read at the controller's address) and the vector address of the chunk issued:
        (vector address, weight word)."""
        cfg, tag = self.config, ctrl.tag
        L, xc, hc = cfg.layers, cfg.x_chunks(0), cfg.h_chunks
        m.submodules.wmem = wmem = WeightMemory(cfg.weight_memory, cfg.word_bits, cfg.weight_words,
                                                images.weight_words(cfg, self.model), simulate=self.simulate)
        m.d.comb += wmem.addr.eq(ctrl.waddr)
        if cfg.weight_memory == "spram":
            m.d.comb += [wmem.we.eq(self.wmem_we), wmem.waddr.eq(self.wmem_addr), wmem.wdata.eq(self.wmem_data)]
        # Vector address = a constant base picked by (layer, x/h part, bank or xsel) + chunk: one adder.
        base = Signal(addr_width)
        with m.Switch(tag.layer):
            for i in range(L):
                kx = cfg.x_chunks(i)
                with m.Case(i):
                    with m.If(ctrl.is_h):  # h of this layer, bank `bank`, from chunk kx on
                        m.d.comb += base.eq(Mux(tag.bank, hb + (2 * i + 1) * hc - kx, hb + 2 * i * hc - kx))
                    with m.Else():
                        if i == 0:  # x bank xsel
                            m.d.comb += base.eq(Mux(ctrl.xsel, xc, 0))
                        else:  # h of the layer below, the other bank
                            m.d.comb += base.eq(Mux(tag.bank, hb + 2 * (i - 1) * hc, hb + (2 * (i - 1) + 1) * hc))
        issue_addr = Signal(addr_width)
        m.d.comb += issue_addr.eq(base + ctrl.chunk)
        return issue_addr, wmem.data

    def _lanes(self, m: Module, ctrl: Controller, v_rdata: Value, wdata: Value) -> list[Value]:
        """Operand registers, the lanes and the adder trees: each gate row's chunk sum (into its accumulator). With
        gate_rows > 1 the word's rows meet the same vector chunk in as many lane sets and trees."""
        cfg, tag = self.config, ctrl.tag
        lanes, a, wb = cfg.lanes, cfg.act_bits, cfg.weight_bits
        # Operand registers: the memories' read data (and the x/h/zero select) are registered before the lanes,
        # so no memory output drives the lane logic directly (MEM_LATENCY = read + this register).
        mask = delay(m, ctrl.is_h & tag.first, 1, "mask")
        vec, codes = Signal(lanes * a, reset_less=True), Signal(cfg.word_bits, reset_less=True)
        m.d.sync += [vec.eq(Mux(mask, 0, v_rdata)), codes.eq(wdata)]

        leaves = tree_leaves(cfg)
        late = leaves > lanes and leaves % 2 == 1 and leaves >= 3  # the carries leaf passes the first tree level alone
        sums = []
        for q in range(cfg.gate_rows):
            suffix = str(q) if cfg.gate_rows > 1 else ""
            lane_unit = Lanes(lanes, a, cfg.weights_kind, carry_latency=2 if late else 1)
            m.submodules["lanes" + suffix] = lane_unit
            for i in range(lanes):
                bit = (q * lanes + i) * wb
                m.d.comb += [lane_unit.values[i].eq(vec[i * a:(i + 1) * a].as_signed()),
                             lane_unit.codes[i].eq(codes[bit:bit + wb])]
            m.submodules["tree" + suffix] = tree = AdderTree(leaves, lane_unit.term_bits, late_last=late)
            for i in range(lanes):
                m.d.comb += tree.inputs[i].eq(lane_unit.terms[i])
            if leaves > lanes:
                m.d.comb += tree.inputs[lanes].eq(lane_unit.carries)
            sums.append(tree.sum)
        return sums

    def _row_tag(self, m: Module, ctrl: Controller, off: int) -> Value:
        """The tag of the row whose chunk enters the accumulators now (issued `off` cycles ago). A row's tag is
        constant while it issues; when every row takes more than `off` cycles it is held from the row's last issue
        (one register, valid from `off` cycles before that row's last chunk arrives until the next row's last
        issue), else it rides a delay line of `off` registers."""
        cfg, tag = self.config, ctrl.tag.as_value()
        if min(cfg.chunks(layer) for layer in range(cfg.layers)) <= off:
            return delay(m, tag, off, "t_issue")
        held = Signal.like(tag, name="t_held")
        with m.If(ctrl.issue & ctrl.last_chunk):
            m.d.sync += held.eq(tag)
        return held

    def _rows(self, m: Module, ctrl: Controller, tree_sums: list[Value]) -> "StateUpdate | GRUStateUpdate":
        """The accumulators (one per gate row of a word; with four, the row serialiser), then per row the affine, the
        activation and the state update."""
        cfg, model, tag = self.config, self.model, ctrl.tag
        off = acc_offset(cfg)
        control = [delay(m, ctrl.issue, off, "v_issue"), delay(m, ctrl.first, off, "f_issue"),
                   delay(m, ctrl.is_h, off, "h_issue"), delay(m, ctrl.first_h, off, "fh_issue"),
                   delay(m, ctrl.last_chunk, off, "l_issue"), self._row_tag(m, ctrl, off)]
        accs = []
        for q, tree_sum in enumerate(tree_sums):
            acc = Accumulator(len(tree_sum), cfg.acc_bits, len(tag.as_value()))
            m.submodules["acc" + (str(q) if len(tree_sums) > 1 else "")] = acc
            m.d.comb += [port.eq(value) for port, value in
                         zip((acc.valid_in, acc.first, acc.is_h, acc.first_h, acc.last, acc.tag_in), control)]
            m.d.comb += acc.value.eq(tree_sum)
            accs.append(acc)
        shifts = [layer.gate.shift for layer in model.layers]
        m.submodules.affine = affine = RowAffine(images.row_params(model), shifts, cfg.acc_bits, cfg.mult_bits,
                                                 cfg.bias_bits, cfg.sum_bits, cfg.gate_bits, len(tag.as_value()))
        if len(accs) == 1:
            valid, acc_x, acc_h, row_tag = accs[0].valid_out, accs[0].acc_x, accs[0].acc_h, accs[0].tag_out
        else:  # a unit's rows, finished together, enter the affine one after another
            m.submodules.serial = serial = RowSerialiser(len(accs), cfg.acc_bits, ctrl.layout)
            m.d.comb += [serial.load.eq(control[0] & control[4]), serial.tag_in.eq(accs[0].tag_out)]
            m.d.comb += [serial.acc_x[q].eq(acc.sum_x) for q, acc in enumerate(accs)]
            m.d.comb += [serial.acc_h[q].eq(acc.sum_h) for q, acc in enumerate(accs)]
            valid, acc_x, acc_h, row_tag = serial.valid_out, serial.acc_x_out, serial.acc_h_out, serial.tag_out.as_value()
        acc_tag = ctrl.layout(row_tag)
        # The row number only addresses the affine's constants: zero in the tag that travels on, so yosys drops its
        # copies in the affine's, the activation's and the state update's tag registers.
        rest = Signal(ctrl.layout, name="tag_on")
        m.d.comb += [rest.eq(acc_tag), rest.row.eq(0)]
        m.d.comb += [affine.valid_in.eq(valid), affine.acc_x.eq(acc_x), affine.acc_h.eq(acc_h),
                     affine.row.eq(acc_tag.row), affine.layer.eq(acc_tag.layer), affine.tag_in.eq(rest.as_value())]
        m.submodules.act = act = ActivationUnit(model.sigmoid, model.tanh)
        aff_tag = ctrl.layout(affine.tag_out)
        if cfg.cell == "gru":  # port A: σ of z and r; the n row's partial sums go straight to the GRU update
            m.d.comb += [act.a_value.eq(affine.gate), act.a_tanh.eq(0)]
            m.submodules.state = gru = GRUStateUpdate(ctrl.layout, cfg.layers, cfg.hidden, shifts, model.hidden_format,
                                                      model.gate_format, cfg.sum_bits)
            m.d.comb += [gru.valid_in.eq(delay(m, affine.valid_out, act.latency, "v_act")), gru.value.eq(act.a_out),
                         gru.tag.eq(delay(m, affine.tag_out, act.latency, "t_act")),
                         gru.n_valid.eq(affine.valid_out & (aff_tag.gate == 2)), gru.px.eq(affine.px),
                         gru.ph.eq(affine.ph), gru.n_tag.eq(affine.tag_out),
                         act.b_value.eq(gru.tanh_value), gru.tanh_out.eq(act.b_out)]
            return gru
        m.d.comb += [act.a_value.eq(affine.gate), act.a_tanh.eq(aff_tag.gate == 2)]
        m.submodules.state = state = StateUpdate(
            ctrl.layout, cfg.layers, cfg.hidden, images.cell_params(model),
            [layer.cell.shift for layer in model.layers],
            model.hidden_format, model.gate_format, model.cell_format, cfg.mult_bits, cfg.bias_bits)
        m.d.comb += [state.valid_in.eq(delay(m, affine.valid_out, act.latency, "v_act")), state.value.eq(act.a_out),
                     state.tag.eq(delay(m, affine.tag_out, act.latency, "t_act")),
                     act.b_value.eq(state.tanh_value), state.tanh_out.eq(act.b_out)]
        return state
