"""FrameTransmitter in amaranth.sim: one reply frame per request, byte for byte what protocol.encode_frame gives."""

import struct

import pytest
from amaranth.hdl import Module
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator
from hypothesis import Phase, given, settings, strategies as st

from hwgen.fpga.frame_tx import FrameTransmitter
from hwgen.fpga.protocol import DEVICE_SYNC, Command, DeviceInfo, ErrorCode, encode_frame, pack_words

NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
INFO = DeviceInfo(8, 12, 0, 64, 16, 0).pack()


def transmit(replies, *, out_width=12, outputs=(), cycles=0, slow=1):
    """Request each (command, length, error) in `replies`; take a byte every `slow` cycles.
    The output buffer holds `outputs`; the RUN reply reports `cycles` and len(outputs). Returns the frames sent."""
    m = Module()
    m.submodules.dut = dut = FrameTransmitter(out_width=out_width, output_depth=16, info=INFO)
    mask = (1 << out_width) - 1
    m.submodules.out_mem = out_mem = Memory(shape=out_width, depth=16, init=[v & mask for v in outputs])
    rd = out_mem.read_port()
    m.d.comb += [rd.addr.eq(dut.out_addr), dut.out_data.eq(rd.data)]
    frames = []

    async def bench(ctx):
        ctx.set(dut.cycles, cycles)
        ctx.set(dut.n_outputs, len(outputs))
        for cmd, length, err in replies:
            ctx.set(dut.reply_cmd, cmd)
            ctx.set(dut.reply_len, length)
            ctx.set(dut.reply_err, err)  # held until the frame is sent
            ctx.set(dut.reply, 1)
            while True:
                ready = ctx.get(dut.reply_ready)
                await ctx.tick()
                if ready:
                    break
            ctx.set(dut.reply, 0)
            ctx.set(dut.reply_cmd, 0)
            ctx.set(dut.reply_len, 0)
            frame, c = bytearray(), 0
            while not ctx.get(dut.sent):
                take = c % slow == 0
                ctx.set(dut.byte_ready, take)
                if take and ctx.get(dut.byte_valid):
                    frame.append(ctx.get(dut.byte_data))
                await ctx.tick()
                c += 1
                assert c < 200 * (length + 5)
            ctx.set(dut.byte_ready, 0)
            ctx.set(dut.sent_ready, 1)
            await ctx.tick()
            ctx.set(dut.sent_ready, 0)
            assert not ctx.get(dut.sent)
            frames.append(bytes(frame))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return frames


@settings(deadline=None, max_examples=5, phases=NO_SHRINK)
@given(data=st.data(), out_width=st.integers(2, 20), cycles=st.integers(0, (1 << 32) - 1), slow=st.integers(1, 3))
def test_replies_are_the_protocol_frames(data, out_width, cycles, slow):
    outputs = data.draw(st.lists(st.integers(-(1 << (out_width - 1)), (1 << (out_width - 1)) - 1), max_size=5))
    nbytes = len(pack_words(outputs, out_width))
    replies = [(Command.INFO, len(INFO), 0), (Command.RUN, 6, 0), (Command.READ_OUTPUTS, nbytes, 0),
               (Command.ERROR, 1, ErrorCode.TOO_LONG), (Command.LOAD_INPUTS, 0, 0)]
    frames = transmit(replies, out_width=out_width, outputs=outputs, cycles=cycles, slow=slow)
    payloads = [INFO, struct.pack("<IH", cycles, len(outputs)), pack_words(outputs, out_width),
                bytes([ErrorCode.TOO_LONG]), b""]
    assert frames == [encode_frame(cmd, p, sync=DEVICE_SYNC) for (cmd, _, _), p in zip(replies, payloads)]


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match=r"^INFO payload must be 1..32 bytes, not b''$"):
        FrameTransmitter(out_width=8, output_depth=4, info=b"")
    with pytest.raises(ValueError, match=r"^output depth must be an integer in 1..65535, not 0$"):
        FrameTransmitter(out_width=8, output_depth=0, info=INFO)
