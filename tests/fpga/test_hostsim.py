"""The whole FPGA top level (UART pins, frame engine, buffers, SPRAM weight upload, accelerator)
in Verilator, driven by the pyserial host driver over a pty: bit-exact against the reference."""

import numpy as np
import pytest

from hwgen.fpga.driver import Device, DeviceError
from hwgen.fpga.protocol import Command, ErrorCode, encode_frame


@pytest.fixture(scope="module")
def device(sim_board, small_design):
    with Device(sim_board.port, timeout=20) as dev:
        dev.write_weights(small_design.weight_words())
        yield dev


def test_info_describes_the_design(device, small_design):
    info = device.info()
    cfg = small_design.config
    assert (info.in_width, info.out_width) == (cfg.act_bits, cfg.out_bits)
    assert info.weight_width == cfg.word_bits  # SPRAM: weights arrive over the link
    assert info.input_depth == small_design.input_depth and info.output_depth == small_design.output_depth


def test_sequences_bit_exact_with_cycle_count(device, small_model, small_design, rng):
    for steps in (1, 3, 8):
        x = small_model.quantize_input(rng.uniform(-2, 2, (steps, small_model.input_size)))
        y, result = device.infer(x)
        np.testing.assert_array_equal(y, small_model.run(x).reshape(-1))
        assert result.outputs == small_model.output_size
        assert result.cycles == small_design.config.expected_cycles(steps)


def test_sequence_longer_than_the_input_buffer(device, small_model, small_design, rng):
    steps = 3 * small_design.input_depth // small_model.input_size - 2  # three chunks, the last one short
    x = small_model.quantize_input(rng.uniform(-2, 2, (steps, small_model.input_size)))
    y, result = device.infer(x)
    np.testing.assert_array_equal(y, small_model.run(x).reshape(-1))
    assert 0 < result.cycles <= small_design.config.expected_cycles(steps)


def test_weights_really_come_over_the_link(device, small_model, small_design, rng):
    """Overwrite the SPRAM with zeros: outputs change; upload again: bit-exact again."""
    x = small_model.quantize_input(rng.uniform(-2, 2, (4, small_model.input_size)))
    words = small_design.weight_words()
    device.write_weights(np.zeros_like(words))
    zeroed, _ = device.infer(x)
    device.write_weights(words)
    restored, _ = device.infer(x)
    np.testing.assert_array_equal(restored, small_model.run(x).reshape(-1))
    assert not np.array_equal(zeroed, restored)


def test_protocol_errors(device, small_model, small_design):
    serial = device._serial
    bad = bytearray(encode_frame(Command.INFO))
    bad[-1] ^= 0x55
    serial.write(bytes(bad))
    reply = serial.read(6)
    assert reply[1] == Command.ERROR and reply[4] == ErrorCode.BAD_CHECKSUM
    with pytest.raises(DeviceError, match="UNKNOWN_COMMAND"):
        device.transact(0x42)
    with pytest.raises(DeviceError, match="input buffer"):
        device.load_inputs(np.zeros(small_design.input_depth + 1, dtype=np.int64))
    with pytest.raises(DeviceError, match="TOO_LONG"):  # the device checks too, not only the driver
        device.transact(Command.LOAD_INPUTS, bytes(small_design.input_depth + 1))
    with pytest.raises(DeviceError, match="NO_INPUTS"):  # the refused load left nothing loaded
        device.run()
    # still in step afterwards
    x = small_model.quantize_input(np.full((2, small_model.input_size), 0.5))
    np.testing.assert_array_equal(device.infer(x)[0], small_model.run(x).reshape(-1))
