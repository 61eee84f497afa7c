"""The host link's run engine: streams the input buffer into the accelerator and its outputs into the output buffer.

:class:`RunEngine` runs one RUN command: from ``start`` it offers the loaded words to the
accelerator (``in_last`` on the last one when the RUN is final), writes every output beat into
the output buffer (as many as it holds), and counts the cycles the run takes. It has its own
registered flags, so no path runs from the receiver's state decoding through the accelerator's
handshakes.

A streaming engine (``step_words`` and ``step_outputs`` > 0: a per-step model) counts whole steps in
(every ``step_words`` input beats) and out (every ``step_outputs`` output beats) and ends a non-final
run only once every step it took has returned its outputs, so each RUN's outputs are whole steps.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hwgen.fpga.frame_rx import check_depth, check_width, refusing


class RunEngine(wiring.Component):
    """Drive the accelerator from the input buffer for one RUN.

    Ports:
      start (in, 1): a one-cycle pulse that starts a run of ``words`` (in, range(input_depth + 2)) input words,
        ``single`` (in, 1) when that is one; ``final`` (in, 1): the last word carries ``in_last`` and the run ends
        with the accelerator's ``out_last`` (otherwise once the accelerator has taken every word).
      done (out, 1), done_ready (in, 1): the run has ended (held until taken, when both are high).
      busy (out, 1): high while a run is in progress.
      in_addr (out, ceil_log2(input_depth)): the input buffer's read address (a read port of latency 1, whose
        data goes to the accelerator's ``in_data``); it shows word 0 the cycle after ``start``.
      acc_in_valid (out, 1), acc_in_ready (in, 1), acc_in_last (out, 1): the accelerator's input handshake.
      acc_out_valid (in, 1), acc_out_ready (out, 1), acc_out_data (in, out_width), acc_out_last (in, 1): its
        output stream.
      out_we (out, 1), out_addr (out, ceil_log2(output_depth)), out_data (out, out_width): the output buffer's
        write port, registered (a word lands one cycle after its beat).
      cycles (out, 32): cycles from the first input beat on, counted while busy (read after the run).
      n_outputs (out, range(output_depth + 2)): output words captured by the last run (0 after a non-final run,
        unless streaming: then its whole steps' outputs).

    Parameters:
      out_width: bits of an output word. input_depth, output_depth: words the buffers hold, 1..65535.
      step_words, step_outputs: input and output words per step of a streaming engine (both 0: one burst
        per sequence).
    """

    def __init__(self, *, out_width: int, input_depth: int, output_depth: int, step_words: int = 0,
                 step_outputs: int = 0):
        with refusing(self):
            check_width("output word width", out_width)
            check_depth("input depth", input_depth)
            check_depth("output depth", output_depth)
            check_width("step words", step_words, 0)
            check_width("step outputs", step_outputs, 0)
            if bool(step_words) != bool(step_outputs):
                raise ValueError(f"a streaming engine needs step_words and step_outputs >= 1, "
                                 f"not {step_words} / {step_outputs}")
        self.out_width, self.input_depth, self.output_depth = out_width, input_depth, output_depth
        self.step_words, self.step_outputs = step_words, step_outputs
        super().__init__({
            "start": In(1), "words": In(range(input_depth + 2)), "single": In(1), "final": In(1),
            "done": Out(1), "done_ready": In(1), "busy": Out(1),
            "in_addr": Out(unsigned(ceil_log2(input_depth))),
            "acc_in_valid": Out(1), "acc_in_ready": In(1), "acc_in_last": Out(1),
            "acc_out_valid": In(1), "acc_out_ready": Out(1), "acc_out_data": In(out_width), "acc_out_last": In(1),
            "out_we": Out(1), "out_addr": Out(unsigned(ceil_log2(output_depth))), "out_data": Out(out_width),
            "cycles": Out(32), "n_outputs": Out(range(output_depth + 2)),
        })

    def elaborate(self, platform):
        m = Module()
        rd_ptr = Signal(range(self.input_depth + 2))
        rd_next = Signal(range(self.input_depth + 2))   # rd_ptr + 1, kept in a register so no adder sits behind in_ready
        left = Signal(range(self.input_depth + 2))      # input words not yet accepted by the accelerator
        have = Signal()        # left != 0 (registered: drives in_valid)
        one_left = Signal()    # left == 1 (registered: drives in_last)
        out_ptr = Signal(range(self.output_depth + 2))
        out_room = Signal()    # out_ptr < output_depth
        running = Signal()
        inputs_done = Signal()  # streaming: a non-final run has handed over its last word
        # The 32-bit cycle count as two 16-bit counters, the high one a cycle late (lo_carry is the low one's carry
        # out, registered): no chain longer than 16 bits and no enable fanning out from a carry. It is read only
        # after the run, thousands of cycles later. No reset: it is loaded before use (the domain's reset would add
        # a LUT level to every enable).
        cycles_lo, cycles_hi = Signal(16, reset_less=True), Signal(16, reset_less=True)
        lo_carry = Signal()
        m.d.comb += self.cycles.eq(Cat(cycles_lo, cycles_hi))

        # Streaming the input buffer: the read port always shows in_mem[rd_ptr]. Only a
        # multiplexer (no carry chain) sits between the accelerator's in_ready and the address.
        advance = self.acc_in_valid & self.acc_in_ready
        m.d.comb += [self.in_addr.eq(Mux(self.start, 0, Mux(advance, rd_next, rd_ptr))),
                     self.acc_in_last.eq(one_left & self.final)]
        # The output buffer's write port is registered too (address and data load every cycle, out_we says when):
        # the accelerator's out_valid reaches a flop, not the write decode of a register-file buffer.
        out_we_next = Signal()
        m.d.sync += [self.out_we.eq(out_we_next), self.out_addr.eq(out_ptr), self.out_data.eq(self.acc_out_data)]
        m.d.comb += [self.busy.eq(running), self.acc_in_valid.eq(running & have), self.acc_out_ready.eq(running)]
        lo_next = Signal(17)
        m.d.comb += lo_next.eq(cycles_lo + running)
        m.d.sync += [cycles_lo.eq(lo_next[:16]), lo_carry.eq(lo_next[16]), cycles_hi.eq(cycles_hi + lo_carry)]
        with m.If(self.start):
            # One cycle with in_addr = 0, so in_mem[0] shows when running starts.
            m.d.sync += [running.eq(1), rd_ptr.eq(0), rd_next.eq(1), left.eq(self.words),
                         have.eq(1), one_left.eq(self.single), out_ptr.eq(0), out_room.eq(1),
                         cycles_lo.eq(0), cycles_hi.eq(0), lo_carry.eq(0)]
        with m.If(running):
            with m.If(advance):
                m.d.sync += [rd_ptr.eq(rd_next), rd_next.eq(rd_next + 1), left.eq(left - 1),
                             have.eq(~one_left), one_left.eq(left == 2)]
                with m.If(one_left & ~self.final):
                    if self.step_words:
                        m.d.sync += inputs_done.eq(1)  # done once its steps' outputs are out (below)
                    else:
                        # A chunk of a longer sequence: done once the accelerator has taken it all.
                        m.d.sync += [self.n_outputs.eq(0), running.eq(0), self.done.eq(1)]
            with m.If(self.acc_out_valid):
                with m.If(out_room):
                    m.d.comb += out_we_next.eq(1)
                    m.d.sync += [out_ptr.eq(out_ptr + 1), out_room.eq(out_ptr != self.output_depth - 1)]
                with m.If(self.acc_out_last):
                    m.d.sync += [self.n_outputs.eq(Mux(out_room, out_ptr + 1, out_ptr)), running.eq(0),
                                 self.done.eq(1)]
        with m.If(self.done & self.done_ready):
            m.d.sync += self.done.eq(0)
        if self.step_words:
            self._count_steps(m, advance, running, inputs_done, out_ptr)
        return m

    def _count_steps(self, m: Module, advance, running, inputs_done, out_ptr) -> None:
        """Whole steps in and out; a non-final run ends when every step it took has returned its outputs (two
        cycles after the last output beat)."""
        in_beat, out_beat = Signal(range(self.step_words)), Signal(range(self.step_outputs))
        in_steps, out_steps = Signal(range(self.input_depth + 2)), Signal(range(self.input_depth + 2))
        with m.If(self.start):
            m.d.sync += [in_beat.eq(0), out_beat.eq(0), in_steps.eq(0), out_steps.eq(0), inputs_done.eq(0)]
        with m.If(advance):
            with m.If(in_beat == self.step_words - 1):
                m.d.sync += [in_beat.eq(0), in_steps.eq(in_steps + 1)]
            with m.Else():
                m.d.sync += in_beat.eq(in_beat + 1)
        with m.If(running & self.acc_out_valid):
            with m.If(out_beat == self.step_outputs - 1):
                m.d.sync += [out_beat.eq(0), out_steps.eq(out_steps + 1)]
            with m.Else():
                m.d.sync += out_beat.eq(out_beat + 1)
        # The end test reads two flops: the step counts compared a cycle earlier, and inputs_done a cycle late (so
        # the comparison has seen the last input step): no path from the counters through the end to `running`.
        caught_up, armed = Signal(), Signal()
        end = running & armed & caught_up
        m.d.sync += [caught_up.eq(in_steps == out_steps), armed.eq(inputs_done & ~end)]
        with m.If(end):
            m.d.sync += [self.n_outputs.eq(out_ptr), running.eq(0), self.done.eq(1), inputs_done.eq(0)]
