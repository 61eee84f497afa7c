import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwgen.fpga.protocol import (HOST_SYNC, Command, DeviceInfo, checksum, encode_frame, pack_words,
                                 unpack_words, word_bytes)


@settings(deadline=None, max_examples=40)
@given(width=st.integers(2, 40), data=st.data())
def test_words_round_trip(width, data):
    values = data.draw(st.lists(st.integers(-(1 << (width - 1)), (1 << (width - 1)) - 1), max_size=20))
    packed = pack_words(np.array(values, dtype=np.int64), width)
    assert len(packed) == len(values) * word_bytes(width)
    assert unpack_words(packed, width).tolist() == values


def test_words_are_little_endian_twos_complement():
    assert pack_words(np.array([-2, 0x1234]), 16) == bytes([0xFE, 0xFF, 0x34, 0x12])
    assert unpack_words(bytes([0xFF, 0x01]), 9).tolist() == [-1]  # 0x1FF sign-extended from 9 bits


def test_words_out_of_range_rejected():
    with pytest.raises(ValueError, match="do not fit 8-bit"):
        pack_words(np.array([300]), 8)


@settings(deadline=None, max_examples=30)
@given(cmd=st.sampled_from(list(Command)), payload=st.binary(max_size=64))
def test_frame_checksum_sums_to_zero(cmd, payload):
    frame = encode_frame(cmd, payload)
    assert frame[0] == HOST_SYNC and frame[1] == cmd
    assert int.from_bytes(frame[2:4], "little") == len(payload)
    assert sum(frame[1:]) % 256 == 0
    assert checksum(frame[1:-1]) == frame[-1]


def test_device_info_round_trip_and_bad_magic():
    info = DeviceInfo(8, 17, 64, 2048, 256, 16384)
    assert DeviceInfo.unpack(info.pack()) == info
    with pytest.raises(ValueError, match="not an hwgen device"):
        DeviceInfo.unpack(b"XXXX" + info.pack()[4:])
