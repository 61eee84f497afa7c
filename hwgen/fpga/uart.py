"""A small 8N1 UART (receiver and transmitter) with valid/ready byte streams.

Written here rather than taken from a library so the host link has no dependency
beyond Amaranth, and so the Verilator host model and the driver agree on one
framing: one start bit (0), eight data bits LSB first, one stop bit (1), idle high.
Both sides count `divisor` clock cycles per bit (clock Hz / baud).
"""


from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


def _check_divisor(divisor: int) -> None:
    if not isinstance(divisor, int) or divisor < 4:
        raise ValueError(f"UART divisor (clock cycles per bit) must be an integer >= 4, not {divisor!r}")


class UARTRx(wiring.Component):
    """Receive bytes from the serial line.

    Ports:
      rx (in, 1): the serial line, idle high; synchronised through two flops here.
      data (out, 8): the received byte, stable while ``valid``.
      valid (out, 1): one byte is waiting; it is dropped (overrun) if not taken before the next.
      ready (in, 1): the consumer takes ``data`` in a cycle where ``valid`` and ``ready`` are high.
      error (out, 1): pulses for one cycle when a stop bit reads 0 (framing error; byte dropped).
    """

    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)
    ready: In(1)
    error: Out(1)

    def __init__(self, divisor: int):
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        sync1 = Signal(init=1)
        line = Signal(init=1)
        m.d.sync += [sync1.eq(self.rx), line.eq(sync1)]

        timer = Signal(range(self.divisor * 3 // 2 + 1))
        tick = Signal()  # timer == 0, registered (set as the timer passes 1): no compare before the FSM's enables
        bits = Signal(3)
        last_bit = Signal()  # bits == 7, registered
        shift = Signal(8)

        with m.If(self.valid & self.ready):
            m.d.sync += self.valid.eq(0)
        m.d.sync += self.error.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    # Sample data bit 0 in its middle: 1.5 bit times after the start edge.
                    m.d.sync += [timer.eq(self.divisor * 3 // 2 - 1), tick.eq(0), bits.eq(0), last_bit.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(tick):
                    m.d.sync += [shift.eq((shift >> 1) | (line << 7)), timer.eq(self.divisor - 1), tick.eq(0),
                                 bits.eq(bits + 1), last_bit.eq(bits == 6)]
                    with m.If(last_bit):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += [timer.eq(timer - 1), tick.eq(timer == 1)]
            with m.State("STOP"):
                m.d.sync += [timer.eq(timer - 1), tick.eq(timer == 1)]
                with m.If(tick):
                    with m.If(line):
                        m.d.sync += [self.data.eq(shift), self.valid.eq(1)]
                    with m.Else():
                        m.d.sync += self.error.eq(1)
                    m.next = "WAIT_IDLE"
            with m.State("WAIT_IDLE"):
                with m.If(line):
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """Send bytes on the serial line.

    Ports:
      tx (out, 1): the serial line, idle high.
      data (in, 8): the byte to send, taken when ``valid`` and ``ready`` are both high.
      valid (in, 1), ready (out, 1): byte stream handshake; ``ready`` is high while idle.
    """

    tx: Out(1, init=1)
    data: In(8)
    valid: In(1)
    ready: Out(1)

    def __init__(self, divisor: int):
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        # start bit, 8 data bits, stop bit; shifted out LSB first.
        frame = Signal(10, init=0x3FF)
        left = Signal(range(11))

        # `ready` (left == 0) and the bit-time tick (timer == 0) are registered flags: the host link's transmit
        # FSM decides on `ready`, so no compare sits in front of its next-state logic.
        idle = Signal(init=1)
        tick = Signal()
        m.d.comb += [self.ready.eq(idle), self.tx.eq(frame[0])]
        with m.If(idle):
            with m.If(self.valid):
                m.d.sync += [frame.eq((1 << 9) | (self.data << 1)), left.eq(10),
                             timer.eq(self.divisor - 1), tick.eq(0), idle.eq(0)]
        with m.Else():
            with m.If(tick):
                m.d.sync += [frame.eq((frame >> 1) | (1 << 9)), left.eq(left - 1),
                             timer.eq(self.divisor - 1), tick.eq(0), idle.eq(left == 1)]
            with m.Else():
                m.d.sync += [timer.eq(timer - 1), tick.eq(timer == 1)]
        return m
