"""The FPGA top level without the board: UART + frame engine + the accelerator.

:class:`HostLink` is the whole design a board carries, minus pins and clocking, so the
same module is synthesised for a board (:mod:`hwgen.fpga.board_top`) and simulated
in Verilator with a host speaking the frame protocol over ``rx``/``tx``
(:mod:`hwgen.fpga.hostsim`). The frame format is in :mod:`hwgen.fpga.protocol`.

The accelerator is any Amaranth component with the ports of
``docs/accelerator-interface.md`` (``in_valid/in_ready/in_data/in_last``,
``out_valid/out_ready/out_data/out_last``), plus ``wmem_we/wmem_addr/wmem_data``
when its weights sit in RAM that the bitstream cannot preload (SPRAM).
"""


from dataclasses import dataclass

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.fpga.protocol import DEVICE_SYNC, HOST_SYNC, Command, DeviceInfo, ErrorCode, word_bytes
from hwgen.hw.onehot import OneHotFSM
from hwgen.fpga.uart import UARTRx, UARTTx
from hwgen.hw.pipeline import NO_RW_CHECK, registered_read


#: Output buffers of at most this many words are registers instead of block RAM.
REGISTER_BUFFER_WORDS = 32


@dataclass(frozen=True)
class AcceleratorPorts:
    """Widths read off an accelerator component's ports (the contract's flat names)."""

    in_width: int
    out_width: int
    weight_width: int   # 0 when the accelerator has no weight-write port
    weight_addr_width: int

    @classmethod
    def of(cls, accel) -> "AcceleratorPorts":
        missing = [n for n in ("in_valid", "in_ready", "in_data", "in_last",
                               "out_valid", "out_ready", "out_data", "out_last") if not hasattr(accel, n)]
        if missing:
            raise ValueError(f"accelerator {type(accel).__name__} lacks ports {', '.join(missing)} "
                             f"(see docs/accelerator-interface.md)")
        has_w = hasattr(accel, "wmem_we")
        return cls(len(accel.in_data), len(accel.out_data),
                   len(accel.wmem_data) if has_w else 0, len(accel.wmem_addr) if has_w else 0)


