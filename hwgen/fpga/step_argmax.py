"""The host link's argmax stage: each step's K logits in, the index of the largest out (one word per step).

A streaming board in ``argmax`` mode (:class:`~hwgen.fpga.protocol.StreamMode`) sends the host one
word per step instead of K: greedy decoding needs nothing more, and the UART, not the accelerator,
is the slow part of a step. Ties go to the first largest logit, as ``numpy.argmax``.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.fpga.frame_rx import check_width, refusing


class StepArgmax(wiring.Component):
    """Reduce every ``outputs`` beats of the stream to the index of the first largest one.

    Ports:
      in_valid (in, 1), in_ready (out, 1), in_data (in, signed width), in_last (in, 1): the accelerator's
        output stream (K beats per step).
      out_valid (out, 1), out_ready (in, 1), out_data (out, width), out_last (out, 1): one beat per step,
        offered for one cycle, the cycle after the step's last input beat (in_ready is out_ready: the run engine
        is ready all through a RUN, which ends only after this beat).

    Parameters:
      width: bits of a logit (the index must fit it as a positive signed number). outputs: K >= 1.
    """

    def __init__(self, *, width: int, outputs: int):
        with refusing(self):
            check_width("logit width", width, 2)
            check_width("outputs per step", outputs, 1)
            if (outputs - 1).bit_length() > width - 1:
                raise ValueError(f"an index below {outputs} does not fit a {width}-bit signed output word")
        self.width, self.outputs = width, outputs
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(signed(width)), "in_last": In(1),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(width), "out_last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n = max(self.outputs, 2)
        beat, beat_r, best_idx = Signal(range(n)), Signal(range(n)), Signal(range(n))
        best, data_r = Signal(signed(self.width)), Signal(signed(self.width))
        valid_r, last_r, first_r, end_r = Signal(), Signal(), Signal(), Signal()
        # Each beat is registered first, so the compare-and-load loop (best -> compare -> best) starts and ends at
        # flops with one gate after the compare; a step's index leaves a cycle after its last beat.
        take = self.in_valid & self.in_ready
        m.d.sync += [valid_r.eq(take), data_r.eq(self.in_data), last_r.eq(self.in_last), beat_r.eq(beat),
                     first_r.eq(beat == 0), end_r.eq(beat == self.outputs - 1)]
        with m.If(take):
            m.d.sync += beat.eq(Mux(beat == self.outputs - 1, 0, beat + 1))
        better = first_r | (data_r > best)
        m.d.comb += [self.in_ready.eq(self.out_ready), self.out_valid.eq(valid_r & end_r),
                     self.out_data.eq(Mux(better, beat_r, best_idx)), self.out_last.eq(last_r)]
        with m.If(valid_r & better):
            m.d.sync += [best.eq(data_r), best_idx.eq(beat_r)]
        return m
