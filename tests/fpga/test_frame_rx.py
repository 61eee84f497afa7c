"""FrameReceiver in amaranth.sim: host frames in as bytes; buffer writes, weight writes, RUN starts and replies out."""

import struct

import pytest
from amaranth.sim import Simulator
from hypothesis import Phase, given, settings, strategies as st

from hwgen.fpga.frame_rx import FrameReceiver
from hwgen.fpga.protocol import Command, ErrorCode, encode_frame, pack_words

INFO_LENGTH = 20
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


def receive(frames, *, in_width=8, out_width=24, weight_width=0, weight_addr_width=0, input_depth=8,
            n_outputs=0, run_cycles=5):
    """Feed `frames` (bytes) one byte every few cycles; play the transmitter (take each reply, report it sent) and
    the run engine (done `run_cycles` after run_start). Returns what the receiver did, in order."""
    dut = FrameReceiver(in_width=in_width, out_width=out_width, weight_width=weight_width,
                        weight_addr_width=weight_addr_width, input_depth=input_depth, output_depth=16,
                        info_length=INFO_LENGTH)
    events = []
    data = b"".join(frames)

    async def host(ctx):
        for byte in data:
            ctx.set(dut.byte_data, byte)
            ctx.set(dut.byte_valid, 1)
            while True:  # the byte moves at the first edge where byte_ready is high
                ready = ctx.get(dut.byte_ready)
                await ctx.tick()
                if ready:
                    break
            ctx.set(dut.byte_valid, 0)
            await ctx.tick().repeat(3)

    async def peers(ctx):
        ctx.set(dut.n_outputs, n_outputs)
        ctx.set(dut.reply_ready, 1)
        countdown = None
        for _ in range(40 * len(data) + 100):
            if ctx.get(dut.in_we):
                events.append(("in", ctx.get(dut.in_addr), ctx.get(dut.in_data)))
            if weight_width and ctx.get(dut.w_we):
                events.append(("w", ctx.get(dut.w_addr), ctx.get(dut.w_data)))
            if ctx.get(dut.run_start):
                events.append(("run", ctx.get(dut.run_words), ctx.get(dut.run_single), ctx.get(dut.run_final)))
                countdown = run_cycles
            elif countdown:
                countdown -= 1
            ctx.set(dut.run_done, countdown == 0)
            taken = countdown == 0 and ctx.get(dut.run_done_ready)
            if ctx.get(dut.reply):
                events.append(("reply", ctx.get(dut.reply_cmd), ctx.get(dut.reply_len), ctx.get(dut.reply_err)))
            ctx.set(dut.sent, ctx.get(dut.sent_ready))
            await ctx.tick()
            if taken:
                countdown = None

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(host)
    sim.add_testbench(peers)
    sim.run()
    return events


def replies(events):
    """(command, length, error code) of each reply; the error code only matters in an ERROR reply."""
    return [(cmd, length, err if cmd == Command.ERROR else 0) for _, cmd, length, err in
            (e for e in events if e[0] == "reply")]


@settings(deadline=None, max_examples=4, phases=NO_SHRINK)
@given(words=st.lists(st.integers(-512, 511), min_size=1, max_size=6), final=st.sampled_from([None, 0, 1]))
def test_load_then_run_writes_the_buffer_and_starts_a_run(words, final):
    frames = [encode_frame(Command.LOAD_INPUTS, pack_words(words, 10)),
              encode_frame(Command.RUN, b"" if final is None else bytes([final]))]
    events = receive(frames, in_width=10, input_depth=8, n_outputs=3)
    writes = [e[1:] for e in events if e[0] == "in"]
    assert writes == [(i, w & 0x3FF) for i, w in enumerate(words)]
    assert [e[1:] for e in events if e[0] == "run"] == [(len(words), int(len(words) == 1), int(final != 0))]
    assert replies(events) == [(Command.LOAD_INPUTS, 0, 0), (Command.RUN, 6, 0)]


def test_info_and_read_outputs_reply_lengths():
    events = receive([encode_frame(Command.INFO), encode_frame(Command.READ_OUTPUTS)], out_width=24, n_outputs=3)
    assert replies(events) == [(Command.INFO, INFO_LENGTH, 0), (Command.READ_OUTPUTS, 9, 0)]


def test_errors():
    bad = bytearray(encode_frame(Command.INFO))
    bad[-1] ^= 1
    frames = [bytes(bad), encode_frame(Command.RUN), encode_frame(0x42),
              encode_frame(Command.LOAD_INPUTS, bytes(5)), encode_frame(Command.WRITE_WEIGHTS, bytes(5))]
    events = receive(frames, input_depth=4)
    assert replies(events) == [(Command.ERROR, 1, e) for e in (ErrorCode.BAD_CHECKSUM, ErrorCode.NO_INPUTS,
                                                               ErrorCode.UNKNOWN_COMMAND, ErrorCode.TOO_LONG,
                                                               ErrorCode.NO_WEIGHT_MEMORY)]
    assert [e[1] for e in events if e[0] == "in"] == [0, 1, 2, 3]  # the buffer's room, no more
    assert not [e for e in events if e[0] == "run"]


@settings(deadline=None, max_examples=3, phases=NO_SHRINK)
@given(start=st.integers(0, 60), words=st.lists(st.integers(0, (1 << 12) - 1), min_size=1, max_size=3))
def test_write_weights_writes_consecutive_addresses(start, words):
    payload = struct.pack("<I", start) + pack_words(words, 12)
    events = receive([encode_frame(Command.WRITE_WEIGHTS, payload)], weight_width=12, weight_addr_width=6)
    assert [e[1:] for e in events if e[0] == "w"] == [((start + i) % 64, w) for i, w in enumerate(words)]
    assert replies(events) == [(Command.WRITE_WEIGHTS, 0, 0)]


def test_bad_parameters_are_refused():
    ok = dict(in_width=8, out_width=8, input_depth=4, output_depth=4, info_length=20)
    with pytest.raises(ValueError, match=r"^input depth must be an integer in 1..65535, not 0$"):
        FrameReceiver(**{**ok, "input_depth": 0})
    with pytest.raises(ValueError, match=r"^output depth must be an integer in 1..65535, not 65536$"):
        FrameReceiver(**{**ok, "output_depth": 65536})
    with pytest.raises(ValueError, match=r"^input word width must be an integer >= 1, not 0$"):
        FrameReceiver(**{**ok, "in_width": 0})
    with pytest.raises(ValueError, match=r"^a weight-write port needs a weight address width >= 1$"):
        FrameReceiver(**ok, weight_width=8)