class HostLink(wiring.Component):
    """UART host link wrapped around an accelerator.

    Ports:
      rx (in, 1): serial line from the host (8N1, ``divisor`` clocks per bit).
      tx (out, 1): serial line to the host.
      busy (out, 1): high while a RUN is in progress (drive an LED with it).

    Parameters:
      accelerator: the component to drive (added as submodule ``accel``).
      divisor: clock cycles per UART bit (clock Hz / baud rate).
      input_depth / output_depth: words the input and output buffers hold (block RAM; registers for an
        output buffer of at most REGISTER_BUFFER_WORDS words).
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    busy: Out(1)

    def __init__(self, accelerator, *, divisor: int, input_depth: int = 2048, output_depth: int = 256):
        if input_depth < 1 or input_depth > 0xFFFF or output_depth < 1 or output_depth > 0xFFFF:
            raise ValueError(f"buffer depths must be 1..65535, not {input_depth} / {output_depth}")
        self.accelerator = accelerator
        self.ports = AcceleratorPorts.of(accelerator)
        self.divisor = divisor
        self.input_depth = input_depth
        self.output_depth = output_depth
        super().__init__()

    @property
    def info(self) -> DeviceInfo:
        p = self.ports
        return DeviceInfo(p.in_width, p.out_width, p.weight_width, self.input_depth,
                          self.output_depth, (1 << p.weight_addr_width) if p.weight_width else 0)

    def elaborate(self, platform):
        m = Module()
        p = self.ports
        acc = self.accelerator
        m.submodules.accel = acc
        m.submodules.uart_rx = urx = UARTRx(self.divisor)
        m.submodules.uart_tx = utx = UARTTx(self.divisor)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]

        in_bytes, out_bytes = word_bytes(p.in_width), word_bytes(p.out_width)
        w_bytes = word_bytes(p.weight_width) if p.weight_width else 1

        # Written only by LOAD_INPUTS and read only by a later RUN: no read ever meets a write (NO_RW_CHECK).
        m.submodules.in_mem = in_mem = Memory(shape=p.in_width, depth=self.input_depth, init=[], attrs=NO_RW_CHECK)
        # A small output buffer (a dense head's few logits) is flip-flops, not a block RAM of which it would use a
        # sliver: on the iCE40 UP5K those blocks are what an H=256 model runs out of.
        small = {"ram_style": "logic"} if self.output_depth <= REGISTER_BUFFER_WORDS else None
        m.submodules.out_mem = out_mem = Memory(shape=p.out_width, depth=self.output_depth, init=[], attrs=small)
        in_wr = in_mem.write_port()
        in_raddr, in_rdata = registered_read(m, in_mem, "in_mem")
        out_wr, out_rd = out_mem.write_port(), out_mem.read_port()
        # The output buffer's write port is registered too (address and data load every cycle, out_we says when):
        # the accelerator's out_valid reaches a flop, not the write decode of a register-file buffer. A word lands
        # one cycle after the beat; the transmit FSM reads it thousands of cycles later.
        out_we, out_waddr, out_wdata = Signal(), Signal.like(out_wr.addr), Signal.like(out_wr.data)
        m.d.comb += [out_wr.en.eq(out_we), out_wr.addr.eq(out_waddr), out_wr.data.eq(out_wdata)]

        # --- receive state ---
        # A one-byte stage after the UART with precomputed flags, so the protocol FSM's
        # next-state logic never waits on a byte compare.
        byte = Signal(8)
        rx_valid = Signal()
        rx_is_sync = Signal()
        rx_is_zero = Signal()
        rx_is_one = Signal()
        take = Signal()        # the FSM consumes `byte` this cycle
        len_lo_zero = Signal()
        len_lo_one = Signal()
        last_byte = Signal()   # remaining == 1
        # The stage takes a byte only when empty (not in the cycle the FSM empties it): no path runs from the FSM's
        # state decode through the UART handshake; bytes come thousands of cycles apart, so the bubble costs nothing.
        m.d.comb += urx.ready.eq(~rx_valid)
        with m.If(urx.valid & urx.ready):
            m.d.sync += [byte.eq(urx.data), rx_valid.eq(1), rx_is_sync.eq(urx.data == HOST_SYNC),
                         rx_is_zero.eq(urx.data == 0), rx_is_one.eq(urx.data == 1)]
        with m.Elif(take):
            m.d.sync += rx_valid.eq(0)
        op_info, op_load, op_run, op_read, op_write = (Signal(name=f"op_{n}") for n in
                                                        ("info", "load", "run", "read", "write"))
        loaded = Signal()      # a LOAD_INPUTS succeeded (n_inputs > 0)
        single = Signal()      # n_inputs == 1
        start = Signal()       # one-cycle pulse: EXEC accepted a RUN
        final = Signal()       # this RUN ends the sequence (in_last on its last word)
        length = Signal(16)
        remaining = Signal(16)
        csum = Signal(8)
        csum_ok = Signal()
        cmd = Signal(8)        # the command byte (echoed in the reply)
        x_err, x_is_err, x_run, x_len = Signal(8), Signal(), Signal(), Signal(16)  # DECIDE's outcome
        too_long = Signal()
        word = Signal(8 * max(in_bytes, w_bytes, 4))
        # Bytes left in the word being assembled (an input word, a 4-byte weight address, a weight word), minus one,
        # and word_last (word_left == 0) registered: the payload's per-word decisions read one flop.
        word_left = Signal(range(max(in_bytes, w_bytes, 4)))
        word_last = Signal()
        wr_ptr = Signal(range(self.input_depth + 2))
        in_room = Signal()     # wr_ptr < input_depth (registered)
        # The input buffer's write port is registered: the protocol FSM's next-state logic ends at flops, not at
        # the block RAM (its words are read only by a later RUN).
        in_we, in_waddr, in_wdata = Signal(), Signal.like(in_wr.addr), Signal.like(in_wr.data)
        # Address and data load every cycle (no enable to decode): only in_we says when they are a write.
        shifted = Cat(word[8:], byte)  # the word being assembled, with the byte at hand on top
        m.d.sync += [in_we.eq(0), in_waddr.eq(wr_ptr), in_wdata.eq(shifted[-8 * in_bytes:])]
        m.d.comb += [in_wr.en.eq(in_we), in_wr.addr.eq(in_waddr), in_wr.data.eq(in_wdata)]
        n_inputs = Signal(range(self.input_depth + 2))
        w_addr = Signal(max(p.weight_addr_width, 1))
        w_addr_done = Signal()
        w_last = Signal()

        # --- run state ---
        rd_ptr = Signal(range(self.input_depth + 2))
        rd_next = Signal(range(self.input_depth + 2))   # rd_ptr + 1, kept in a register so no adder sits behind in_ready
        left = Signal(range(self.input_depth + 2))      # input words not yet accepted by the accelerator
        have = Signal()        # left != 0 (registered: drives in_valid)
        one_left = Signal()    # left == 1 (registered: drives in_last)
        out_ptr = Signal(range(self.output_depth + 2))
        out_room = Signal()    # out_ptr < output_depth
        running = Signal()
        run_done = Signal()
        n_outputs = Signal(range(self.output_depth + 2))
        # The 32-bit cycle count as two 16-bit counters, the high one a cycle late (lo_carry is the low one's carry
        # out, registered): no chain longer than 16 bits and no enable fanning out from a carry. It is read only
        # after the run, thousands of cycles later. No reset: it is loaded before use (the domain's reset would add
        # a LUT level to every enable).
        cycles_lo, cycles_hi = Signal(16, reset_less=True), Signal(16, reset_less=True)
        lo_carry = Signal()
        cycles = Cat(cycles_lo, cycles_hi)

        # --- transmit state ---
        resp_cmd = Signal(8)
        resp_len = Signal(16)
        tx_go = Signal()       # receive FSM -> transmit FSM: a reply is ready in resp_*
        tx_done = Signal()     # transmit FSM -> receive FSM: the reply has gone out
        tx_last_idx = Signal(16)
        tx_empty = Signal()    # resp_len == 0 (registered)
        tx_at_last = Signal()  # tx_idx == tx_last_idx (registered in TX_PREP)
        resp_err = Signal(8)
        tx_idx = Signal(16)
        tx_check = Signal(8)   # minus the byte sum sent so far: the frame's CHECK byte, kept up to date
        tx_word = Signal(range(self.output_depth + 2))
        tx_byte_in_word = Signal(range(out_bytes))

        info_rom = Array(Const(b, 8) for b in self.info.pack())
        run_word = Signal(48)
        m.d.comb += run_word.eq(Cat(cycles, n_outputs))
        run_bytes = Array(run_word[8 * i:8 * i + 8] for i in range(6))
        out_word = Signal(8 * out_bytes)
        m.d.comb += out_word.eq(out_rd.data.as_signed())  # sign-extended to whole bytes
        out_byte = out_word.word_select(tx_byte_in_word, 8)

        # The payload byte in two registered steps: TX_PREP latches the INFO and RUN candidates (tx_idx is steady),
        # TX_LATCH picks one by registered one-hot flags of the reply kind (an AND-OR, no compare of resp_cmd).
        info_r, run_r = Signal(8), Signal(8)
        is_info, is_run, is_read, is_error = Signal(), Signal(), Signal(), Signal()
        payload_byte = ((info_r & is_info.replicate(8)) | (run_r & is_run.replicate(8))
                        | (out_byte & is_read.replicate(8)) | (resp_err & is_error.replicate(8)))

        rx = OneHotFSM(m, ("RX_SYNC", "RX_CMD", "RX_LEN0", "RX_LEN1", "RX_PAYLOAD", "RX_WEIGHT_WRITE", "RX_CHECK",
                           "VERIFY", "DECIDE", "EXEC", "RUN", "WAIT_TX"), "rx")
        tx = OneHotFSM(m, ("TX_IDLE", "TX_SYNC", "TX_CMD", "TX_LEN0", "TX_LEN1", "TX_PREP", "TX_PICK", "TX_LATCH", "TX_PAYLOAD",
                           "TX_SUM", "TX_CHECK"), "tx")
        # Registered state sets: the UART handshake, the checksum and the header shift each read one flop.
        tx_offer = tx.group("tx_offer", ("TX_SYNC", "TX_CMD", "TX_LEN0", "TX_LEN1", "TX_PAYLOAD", "TX_CHECK"))
        tx_counted = tx.group("tx_counted", ("TX_CMD", "TX_LEN0", "TX_LEN1", "TX_PAYLOAD"))
        tx_header = tx.group("tx_header", ("TX_SYNC", "TX_CMD", "TX_LEN0"))

        def respond(command, nbytes, err=0):
            """Hand a reply to the transmit FSM and wait for it to go out."""
            m.d.sync += [resp_cmd.eq(command), resp_len.eq(nbytes), resp_err.eq(err), tx_go.eq(1)]
            rx.next("WAIT_TX")

        # The states that consume a byte, and those whose byte counts in the checksum, as registered sets: `take`
        # and the checksum's enable are one gate each, and the checksum has one source (cleared by the SYNC byte).
        rx_taking = rx.group("rx_taking", ("RX_SYNC", "RX_CMD", "RX_LEN0", "RX_LEN1", "RX_PAYLOAD", "RX_CHECK"))
        rx_summing = rx.group("rx_summing", ("RX_CMD", "RX_LEN0", "RX_LEN1", "RX_PAYLOAD", "RX_CHECK"))
        m.d.comb += take.eq(rx_valid & rx_taking)
        with m.If(rx_valid & rx_summing):
            m.d.sync += csum.eq(csum + byte)
        with m.Elif(take):  # RX_SYNC
            m.d.sync += csum.eq(0)

        # Every byte goes out of one register, tx_byte (the bottom of a 4-byte shift register that TX_IDLE loads
        # with the header), so the UART sees no multiplexer over the transmit FSM's states and tx_byte's next
        # value picks from few sources: the header shifting down, the payload byte, the CHECK byte.
        tx_shift = Signal(32)
        tx_byte = tx_shift[:8]
        payload_r = Signal(8)  # payload_byte, registered in TX_PICK
        m.d.comb += [utx.data.eq(tx_byte), utx.valid.eq(tx_offer)]
        with m.If(utx.ready & tx_offer):
            with m.If(tx_counted):
                m.d.sync += tx_check.eq(tx_check - tx_byte)
            with m.If(tx_header):
                m.d.sync += tx_shift.eq(tx_shift >> 8)

        def send(next_state, instead=None):
            """Once the UART takes tx_byte (offered in the tx_offer states), go to `next_state`
            (`instead=(flag, state)`: to `state` if `flag`)."""
            with m.If(utx.ready):
                if instead is None:
                    tx.next(next_state)
                else:
                    with m.If(instead[0]):
                        tx.next(instead[1])
                    with m.Else():
                        tx.next(next_state)

        has_w = bool(p.weight_width)
        if has_w:
            m.d.comb += [acc.wmem_addr.eq(w_addr), acc.wmem_data.eq(word[-8 * w_bytes:])]

        # n_outputs * out_bytes as shifts and adds: a constant product must not take a DSP.
        out_len = Signal(16)
        m.d.comb += out_len.eq(sum(n_outputs << i for i in range(out_bytes.bit_length()) if out_bytes >> i & 1))
        m.d.comb += out_rd.addr.eq(tx_word)
        # Streaming the input buffer: the read port always shows in_mem[rd_ptr]. Only a
        # multiplexer (no carry chain) sits between the accelerator's in_ready and RADDR.
        advance = acc.in_valid & acc.in_ready
        m.d.comb += [in_raddr.eq(Mux(start, 0, Mux(advance, rd_next, rd_ptr))),
                     acc.in_data.eq(in_rdata), acc.in_last.eq(one_left & final)]

        # The run engine: its own registered flags, so no path runs from the protocol FSM's
        # state decoding through the accelerator's handshakes.
        out_we_next = Signal()
        m.d.sync += [out_we.eq(out_we_next), out_waddr.eq(out_ptr), out_wdata.eq(acc.out_data)]
        m.d.comb += [self.busy.eq(running), acc.in_valid.eq(running & have), acc.out_ready.eq(running)]
        lo_next = Signal(17)
        m.d.comb += lo_next.eq(cycles_lo + running)
        m.d.sync += [cycles_lo.eq(lo_next[:16]), lo_carry.eq(lo_next[16]), cycles_hi.eq(cycles_hi + lo_carry)]
        with m.If(start):
            # One cycle with in_raddr = 0, so in_mem[0] shows when running starts.
            m.d.sync += [start.eq(0), running.eq(1), rd_ptr.eq(0), rd_next.eq(1), left.eq(n_inputs),
                         have.eq(1), one_left.eq(single), out_ptr.eq(0), out_room.eq(1),
                         cycles_lo.eq(0), cycles_hi.eq(0), lo_carry.eq(0)]
        with m.If(running):
            with m.If(advance):
                m.d.sync += [rd_ptr.eq(rd_next), rd_next.eq(rd_next + 1), left.eq(left - 1),
                             have.eq(~one_left), one_left.eq(left == 2)]
                with m.If(one_left & ~final):
                    # A chunk of a longer sequence: done once the accelerator has taken it all.
                    m.d.sync += [n_outputs.eq(0), running.eq(0), run_done.eq(1)]
            with m.If(acc.out_valid):
                with m.If(out_room):
                    m.d.comb += out_we_next.eq(1)
                    m.d.sync += [out_ptr.eq(out_ptr + 1), out_room.eq(out_ptr != self.output_depth - 1)]
                with m.If(acc.out_last):
                    m.d.sync += [n_outputs.eq(Mux(out_room, out_ptr + 1, out_ptr)), running.eq(0),
                                 run_done.eq(1)]

        with rx.state("RX_SYNC"):
            with m.If(rx_valid & rx_is_sync):
                rx.next("RX_CMD")
        with rx.state("RX_CMD"):
            with m.If(rx_valid):
                m.d.sync += [too_long.eq(0),
                             wr_ptr.eq(0), in_room.eq(1), w_addr_done.eq(0),
                             op_info.eq(byte == Command.INFO), op_load.eq(byte == Command.LOAD_INPUTS),
                             op_run.eq(byte == Command.RUN), op_read.eq(byte == Command.READ_OUTPUTS),
                             op_write.eq(byte == Command.WRITE_WEIGHTS), final.eq(1), cmd.eq(byte)]
                rx.next("RX_LEN0")
        with rx.state("RX_LEN0"):
            with m.If(rx_valid):
                m.d.sync += [length[:8].eq(byte), len_lo_zero.eq(rx_is_zero), len_lo_one.eq(rx_is_one),
                             word_left.eq(Mux(op_load, in_bytes - 1, 3)), word_last.eq(op_load & (in_bytes == 1))]
                rx.next("RX_LEN1")
        with rx.state("RX_LEN1"):
            with m.If(rx_valid):
                m.d.sync += [length[8:].eq(byte), remaining.eq(Cat(length[:8], byte)),
                             last_byte.eq(len_lo_one & rx_is_zero)]
                with m.If(len_lo_zero & rx_is_zero):
                    rx.next("RX_CHECK")
                with m.Else():
                    rx.next("RX_PAYLOAD")
        with rx.state("RX_PAYLOAD"):
            with m.If(rx_valid):
                m.d.sync += [remaining.eq(remaining - 1), last_byte.eq(remaining == 2),
                             word.eq(shifted)]
                with m.If(word_last):  # the next word: an input word, or after the address a weight word
                    m.d.sync += [word_left.eq(Mux(op_load, in_bytes - 1, w_bytes - 1)),
                                 word_last.eq(Mux(op_load, in_bytes == 1, w_bytes == 1))]
                with m.Else():
                    m.d.sync += [word_left.eq(word_left - 1), word_last.eq(word_left == 1)]
                # One transition per cycle (one-hot): a completed weight word goes to RX_WEIGHT_WRITE, which
                # continues to RX_CHECK after the last byte.
                w_word_done = (op_write & w_addr_done & word_last) if has_w else Const(0)
                with m.If(last_byte & ~w_word_done):
                    rx.next("RX_CHECK")
                with m.If(op_load):
                    with m.If(word_last):
                        with m.If(in_room):
                            m.d.sync += [in_we.eq(1), wr_ptr.eq(wr_ptr + 1), in_room.eq(wr_ptr != self.input_depth - 1)]
                        with m.Else():
                            m.d.sync += too_long.eq(1)
                with m.If(op_run):
                    m.d.sync += final.eq(byte[0])
                with m.If(op_write):
                    with m.If(~w_addr_done & word_last):
                        m.d.sync += [w_addr.eq(shifted[-32:]), w_addr_done.eq(1)]  # truncated to the port
                    if has_w:
                        with m.If(w_addr_done & word_last):
                            m.d.sync += w_last.eq(last_byte)
                            rx.next("RX_WEIGHT_WRITE")
        with rx.state("RX_WEIGHT_WRITE"):
            # One cycle with the assembled word on wmem_data; the UART is far slower.
            if has_w:
                m.d.comb += acc.wmem_we.eq(1)
            m.d.sync += w_addr.eq(w_addr + 1)
            with m.If(w_last):
                rx.next("RX_CHECK")
            with m.Else():
                rx.next("RX_PAYLOAD")
        with rx.state("RX_CHECK"):
            with m.If(rx_valid):
                rx.next("VERIFY")
        with rx.state("VERIFY"):
            m.d.sync += csum_ok.eq(csum == 0)
            rx.next("DECIDE")
        with rx.state("DECIDE"):
            # The outcome of the command into registers (the op flags are one-hot, decoded at RX_CMD), so
            # EXEC's next-state and reply logic read single flops: no priority chain ends at a register.
            bad_load, no_inputs = op_load & too_long, op_run & ~loaded
            no_memory = op_write if not has_w else Const(0)
            unknown = ~(op_info | op_load | op_run | op_read | op_write)
            m.d.sync += [
                x_err.eq(Mux(~csum_ok, ErrorCode.BAD_CHECKSUM, Mux(bad_load, ErrorCode.TOO_LONG,
                         Mux(no_inputs, ErrorCode.NO_INPUTS, Mux(no_memory, ErrorCode.NO_WEIGHT_MEMORY,
                                                                 ErrorCode.UNKNOWN_COMMAND))))),
                x_is_err.eq(~csum_ok | bad_load | no_inputs | no_memory | unknown),
                x_run.eq(csum_ok & op_run & loaded),
                x_len.eq(Mux(op_info, len(self.info.pack()), Mux(op_read, out_len, 0))),
            ]
            with m.If(op_load):
                m.d.sync += [n_inputs.eq(wr_ptr), loaded.eq(csum_ok & ~too_long & (wr_ptr != 0)),
                             single.eq(wr_ptr == 1)]
            rx.next("EXEC")
        with rx.state("EXEC"):
            with m.If(x_run):
                m.d.sync += start.eq(1)
                rx.next("RUN")
            with m.Else():
                respond(Mux(x_is_err, Command.ERROR, cmd), Mux(x_is_err, 1, x_len), x_err)
        with rx.state("RUN"):
            with m.If(run_done):
                m.d.sync += run_done.eq(0)
                respond(Command.RUN, 6)
        with rx.state("WAIT_TX"):
            with m.If(tx_done):
                m.d.sync += tx_done.eq(0)
                rx.next("RX_SYNC")

        # The transmit FSM: sends one reply frame per tx_go; separate from the receive FSM so
        # each has few states (short next-state logic).
        with tx.state("TX_IDLE"):
            with m.If(tx_go):
                m.d.sync += [tx_go.eq(0), tx_last_idx.eq(resp_len - 1), tx_idx.eq(0), tx_check.eq(0),
                             tx_word.eq(0), tx_byte_in_word.eq(0), tx_empty.eq(resp_len == 0),
                             is_info.eq(resp_cmd == Command.INFO), is_run.eq(resp_cmd == Command.RUN),
                             is_read.eq(resp_cmd == Command.READ_OUTPUTS), is_error.eq(resp_cmd == Command.ERROR),
                             tx_shift.eq(Cat(Const(DEVICE_SYNC, 8), resp_cmd, resp_len))]
                tx.next("TX_SYNC")
        with tx.state("TX_SYNC"):
            send("TX_CMD")
        with tx.state("TX_CMD"):
            send("TX_LEN0")
        with tx.state("TX_LEN0"):
            send("TX_LEN1")
        with tx.state("TX_LEN1"):
            send("TX_PREP", instead=(tx_empty, "TX_SUM"))
        with tx.state("TX_PREP"):
            # One cycle for the output buffer's read port to show out_mem[tx_word]; the last-byte test is
            # registered here (tx_idx is steady) so TX_PAYLOAD's next state reads one flop.
            m.d.sync += [tx_at_last.eq(tx_idx == tx_last_idx), info_r.eq(info_rom[tx_idx[:5]]),
                         run_r.eq(run_bytes[tx_idx[:3]])]
            tx.next("TX_PICK")
        with tx.state("TX_PICK"):
            m.d.sync += payload_r.eq(payload_byte)
            tx.next("TX_LATCH")
        with tx.state("TX_LATCH"):
            # The byte is captured: step to the next one here, where no handshake gates the counters.
            m.d.sync += [tx_byte.eq(payload_r), tx_idx.eq(tx_idx + 1)]
            with m.If(tx_byte_in_word == out_bytes - 1):
                m.d.sync += [tx_byte_in_word.eq(0), tx_word.eq(tx_word + 1)]
            with m.Else():
                m.d.sync += tx_byte_in_word.eq(tx_byte_in_word + 1)
            tx.next("TX_PAYLOAD")
        with tx.state("TX_PAYLOAD"):
            send("TX_PREP", instead=(tx_at_last, "TX_SUM"))
        with tx.state("TX_SUM"):
            # The CHECK byte is ready in tx_check (subtracted as each byte went): a register move, no negation.
            m.d.sync += tx_byte.eq(tx_check)
            tx.next("TX_CHECK")
        with tx.state("TX_CHECK"):
            send("TX_IDLE")
            with m.If(utx.ready):
                m.d.sync += tx_done.eq(1)
        return m
