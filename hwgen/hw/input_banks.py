"""The accelerator's input-bank writer: the input stream into the double-buffered x banks of the vector memory.

The x memory holds two banks of one step each (bank b at words ``b * x_chunks ..``); the
controller computes on one while the stream fills the other. A bank is ``input_size`` beats:
``x_chunks - 1`` whole chunks of ``lanes`` beats, then ``tail`` beats (``input_size`` not a
multiple of ``lanes``: the last chunk's other lanes are pad slots, never written, so they read 0,
the memory's initial contents).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class InputBanks(wiring.Component):
    """Steer input beats into the x banks and track which banks are full.

    Ports:
      in_valid (in, 1), in_ready (out, 1), in_last (in, 1): the input stream (its data goes to the memory's write
        port directly); in_ready is low while the bank to fill is full, and in a ``hold`` cycle.
      hold (in, 1): the shared write port is busy this cycle (an h word is written): no beat moves.
      hold_next (in, 1): the same, known a cycle early: in_ready is then low from a register of its own (no path
        from the hold's source, the state update, through in_ready into the stream's producer).
      release (in, 1), release_bank (in, 1): the controller is done with bank ``release_bank`` (it may refill).
      full (out, 2): bank b holds a whole step; last (out, 2): bank b's step ends its sequence (valid while full).
      addr (out, x_chunks.bit_length() + 2): the vector-memory word of the beat (bank · x_chunks + chunk).
      lane_en (out, lanes): the beat's lane write enable (one-hot; 0 when no beat moves).

    Parameters:
      lanes: vector lanes per memory word, >= 1. input_size: beats per step (the layer-0 input), >= 1.
    """

    def __init__(self, lanes: int, input_size: int):
        for what, value in (("lanes", lanes), ("input size", input_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                self._MustUse__silence = True  # refused: not an unused design
                raise ValueError(f"{what} must be an integer >= 1, not {value!r}")
        self.lanes, self.input_size = lanes, input_size
        self.x_chunks = -(-input_size // lanes)
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_last": In(1), "hold": In(1), "hold_next": In(1),
            "release": In(1), "release_bank": In(1), "full": Out(2), "last": Out(2),
            "addr": Out(self.x_chunks.bit_length() + 2), "lane_en": Out(lanes),
        })

    def elaborate(self, platform):
        m = Module()
        lanes, xc, X = self.lanes, self.x_chunks, self.input_size
        full, last = self.full, Signal(2, reset_less=True)  # last[b] is read only while full[b]
        m.d.comb += self.last.eq(last)
        fill = Signal()
        in_chunk, in_lane = Signal(range(max(xc, 2))), Signal(range(max(lanes, 2)))
        # Without a tail (X a multiple of lanes) the writer is the same logic as ever.
        tail = X - (xc - 1) * lanes
        # Registered decodes: in_ready (= ~full[fill] & ~hold_next a cycle before), the last lane of a chunk, the last chunk of a bank,
        # and "the next beat completes the bank" (bank_last = lane_end & chunk_end; bank_end[b]: and fills bank b).
        # The hold pulse gates the beat, so every decision after it is one LUT of registers: bank b completes on
        # beat & bank_end[b], and in_ready's next value picks one of two precomputed outcomes.
        first_end = (tail if xc == 1 else lanes) == 1  # lane_end in a bank's first chunk
        lane_end, chunk_end = Signal(init=int(first_end)), Signal(init=int(xc == 1))
        bank_last = Signal(init=int(first_end and xc == 1))
        bank_end = Signal(2, init=int(first_end and xc == 1))
        ready_out = Signal(init=1)  # ~full[fill] & ~hold_next, registered
        m.d.comb += self.in_ready.eq(ready_out & ~self.hold)
        beat = self.in_valid & self.in_ready
        if tail == lanes:
            lane_end_n = Mux(lane_end, lanes == 1, in_lane == lanes - 2)
        else:  # the tail chunk (a bank's last) ends at lane tail - 1; after it, the next bank's chunk 0
            lane_end_n = Mux(lane_end, Mux(chunk_end, first_end, Mux(in_chunk == xc - 2, tail == 1, lanes == 1)),
                             Mux(chunk_end, in_lane == tail - 2, in_lane == lanes - 2))
        chunk_end_n = Mux(lane_end, Mux(chunk_end, xc == 1, in_chunk == xc - 2), chunk_end)
        fill_n = fill ^ bank_last
        with m.If(beat):
            m.d.sync += [in_lane.eq(in_lane + 1), lane_end.eq(lane_end_n), chunk_end.eq(chunk_end_n),
                         bank_last.eq(lane_end_n & chunk_end_n),
                         bank_end.eq(Mux(lane_end_n & chunk_end_n, Mux(fill_n, 0b10, 0b01), 0))]
            with m.If(lane_end):
                m.d.sync += [in_lane.eq(0), in_chunk.eq(in_chunk + 1)]
                with m.If(chunk_end):
                    m.d.sync += in_chunk.eq(0)
        set_full, clear_full = Signal(2), Signal(2)
        m.d.comb += set_full.eq(bank_end & beat.replicate(2))
        with m.If(beat & bank_last):
            m.d.sync += fill.eq(~fill)
        for b in range(2):
            with m.If(set_full[b]):
                m.d.sync += last[b].eq(self.in_last)
        with m.If(self.release):
            m.d.comb += clear_full.eq(1 << self.release_bank)
        free = ~full | clear_full  # bank b is not full in the next cycle, unless this beat completes it
        ready_n = Mux(beat & bank_last, free.bit_select(~fill, 1), free.bit_select(fill, 1))
        m.d.sync += [full.eq((full | set_full) & ~clear_full), ready_out.eq(ready_n & ~self.hold_next)]
        m.d.comb += [self.addr.eq(fill * xc + in_chunk), self.lane_en.eq(Mux(beat, 1 << in_lane, 0))]
        return m
