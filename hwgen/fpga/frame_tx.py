"""The host link's frame transmitter: one reply frame (header, payload, CHECK) per request, as bytes for the UART.

:class:`FrameTransmitter` sends the device's replies of :mod:`hwgen.fpga.protocol`: the header
(SYNC, CMD, LEN), then the payload picked by the reply's command (the INFO bytes, a RUN's cycle
count and output count, the output buffer's words for READ_OUTPUTS, the error code for ERROR),
then the CHECK byte. It is its own state machine, separate from the receiver's, so each has few
states (short next-state logic).
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Const, Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hwgen.fpga.frame_rx import check_depth, check_width, refusing
from hwgen.fpga.protocol import DEVICE_SYNC, Command, word_bytes
from hwgen.hw.onehot import OneHotFSM


class FrameTransmitter(wiring.Component):
    """Send one reply frame per request.

    Ports:
      reply (in, 1), reply_ready (out, 1): a reply is waiting in reply_cmd (in, 8), reply_len (in, 16, payload
        bytes) and reply_err (in, 8, the ERROR payload); taken when both are high (ready: the transmitter is idle).
        reply_cmd and reply_len are read in that cycle, reply_err while the payload goes out: hold it until sent.
      sent (out, 1), sent_ready (in, 1): the frame has gone out (held until taken, when both are high).
      byte_data (out, 8), byte_valid (out, 1), byte_ready (in, 1): the frame's bytes, to the UART (a byte moves
        when valid and ready are high).
      out_addr (out, ceil_log2(output_depth)), out_data (in, out_width): the output buffer's read port (latency 1),
        for a READ_OUTPUTS reply: each word sign-extended to whole bytes, little endian.
      cycles (in, 32), n_outputs (in, range(output_depth + 2)): the RUN reply's payload (read while it is sent).

    Parameters:
      out_width: bits of an output word. output_depth: words the output buffer holds, 1..65535.
      info: the INFO reply's payload (1..32 bytes).
    """

    def __init__(self, *, out_width: int, output_depth: int, info: bytes):
        with refusing(self):
            check_width("output word width", out_width)
            check_depth("output depth", output_depth)
            if not isinstance(info, bytes) or not 1 <= len(info) <= 32:
                raise ValueError(f"INFO payload must be 1..32 bytes, not {info!r}")
        self.out_width, self.output_depth, self.info = out_width, output_depth, info
        super().__init__({
            "reply": In(1), "reply_ready": Out(1), "reply_cmd": In(8), "reply_len": In(16), "reply_err": In(8),
            "sent": Out(1), "sent_ready": In(1),
            "byte_data": Out(8), "byte_valid": Out(1), "byte_ready": In(1),
            "out_addr": Out(unsigned(ceil_log2(output_depth))), "out_data": In(out_width),
            "cycles": In(32), "n_outputs": In(range(output_depth + 2)),
        })

    def elaborate(self, platform):
        m = Module()
        s = self._registers()
        tx = OneHotFSM(m, ("TX_IDLE", "TX_SYNC", "TX_CMD", "TX_LEN0", "TX_LEN1", "TX_PREP", "TX_PICK", "TX_LATCH",
                           "TX_PAYLOAD", "TX_SUM", "TX_CHECK"), "tx")
        # Registered state sets: the UART handshake, the checksum and the header shift each read one flop.
        tx_offer = tx.group("tx_offer", ("TX_SYNC", "TX_CMD", "TX_LEN0", "TX_LEN1", "TX_PAYLOAD", "TX_CHECK"))
        tx_counted = tx.group("tx_counted", ("TX_CMD", "TX_LEN0", "TX_LEN1", "TX_PAYLOAD"))
        tx_header = tx.group("tx_header", ("TX_SYNC", "TX_CMD", "TX_LEN0"))
        # Every byte goes out of one register, tx_byte (the bottom of a 4-byte shift register that TX_IDLE loads
        # with the header), so the UART sees no multiplexer over the transmit FSM's states and tx_byte's next
        # value picks from few sources: the header shifting down, the payload byte, the CHECK byte.
        m.d.comb += [self.byte_data.eq(s.tx_byte), self.byte_valid.eq(tx_offer)]
        with m.If(self.byte_ready & tx_offer):
            with m.If(tx_counted):
                m.d.sync += s.tx_check.eq(s.tx_check - s.tx_byte)
            with m.If(tx_header):
                m.d.sync += s.tx_shift.eq(s.tx_shift >> 8)
        m.d.comb += [self.out_addr.eq(s.tx_word), self.reply_ready.eq(tx.ongoing("TX_IDLE"))]
        with m.If(self.sent & self.sent_ready):
            m.d.sync += self.sent.eq(0)
        self._header(m, s, tx)
        self._payload(m, s, tx)
        return m

    def _registers(self) -> SimpleNamespace:
        s = SimpleNamespace()
        s.tx_last_idx = Signal(16)
        s.tx_empty = Signal()      # reply_len == 0 (registered)
        s.tx_at_last = Signal()    # tx_idx == tx_last_idx (registered in TX_PREP)
        s.tx_idx = Signal(16)
        s.tx_check = Signal(8)     # minus the byte sum sent so far: the frame's CHECK byte, kept up to date
        s.tx_word = Signal(range(self.output_depth + 2))
        s.tx_byte_in_word = Signal(range(word_bytes(self.out_width)))
        s.tx_shift = Signal(32)
        s.tx_byte = s.tx_shift[:8]
        s.payload_r = Signal(8)    # the payload byte, registered in TX_PICK
        # The payload byte in two registered steps: TX_PREP latches the INFO and RUN candidates (tx_idx is steady),
        # TX_LATCH picks one by registered one-hot flags of the reply kind (an AND-OR, no compare of the command).
        s.info_r, s.run_r = Signal(8, name="info_r"), Signal(8, name="run_r")
        s.is_info, s.is_run, s.is_read, s.is_error = (Signal(name=n) for n in
                                                       ("is_info", "is_run", "is_read", "is_error"))
        return s

    def _send(self, m: Module, tx: OneHotFSM, next_state: str, instead=None) -> None:
        """Once the UART takes tx_byte (offered in the tx_offer states), go to `next_state`
        (`instead=(flag, state)`: to `state` if `flag`)."""
        with m.If(self.byte_ready):
            if instead is None:
                tx.next(next_state)
            else:
                with m.If(instead[0]):
                    tx.next(instead[1])
                with m.Else():
                    tx.next(next_state)

    def _header(self, m: Module, s: SimpleNamespace, tx: OneHotFSM) -> None:
        """TX_IDLE takes a reply and loads the header; SYNC, CMD and LEN go out of the shift register."""
        with tx.state("TX_IDLE"):
            with m.If(self.reply):
                cmd, length = self.reply_cmd, self.reply_len
                m.d.sync += [s.tx_last_idx.eq(length - 1), s.tx_idx.eq(0), s.tx_check.eq(0),
                             s.tx_word.eq(0), s.tx_byte_in_word.eq(0), s.tx_empty.eq(length == 0),
                             s.is_info.eq(cmd == Command.INFO), s.is_run.eq(cmd == Command.RUN),
                             s.is_read.eq(cmd == Command.READ_OUTPUTS), s.is_error.eq(cmd == Command.ERROR),
                             s.tx_shift.eq(Cat(Const(DEVICE_SYNC, 8), cmd, length))]
                tx.next("TX_SYNC")
        with tx.state("TX_SYNC"):
            self._send(m, tx, "TX_CMD")
        with tx.state("TX_CMD"):
            self._send(m, tx, "TX_LEN0")
        with tx.state("TX_LEN0"):
            self._send(m, tx, "TX_LEN1")
        with tx.state("TX_LEN1"):
            self._send(m, tx, "TX_PREP", instead=(s.tx_empty, "TX_SUM"))

    def _payload(self, m: Module, s: SimpleNamespace, tx: OneHotFSM) -> None:
        """The payload bytes (PREP, PICK, LATCH, PAYLOAD per byte), then the CHECK byte."""
        out_bytes = word_bytes(self.out_width)
        info_rom = Array(Const(b, 8) for b in self.info)
        run_word = Signal(48)
        m.d.comb += run_word.eq(Cat(self.cycles, self.n_outputs))
        run_bytes = Array(run_word[8 * i:8 * i + 8] for i in range(6))
        out_word = Signal(8 * out_bytes)
        m.d.comb += out_word.eq(self.out_data.as_signed())  # sign-extended to whole bytes
        out_byte = out_word.word_select(s.tx_byte_in_word, 8)
        payload_byte = ((s.info_r & s.is_info.replicate(8)) | (s.run_r & s.is_run.replicate(8))
                        | (out_byte & s.is_read.replicate(8)) | (self.reply_err & s.is_error.replicate(8)))
        with tx.state("TX_PREP"):
            # One cycle for the output buffer's read port to show out_mem[tx_word]; the last-byte test is
            # registered here (tx_idx is steady) so TX_PAYLOAD's next state reads one flop.
            m.d.sync += [s.tx_at_last.eq(s.tx_idx == s.tx_last_idx), s.info_r.eq(info_rom[s.tx_idx[:5]]),
                         s.run_r.eq(run_bytes[s.tx_idx[:3]])]
            tx.next("TX_PICK")
        with tx.state("TX_PICK"):
            m.d.sync += s.payload_r.eq(payload_byte)
            tx.next("TX_LATCH")
        with tx.state("TX_LATCH"):
            # The byte is captured: step to the next one here, where no handshake gates the counters.
            m.d.sync += [s.tx_byte.eq(s.payload_r), s.tx_idx.eq(s.tx_idx + 1)]
            with m.If(s.tx_byte_in_word == out_bytes - 1):
                m.d.sync += [s.tx_byte_in_word.eq(0), s.tx_word.eq(s.tx_word + 1)]
            with m.Else():
                m.d.sync += s.tx_byte_in_word.eq(s.tx_byte_in_word + 1)
            tx.next("TX_PAYLOAD")
        with tx.state("TX_PAYLOAD"):
            self._send(m, tx, "TX_PREP", instead=(s.tx_at_last, "TX_SUM"))
        with tx.state("TX_SUM"):
            # The CHECK byte is ready in tx_check (subtracted as each byte went): a register move, no negation.
            m.d.sync += s.tx_byte.eq(s.tx_check)
            tx.next("TX_CHECK")
        with tx.state("TX_CHECK"):
            self._send(m, tx, "TX_IDLE")
            with m.If(self.byte_ready):
                m.d.sync += self.sent.eq(1)
