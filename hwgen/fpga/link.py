"""The FPGA top level without the board: UART + frame engine + the accelerator.

The frame engine is three components: :class:`~hwgen.fpga.frame_rx.FrameReceiver` (host frames into
buffer writes and commands), :class:`~hwgen.fpga.run_engine.RunEngine` (a RUN: the input buffer through
the accelerator into the output buffer) and :class:`~hwgen.fpga.frame_tx.FrameTransmitter` (the reply
frames); :class:`HostLink` owns the UART, the two buffers and the wiring.

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

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.fpga.frame_rx import FrameReceiver
from hwgen.fpga.frame_tx import FrameTransmitter
from hwgen.fpga.protocol import DeviceInfo, StreamMode
from hwgen.fpga.run_engine import RunEngine
from hwgen.fpga.step_argmax import StepArgmax
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
      stream: what a RUN returns (:class:`~hwgen.fpga.protocol.StreamMode`): one burst per sequence, or (a
        per-step model) every step's ``step_outputs`` logits, or their argmax (a :class:`StepArgmax` between the
        accelerator and the run engine), for the ``step_words`` input words of each step.
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    busy: Out(1)

    def __init__(self, accelerator, *, divisor: int, input_depth: int = 2048, output_depth: int = 256,
                 stream: StreamMode = StreamMode.SEQUENCE, step_words: int = 0, step_outputs: int = 0):
        if input_depth < 1 or input_depth > 0xFFFF or output_depth < 1 or output_depth > 0xFFFF:
            raise ValueError(f"buffer depths must be 1..65535, not {input_depth} / {output_depth}")
        if stream != StreamMode.SEQUENCE and (step_words < 1 or step_outputs < 1):
            raise ValueError(f"a {StreamMode(stream).label} stream needs step_words and step_outputs >= 1")
        self.stream = StreamMode(stream)
        self.step_words, self.step_outputs = step_words, step_outputs
        self.accelerator = accelerator
        self.ports = AcceleratorPorts.of(accelerator)
        self.divisor = divisor
        self.input_depth = input_depth
        self.output_depth = output_depth
        super().__init__()

    @property
    def words_out_per_step(self) -> int:
        """Output words a step returns to the host (0: one burst per sequence)."""
        return {StreamMode.SEQUENCE: 0, StreamMode.LOGITS: self.step_outputs, StreamMode.ARGMAX: 1}[self.stream]

    @property
    def info(self) -> DeviceInfo:
        p = self.ports
        return DeviceInfo(p.in_width, p.out_width, p.weight_width, self.input_depth,
                          self.output_depth, (1 << p.weight_addr_width) if p.weight_width else 0,
                          int(self.stream), self.words_out_per_step)

    def elaborate(self, platform):
        m = Module()
        p = self.ports
        acc = self.accelerator
        m.submodules.accel = acc
        m.submodules.uart_rx = urx = UARTRx(self.divisor)
        m.submodules.uart_tx = utx = UARTTx(self.divisor)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]

        # Written only by LOAD_INPUTS and read only by a later RUN: no read ever meets a write (NO_RW_CHECK).
        m.submodules.in_mem = in_mem = Memory(shape=p.in_width, depth=self.input_depth, init=[], attrs=NO_RW_CHECK)
        # A small output buffer (a dense head's few logits) is flip-flops, not a block RAM of which it would use a
        # sliver: on the iCE40 UP5K those blocks are what an H=256 model runs out of.
        small = {"ram_style": "logic"} if self.output_depth <= REGISTER_BUFFER_WORDS else None
        m.submodules.out_mem = out_mem = Memory(shape=p.out_width, depth=self.output_depth, init=[], attrs=small)
        in_wr = in_mem.write_port()
        in_raddr, in_rdata = registered_read(m, in_mem, "in_mem")
        out_wr, out_rd = out_mem.write_port(), out_mem.read_port()

        m.submodules.receiver = rcv = FrameReceiver(
            in_width=p.in_width, out_width=p.out_width, weight_width=p.weight_width,
            weight_addr_width=p.weight_addr_width, input_depth=self.input_depth, output_depth=self.output_depth,
            info_length=len(self.info.pack()))
        per_step = self.words_out_per_step
        m.submodules.engine = eng = RunEngine(out_width=p.out_width, input_depth=self.input_depth,
                                              output_depth=self.output_depth,
                                              step_words=self.step_words if per_step else 0, step_outputs=per_step)
        m.submodules.transmitter = xmt = FrameTransmitter(out_width=p.out_width, output_depth=self.output_depth,
                                                          info=self.info.pack())
        # UART bytes in, input buffer and weight writes out.
        m.d.comb += [rcv.byte_data.eq(urx.data), rcv.byte_valid.eq(urx.valid), urx.ready.eq(rcv.byte_ready),
                     in_wr.en.eq(rcv.in_we), in_wr.addr.eq(rcv.in_addr), in_wr.data.eq(rcv.in_data)]
        if p.weight_width:
            m.d.comb += [acc.wmem_we.eq(rcv.w_we), acc.wmem_addr.eq(rcv.w_addr), acc.wmem_data.eq(rcv.w_data)]
        # The receiver starts a RUN and waits for it; the engine streams the input buffer through the accelerator.
        m.d.comb += [eng.start.eq(rcv.run_start), eng.words.eq(rcv.run_words), eng.single.eq(rcv.run_single),
                     eng.final.eq(rcv.run_final), rcv.run_done.eq(eng.done), eng.done_ready.eq(rcv.run_done_ready),
                     rcv.n_outputs.eq(eng.n_outputs), self.busy.eq(eng.busy),
                     in_raddr.eq(eng.in_addr), acc.in_data.eq(in_rdata), acc.in_valid.eq(eng.acc_in_valid),
                     eng.acc_in_ready.eq(acc.in_ready), acc.in_last.eq(eng.acc_in_last),
                     out_wr.en.eq(eng.out_we), out_wr.addr.eq(eng.out_addr), out_wr.data.eq(eng.out_data)]
        self._connect_outputs(m, acc, eng)
        # The receiver hands each reply to the transmitter, which sends it over the UART.
        m.d.comb += [xmt.reply.eq(rcv.reply), rcv.reply_ready.eq(xmt.reply_ready), xmt.reply_cmd.eq(rcv.reply_cmd),
                     xmt.reply_len.eq(rcv.reply_len), xmt.reply_err.eq(rcv.reply_err),
                     rcv.sent.eq(xmt.sent), xmt.sent_ready.eq(rcv.sent_ready),
                     utx.data.eq(xmt.byte_data), utx.valid.eq(xmt.byte_valid), xmt.byte_ready.eq(utx.ready),
                     out_rd.addr.eq(xmt.out_addr), xmt.out_data.eq(out_rd.data),
                     xmt.cycles.eq(eng.cycles), xmt.n_outputs.eq(eng.n_outputs)]
        return m

    def _connect_outputs(self, m: Module, acc, eng: RunEngine) -> None:
        """The accelerator's output stream into the run engine: directly, or through the argmax stage."""
        src = acc
        if self.stream == StreamMode.ARGMAX:
            m.submodules.argmax = src = StepArgmax(width=self.ports.out_width, outputs=self.step_outputs)
            m.d.comb += [src.in_valid.eq(acc.out_valid), acc.out_ready.eq(src.in_ready),
                         src.in_data.eq(acc.out_data), src.in_last.eq(acc.out_last)]
        m.d.comb += [eng.acc_out_valid.eq(src.out_valid), src.out_ready.eq(eng.acc_out_ready),
                     eng.acc_out_data.eq(src.out_data), eng.acc_out_last.eq(src.out_last)]
