"""The host link's frame receiver: host frames (bytes from the UART) into buffer writes and commands.

:class:`FrameReceiver` parses the frames of :mod:`hwgen.fpga.protocol` byte by byte, checks
their checksum, writes LOAD_INPUTS words into the input buffer and WRITE_WEIGHTS words into
the accelerator's weight memory, starts a RUN on the :class:`~hwgen.fpga.run_engine.RunEngine`
and hands each reply (command, length, error code) to the
:class:`~hwgen.fpga.frame_tx.FrameTransmitter`, waiting until it has gone out.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Iterator

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hwgen.fpga.protocol import HOST_SYNC, Command, ErrorCode, word_bytes
from hwgen.hw.onehot import OneHotFSM


@contextmanager
def refusing(component: object) -> Iterator[None]:
    """Parameter checks in a constructor: a component refused with a ValueError is not an unused design
    (no UnusedElaboratable warning when it is collected)."""
    try:
        yield
    except ValueError:
        component._MustUse__silence = True
        raise


def check_depth(what: str, depth: object) -> None:
    """A buffer depth the frame format can count (LEN and the RUN reply's outputs are 16-bit)."""
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 0xFFFF:
        raise ValueError(f"{what} must be an integer in 1..65535, not {depth!r}")


def check_width(what: str, width: object, low: int = 1) -> None:
    if not isinstance(width, int) or isinstance(width, bool) or width < low:
        raise ValueError(f"{what} must be an integer >= {low}, not {width!r}")


class FrameReceiver(wiring.Component):
    """Receive host frames and act on them.

    Ports:
      byte_data (in, 8), byte_valid (in, 1), byte_ready (out, 1): the received byte stream (a byte moves when
        valid and ready are high); ready is high while the one-byte stage is empty.
      in_we (out, 1), in_addr (out, ceil_log2(input_depth)), in_data (out, in_width): the input buffer's write
        port, registered (address and data load every cycle; in_we says when they are a write).
      w_we (out, 1), w_addr (out, weight_addr_width), w_data (out, weight_width): the accelerator's weight-write
        port; only when ``weight_width`` > 0. w_we is high for one cycle per assembled weight word.
      run_start (out, 1): a one-cycle pulse, a RUN was accepted; run_final (out, 1): the RUN ends the sequence;
        run_words (out, range(input_depth + 2)): words loaded; run_single (out, 1): run_words == 1.
      run_done (in, 1), run_done_ready (out, 1): the run engine has finished (taken when both are high).
      n_outputs (in, range(output_depth + 2)): words the last RUN captured (for READ_OUTPUTS' length).
      reply (out, 1), reply_ready (in, 1): a reply is waiting in reply_cmd (out, 8), reply_len (out, 16) and
        reply_err (out, 8) (taken when both are high).
      sent (in, 1), sent_ready (out, 1): the transmitter has sent the reply (taken when both are high).

    Parameters:
      in_width: bits of an input word. out_width: bits of an output word.
      weight_width: bits of a weight word, 0 when the accelerator has no weight-write port.
      weight_addr_width: bits of the weight address (0 with ``weight_width`` 0).
      input_depth, output_depth: words the input and output buffers hold, 1..65535.
      info_length: bytes of the INFO reply's payload.
    """

    def __init__(self, *, in_width: int, out_width: int, weight_width: int = 0, weight_addr_width: int = 0,
                 input_depth: int, output_depth: int, info_length: int):
        with refusing(self):
            check_width("input word width", in_width)
            check_width("output word width", out_width)
            check_width("weight word width", weight_width, 0)
            check_width("weight address width", weight_addr_width, 0)
            if weight_width and not weight_addr_width:
                raise ValueError("a weight-write port needs a weight address width >= 1")
            check_depth("input depth", input_depth)
            check_depth("output depth", output_depth)
            check_depth("INFO length", info_length)
        self.in_width, self.out_width = in_width, out_width
        self.weight_width, self.weight_addr_width = weight_width, weight_addr_width
        self.input_depth, self.output_depth, self.info_length = input_depth, output_depth, info_length
        ports = {
            "byte_data": In(8), "byte_valid": In(1), "byte_ready": Out(1),
            "in_we": Out(1), "in_addr": Out(unsigned(ceil_log2(input_depth))), "in_data": Out(in_width),
            "run_start": Out(1), "run_final": Out(1), "run_words": Out(range(input_depth + 2)), "run_single": Out(1),
            "run_done": In(1), "run_done_ready": Out(1), "n_outputs": In(range(output_depth + 2)),
            "reply": Out(1), "reply_ready": In(1), "reply_cmd": Out(8), "reply_len": Out(16), "reply_err": Out(8),
            "sent": In(1), "sent_ready": Out(1),
        }
        if weight_width:
            ports.update({"w_we": Out(1), "w_addr": Out(weight_addr_width), "w_data": Out(weight_width)})
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        s = self._registers()
        self._byte_stage(m, s)
        rx = OneHotFSM(m, ("RX_SYNC", "RX_CMD", "RX_LEN0", "RX_LEN1", "RX_PAYLOAD", "RX_WEIGHT_WRITE", "RX_CHECK",
                           "VERIFY", "DECIDE", "EXEC", "RUN", "WAIT_TX"), "rx")
        # The states that consume a byte, and those whose byte counts in the checksum, as registered sets: `take`
        # and the checksum's enable are one gate each, and the checksum has one source (cleared by the SYNC byte).
        rx_taking = rx.group("rx_taking", ("RX_SYNC", "RX_CMD", "RX_LEN0", "RX_LEN1", "RX_PAYLOAD", "RX_CHECK"))
        rx_summing = rx.group("rx_summing", ("RX_CMD", "RX_LEN0", "RX_LEN1", "RX_PAYLOAD", "RX_CHECK"))
        m.d.comb += s.take.eq(s.rx_valid & rx_taking)
        with m.If(s.rx_valid & rx_summing):
            m.d.sync += s.csum.eq(s.csum + s.byte)
        with m.Elif(s.take):  # RX_SYNC
            m.d.sync += s.csum.eq(0)
        if self.weight_width:
            m.d.comb += [self.w_addr.eq(s.w_addr), self.w_data.eq(s.word[-8 * s.w_bytes:])]
        # n_outputs * out_bytes as shifts and adds: a constant product must not take a DSP.
        out_bytes = word_bytes(self.out_width)
        m.d.comb += s.out_len.eq(sum(self.n_outputs << i for i in range(out_bytes.bit_length()) if out_bytes >> i & 1))
        with m.If(self.run_start):  # a one-cycle pulse
            m.d.sync += self.run_start.eq(0)
        self._header(m, s, rx)
        self._payload(m, s, rx)
        self._command(m, s, rx)
        with m.If(self.reply & self.reply_ready):
            m.d.sync += self.reply.eq(0)
        return m

    def _registers(self) -> SimpleNamespace:
        """The receiver's state (its own registers; the ports it drives are registers too)."""
        in_bytes = word_bytes(self.in_width)
        w_bytes = word_bytes(self.weight_width) if self.weight_width else 1
        s = SimpleNamespace(in_bytes=in_bytes, w_bytes=w_bytes)
        # A one-byte stage after the UART with precomputed flags, so the protocol FSM's
        # next-state logic never waits on a byte compare.
        s.byte, s.rx_valid = Signal(8, name="byte"), Signal(name="rx_valid")
        s.rx_is_sync, s.rx_is_zero, s.rx_is_one = (Signal(name=n) for n in ("rx_is_sync", "rx_is_zero", "rx_is_one"))
        s.take = Signal()          # the FSM consumes `byte` this cycle
        s.len_lo_zero, s.len_lo_one = Signal(name="len_lo_zero"), Signal(name="len_lo_one")
        s.last_byte = Signal()     # remaining == 1
        s.op_info, s.op_load, s.op_run, s.op_read, s.op_write = (Signal(name=f"op_{n}") for n in
                                                                  ("info", "load", "run", "read", "write"))
        s.loaded = Signal()        # a LOAD_INPUTS succeeded (n_inputs > 0)
        s.length, s.remaining = Signal(16, name="length"), Signal(16, name="remaining")
        s.csum, s.csum_ok = Signal(8, name="csum"), Signal(name="csum_ok")
        s.cmd = Signal(8)          # the command byte (echoed in the reply)
        s.x_err, s.x_is_err, s.x_run, s.x_len = (Signal(8, name="x_err"), Signal(name="x_is_err"), Signal(name="x_run"),
                                                 Signal(16, name="x_len"))  # DECIDE's outcome
        s.too_long = Signal()
        s.word = Signal(8 * max(in_bytes, w_bytes, 4))
        # Bytes left in the word being assembled (an input word, a 4-byte weight address, a weight word), minus one,
        # and word_last (word_left == 0) registered: the payload's per-word decisions read one flop.
        s.word_left, s.word_last = Signal(range(max(in_bytes, w_bytes, 4)), name="word_left"), Signal(name="word_last")
        s.wr_ptr = Signal(range(self.input_depth + 2))
        s.in_room = Signal()       # wr_ptr < input_depth (registered)
        s.shifted = Cat(s.word[8:], s.byte)  # the word being assembled, with the byte at hand on top
        s.w_addr = Signal(max(self.weight_addr_width, 1))
        s.w_addr_done, s.w_last = Signal(name="w_addr_done"), Signal(name="w_last")
        s.out_len = Signal(16)
        return s

    def _byte_stage(self, m: Module, s: SimpleNamespace) -> None:
        # The stage takes a byte only when empty (not in the cycle the FSM empties it): no path runs from the FSM's
        # state decode through the UART handshake; bytes come thousands of cycles apart, so the bubble costs nothing.
        m.d.comb += self.byte_ready.eq(~s.rx_valid)
        with m.If(self.byte_valid & self.byte_ready):
            m.d.sync += [s.byte.eq(self.byte_data), s.rx_valid.eq(1), s.rx_is_sync.eq(self.byte_data == HOST_SYNC),
                         s.rx_is_zero.eq(self.byte_data == 0), s.rx_is_one.eq(self.byte_data == 1)]
        with m.Elif(s.take):
            m.d.sync += s.rx_valid.eq(0)
        # The input buffer's write port is registered: the protocol FSM's next-state logic ends at flops, not at
        # the block RAM (its words are read only by a later RUN). Address and data load every cycle (no enable to
        # decode): only in_we says when they are a write.
        m.d.sync += [self.in_we.eq(0), self.in_addr.eq(s.wr_ptr), self.in_data.eq(s.shifted[-8 * s.in_bytes:])]

    def _respond(self, m: Module, rx: OneHotFSM, command, nbytes, err=0) -> None:
        """Hand a reply to the transmitter and wait for it to go out."""
        m.d.sync += [self.reply_cmd.eq(command), self.reply_len.eq(nbytes), self.reply_err.eq(err), self.reply.eq(1)]
        rx.next("WAIT_TX")

    def _header(self, m: Module, s: SimpleNamespace, rx: OneHotFSM) -> None:
        """SYNC, CMD, LEN: the op flags decoded once, the length and its first word counter loaded."""
        in_bytes, byte = s.in_bytes, s.byte
        with rx.state("RX_SYNC"):
            with m.If(s.rx_valid & s.rx_is_sync):
                rx.next("RX_CMD")
        with rx.state("RX_CMD"):
            with m.If(s.rx_valid):
                m.d.sync += [s.too_long.eq(0),
                             s.wr_ptr.eq(0), s.in_room.eq(1), s.w_addr_done.eq(0),
                             s.op_info.eq(byte == Command.INFO), s.op_load.eq(byte == Command.LOAD_INPUTS),
                             s.op_run.eq(byte == Command.RUN), s.op_read.eq(byte == Command.READ_OUTPUTS),
                             s.op_write.eq(byte == Command.WRITE_WEIGHTS), self.run_final.eq(1), s.cmd.eq(byte)]
                rx.next("RX_LEN0")
        with rx.state("RX_LEN0"):
            with m.If(s.rx_valid):
                m.d.sync += [s.length[:8].eq(byte), s.len_lo_zero.eq(s.rx_is_zero), s.len_lo_one.eq(s.rx_is_one),
                             s.word_left.eq(Mux(s.op_load, in_bytes - 1, 3)),
                             s.word_last.eq(s.op_load & (in_bytes == 1))]
                rx.next("RX_LEN1")
        with rx.state("RX_LEN1"):
            with m.If(s.rx_valid):
                m.d.sync += [s.length[8:].eq(byte), s.remaining.eq(Cat(s.length[:8], byte)),
                             s.last_byte.eq(s.len_lo_one & s.rx_is_zero)]
                with m.If(s.len_lo_zero & s.rx_is_zero):
                    rx.next("RX_CHECK")
                with m.Else():
                    rx.next("RX_PAYLOAD")

    def _payload(self, m: Module, s: SimpleNamespace, rx: OneHotFSM) -> None:
        """PAYLOAD and CHECK: input words into the buffer, the weight address and words to the weight port."""
        in_bytes, w_bytes, word_last = s.in_bytes, s.w_bytes, s.word_last
        has_w = bool(self.weight_width)
        with rx.state("RX_PAYLOAD"):
            with m.If(s.rx_valid):
                m.d.sync += [s.remaining.eq(s.remaining - 1), s.last_byte.eq(s.remaining == 2),
                             s.word.eq(s.shifted)]
                with m.If(word_last):  # the next word: an input word, or after the address a weight word
                    m.d.sync += [s.word_left.eq(Mux(s.op_load, in_bytes - 1, w_bytes - 1)),
                                 word_last.eq(Mux(s.op_load, in_bytes == 1, w_bytes == 1))]
                with m.Else():
                    m.d.sync += [s.word_left.eq(s.word_left - 1), word_last.eq(s.word_left == 1)]
                # One transition per cycle (one-hot): a completed weight word goes to RX_WEIGHT_WRITE, which
                # continues to RX_CHECK after the last byte.
                w_word_done = (s.op_write & s.w_addr_done & word_last) if has_w else Const(0)
                with m.If(s.last_byte & ~w_word_done):
                    rx.next("RX_CHECK")
                with m.If(s.op_load):
                    with m.If(word_last):
                        with m.If(s.in_room):
                            m.d.sync += [self.in_we.eq(1), s.wr_ptr.eq(s.wr_ptr + 1),
                                         s.in_room.eq(s.wr_ptr != self.input_depth - 1)]
                        with m.Else():
                            m.d.sync += s.too_long.eq(1)
                with m.If(s.op_run):
                    m.d.sync += self.run_final.eq(s.byte[0])
                with m.If(s.op_write):
                    with m.If(~s.w_addr_done & word_last):
                        m.d.sync += [s.w_addr.eq(s.shifted[-32:]), s.w_addr_done.eq(1)]  # truncated to the port
                    if has_w:
                        with m.If(s.w_addr_done & word_last):
                            m.d.sync += s.w_last.eq(s.last_byte)
                            rx.next("RX_WEIGHT_WRITE")
        with rx.state("RX_WEIGHT_WRITE"):
            # One cycle with the assembled word on w_data; the UART is far slower.
            if has_w:
                m.d.comb += self.w_we.eq(1)
            m.d.sync += s.w_addr.eq(s.w_addr + 1)
            with m.If(s.w_last):
                rx.next("RX_CHECK")
            with m.Else():
                rx.next("RX_PAYLOAD")
        with rx.state("RX_CHECK"):
            with m.If(s.rx_valid):
                rx.next("VERIFY")

    def _command(self, m: Module, s: SimpleNamespace, rx: OneHotFSM) -> None:
        """VERIFY the checksum, DECIDE the outcome, EXEC it (a RUN, or a reply), wait for the run and the reply."""
        op_info, op_load, op_run, op_read, op_write = s.op_info, s.op_load, s.op_run, s.op_read, s.op_write
        with rx.state("VERIFY"):
            m.d.sync += s.csum_ok.eq(s.csum == 0)
            rx.next("DECIDE")
        with rx.state("DECIDE"):
            # The outcome of the command into registers (the op flags are one-hot, decoded at RX_CMD), so
            # EXEC's next-state and reply logic read single flops: no priority chain ends at a register.
            csum_ok = s.csum_ok
            bad_load, no_inputs = op_load & s.too_long, op_run & ~s.loaded
            no_memory = op_write if not self.weight_width else Const(0)
            unknown = ~(op_info | op_load | op_run | op_read | op_write)
            m.d.sync += [
                s.x_err.eq(Mux(~csum_ok, ErrorCode.BAD_CHECKSUM, Mux(bad_load, ErrorCode.TOO_LONG,
                           Mux(no_inputs, ErrorCode.NO_INPUTS, Mux(no_memory, ErrorCode.NO_WEIGHT_MEMORY,
                                                                   ErrorCode.UNKNOWN_COMMAND))))),
                s.x_is_err.eq(~csum_ok | bad_load | no_inputs | no_memory | unknown),
                s.x_run.eq(csum_ok & op_run & s.loaded),
                s.x_len.eq(Mux(op_info, self.info_length, Mux(op_read, s.out_len, 0))),
            ]
            with m.If(op_load):
                m.d.sync += [self.run_words.eq(s.wr_ptr), s.loaded.eq(csum_ok & ~s.too_long & (s.wr_ptr != 0)),
                             self.run_single.eq(s.wr_ptr == 1)]
            rx.next("EXEC")
        with rx.state("EXEC"):
            with m.If(s.x_run):
                m.d.sync += self.run_start.eq(1)
                rx.next("RUN")
            with m.Else():
                self._respond(m, rx, Mux(s.x_is_err, Command.ERROR, s.cmd), Mux(s.x_is_err, 1, s.x_len), s.x_err)
        m.d.comb += [self.run_done_ready.eq(rx.ongoing("RUN")), self.sent_ready.eq(rx.ongoing("WAIT_TX"))]
        with rx.state("RUN"):
            with m.If(self.run_done):
                self._respond(m, rx, Command.RUN, 6)
        with rx.state("WAIT_TX"):
            with m.If(self.sent):
                rx.next("RX_SYNC")
