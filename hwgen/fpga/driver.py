"""Host driver for a board running the hwgen FPGA top level (pyserial).

One :class:`Device` per serial port; each method is one framed command from
:mod:`hwgen.fpga.protocol`, and :meth:`Device.infer` is the usual sequence:
load the inputs, run, read the outputs back. On a streaming board (a per-step model)
:meth:`Device.step` runs one step and returns its outputs while the sequence stays open.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import serial

from hwgen.errors import HwgenError
from hwgen.fpga.protocol import (DEVICE_SYNC, MAX_PAYLOAD, Command, DeviceInfo, ErrorCode, checksum,
                                 StreamMode, encode_frame, pack_words, unpack_words, word_bytes)


class DeviceError(HwgenError):
    """The board did not answer, or answered with an error frame."""


@dataclass(frozen=True)
class RunResult:
    cycles: int      # clock cycles from the first input beat to the last output beat
    outputs: int     # output words captured


class Device:
    """A board on a serial port; use as a context manager or call :meth:`close`."""

    def __init__(self, port: str, *, baud: int = 115200, timeout: float = 10.0, retries: int = 2):
        try:
            self._serial = serial.Serial(port, baudrate=baud, timeout=timeout)
        except serial.SerialException as err:
            raise DeviceError(f"{port}: cannot open the serial port ({err})") from None
        self.port = port
        self.retries = retries
        self._info: DeviceInfo | None = None

    def close(self) -> None:
        self._serial.close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- framing ---
    def _read_exact(self, n: int) -> bytes:
        data = self._serial.read(n)
        if len(data) != n:
            raise DeviceError(f"{self.port}: the board stopped answering (timeout after {len(data)} of {n} bytes)")
        return data

    def transact(self, cmd: int, payload: bytes = b"") -> bytes:
        """Send one frame and return the reply's payload; retry after a bad checksum."""
        name = Command(cmd).name if cmd in Command._value2member_map_ else f"command {cmd:#04x}"
        for attempt in range(self.retries + 1):
            self._serial.write(encode_frame(cmd, payload))
            self._serial.flush()
            while self._read_exact(1)[0] != DEVICE_SYNC:
                pass
            header = self._read_exact(3)
            length = struct.unpack("<H", header[1:])[0]
            body = self._read_exact(length + 1)
            if checksum(header + body[:-1]) != body[-1]:
                raise DeviceError(f"{self.port}: reply to {name} has a bad checksum")
            reply_cmd, reply = header[0], body[:-1]
            if reply_cmd == Command.ERROR:
                code = ErrorCode(reply[0]) if reply and reply[0] in ErrorCode._value2member_map_ else reply
                if code == ErrorCode.BAD_CHECKSUM and attempt < self.retries:
                    continue
                raise DeviceError(f"{self.port}: the board refused {name}: {getattr(code, 'name', code)}")
            if reply_cmd != cmd:
                raise DeviceError(f"{self.port}: sent {name}, the board answered command {reply_cmd:#x}")
            return reply
        raise AssertionError("unreachable")

    # --- commands ---
    def info(self) -> DeviceInfo:
        if self._info is None:
            try:
                self._info = DeviceInfo.unpack(self.transact(Command.INFO))
            except ValueError as err:
                raise DeviceError(f"{self.port}: {err}") from None
        return self._info

    def load_inputs(self, x_int: np.ndarray) -> None:
        """Load one chunk (at most the input buffer's depth) of input words."""
        info = self.info()
        flat = np.asarray(x_int).ravel()
        if flat.size > info.input_depth:
            raise DeviceError(f"{flat.size} input words do not fit the board's input buffer "
                              f"({info.input_depth} words); send a shorter sequence")
        try:
            payload = pack_words(flat, info.in_width)
        except ValueError as err:
            raise DeviceError(f"inputs: {err} (the board takes {info.in_width}-bit signed codes)") from None
        self.transact(Command.LOAD_INPUTS, payload)

    def run(self, final: bool = True) -> RunResult:
        """Stream the loaded words; ``final=False`` leaves the sequence open for the next chunk."""
        cycles, outputs = struct.unpack("<IH", self.transact(Command.RUN, bytes([int(final)])))
        return RunResult(cycles, outputs)

    def read_outputs(self) -> np.ndarray:
        return unpack_words(self.transact(Command.READ_OUTPUTS), self.info().out_width)

    def write_weights(self, words: np.ndarray, start: int = 0, progress=None) -> None:
        """Write weight-memory words from address ``start`` in frames of at most 64 KiB."""
        info = self.info()
        if not info.weight_width:
            raise DeviceError(f"{self.port}: this design keeps its weights in the bitstream; nothing to upload")
        words = np.asarray(words).ravel()
        if start + words.size > info.weight_depth:
            raise DeviceError(f"{words.size} weight words from address {start} overflow the board's "
                              f"weight memory ({info.weight_depth} words)")
        per_frame = (MAX_PAYLOAD - 4) // word_bytes(info.weight_width)
        for first in range(0, words.size, per_frame):
            chunk = words[first:first + per_frame]
            payload = struct.pack("<I", start + first) + pack_words(chunk, info.weight_width)
            self.transact(Command.WRITE_WEIGHTS, payload)
            if progress is not None:
                progress(first + chunk.size, words.size)

    def infer(self, x_int: np.ndarray) -> tuple[np.ndarray, RunResult]:
        """Run one sequence [T, X] (in buffer-sized chunks of whole steps when it is longer than
        the input buffer): returns the output words and the cycles summed over the chunks.
        On a streaming board the outputs are every step's, in order ([T · step_outputs])."""
        x = np.asarray(x_int)
        x = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x.reshape(1, -1)
        info = self.info()
        per_chunk = max(1, info.input_depth // x.shape[1])
        if info.mode != StreamMode.SEQUENCE:  # every RUN's outputs must fit the output buffer
            per_chunk = max(1, min(per_chunk, info.output_depth // info.step_outputs))
        cycles, outputs = 0, []
        for first in range(0, x.shape[0], per_chunk):
            chunk = x[first:first + per_chunk]
            final = first + per_chunk >= x.shape[0]
            if info.mode != StreamMode.SEQUENCE:
                y, result = self._run_steps(chunk, final)
                outputs.append(y)
                cycles += result.cycles
                continue
            self.load_inputs(chunk)
            result = self.run(final=final)
            cycles += result.cycles
        if info.mode != StreamMode.SEQUENCE:
            y = np.concatenate(outputs)
            return y, RunResult(cycles, y.size)
        return self.read_outputs(), RunResult(cycles, result.outputs)

    def step(self, x_step: np.ndarray, final: bool = False) -> tuple[np.ndarray, RunResult]:
        """One step [X] of the open sequence on a streaming board: its outputs (K logits, or [argmax]) and
        the RUN's cycles. ``final=True`` ends the sequence (the accelerator's state resets after it)."""
        info = self.info()
        if info.mode == StreamMode.SEQUENCE:
            raise DeviceError(f"{self.port}: this board returns one burst per sequence (a last-step model's "
                              f"build); per-step outputs need a per-step model built with --stream logits or argmax")
        return self._run_steps(np.asarray(x_step).reshape(1, -1), final)

    def _run_steps(self, steps: np.ndarray, final: bool) -> tuple[np.ndarray, RunResult]:
        """Whole steps [S, X] in one RUN on a streaming board: their outputs (S · step_outputs words)."""
        info = self.info()
        self.load_inputs(steps)
        result = self.run(final=final)
        want = steps.shape[0] * info.step_outputs
        if result.outputs != want:
            raise DeviceError(f"{self.port}: {steps.shape[0]} step(s) returned {result.outputs} output words, "
                              f"expected {want} ({info.step_outputs} per step)")
        return self.read_outputs(), result
