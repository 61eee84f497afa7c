"""The host-link frame format, shared by the FPGA top level and the host driver.

Every frame, in both directions, is::

    SYNC  CMD  LEN_LO LEN_HI  PAYLOAD[LEN]  CHECK

- ``SYNC`` is 0xA5 from the host and 0x5A from the device.
- ``LEN`` is the payload length in bytes (little endian, at most 65535).
- ``CHECK`` makes the byte sum of CMD, LEN_LO, LEN_HI, PAYLOAD and CHECK zero (mod 256).
- Numbers inside payloads are little endian; signed words are two's complement in
  ``ceil(width / 8)`` bytes.

Host commands (the device answers each with one frame whose CMD echoes the command,
or with CMD = ``ERROR`` and a one-byte error code):

====== ============== =========================================== ================================
 CMD    name           host payload                                device payload
====== ============== =========================================== ================================
 0x01   INFO           (none)                                      see :class:`DeviceInfo`
 0x02   LOAD_INPUTS    N input words (one sequence, step by step)   (none)
 0x03   RUN            (none) or FINAL u8                          cycles u32, outputs u16
 0x04   READ_OUTPUTS   (none)                                      the output words of the last RUN
 0x05   WRITE_WEIGHTS  start address u32, then weight words        (none)
====== ============== =========================================== ================================

RUN streams the loaded words into the accelerator. With no payload or FINAL = 1 the last
word carries ``in_last`` and RUN waits for the outputs (a whole sequence, or its last
chunk); with FINAL = 0 it returns once the accelerator has taken every word, leaving the
sequence open — so sequences longer than the input buffer go as LOAD_INPUTS/RUN(0) pairs
followed by a final LOAD_INPUTS/RUN(1). ``cycles`` counts from the first input beat to the
last output beat (FINAL) or to the last input beat (FINAL = 0).

Streaming builds (``DeviceInfo.stream`` is not ``SEQUENCE``: a per-step model, e.g. a character-level
LM) also end a RUN with FINAL = 0 only once the accelerator has returned the outputs of every whole
step it was given (``step_outputs`` words per step), so READ_OUTPUTS after each RUN returns the steps'
outputs as the sequence runs: one step per RUN lets the host choose the next input from them (text
generation). The host sends whole steps per RUN. ``step_outputs`` is K logits (``LOGITS``) or one
word, the index of the step's largest logit, the first on ties (``ARGMAX``, reduced in the link).

Version: INFO carries ``PROTOCOL_VERSION``; a host refuses a device of another version and the INFO
of version 2 is longer than version 1's, so a version-1 host refuses a version-2 device too.

A frame with a bad checksum is answered with ERROR/BAD_CHECKSUM; LOAD_INPUTS then
leaves no inputs loaded and WRITE_WEIGHTS may have written part of its words (both are
idempotent: send the frame again). RUN with no inputs loaded answers ERROR/NO_INPUTS.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

import numpy as np

HOST_SYNC = 0xA5
DEVICE_SYNC = 0x5A
MAX_PAYLOAD = 0xFFFF


class Command(enum.IntEnum):
    INFO = 0x01
    LOAD_INPUTS = 0x02
    RUN = 0x03
    READ_OUTPUTS = 0x04
    WRITE_WEIGHTS = 0x05
    ERROR = 0xEE


class ErrorCode(enum.IntEnum):
    BAD_CHECKSUM = 0x01
    UNKNOWN_COMMAND = 0x02
    TOO_LONG = 0x03
    NO_INPUTS = 0x04
    NO_WEIGHT_MEMORY = 0x05


#: INFO payload: magic "HWGN", version, then the fields of DeviceInfo in order (struct format).
INFO_FORMAT = "<4sBBBBHHIBH"
INFO_MAGIC = b"HWGN"
#: 2: INFO gained the stream mode and the per-step output count (per-step models on boards).
PROTOCOL_VERSION = 2


class StreamMode(enum.IntEnum):
    """What the host link returns: one burst per sequence, or every step's logits or their argmax."""

    SEQUENCE = 0
    LOGITS = 1
    ARGMAX = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, name: str) -> "StreamMode":
        """From its label ("sequence", "logits", "argmax"); a ValueError names the choices."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"stream mode {name!r} is not one of {', '.join(m.label for m in cls)}") from None


@dataclass(frozen=True)
class DeviceInfo:
    """What the device tells the host about itself (the INFO reply)."""

    in_width: int          # bits of one input word (signed)
    out_width: int         # bits of one output word (signed)
    weight_width: int      # bits of one weight-memory word (0: weights are not in writable RAM)
    input_depth: int       # input words one LOAD_INPUTS can hold
    output_depth: int      # output words one RUN can capture
    weight_depth: int      # weight-memory words
    stream: int = StreamMode.SEQUENCE  # a StreamMode: what a RUN returns
    step_outputs: int = 0  # output words per step when streaming (K logits, or 1 for argmax); 0 otherwise

    def pack(self) -> bytes:
        return struct.pack(INFO_FORMAT, INFO_MAGIC, PROTOCOL_VERSION, self.in_width, self.out_width,
                           self.weight_width, self.input_depth, self.output_depth, self.weight_depth,
                           self.stream, self.step_outputs)

    @classmethod
    def unpack(cls, payload: bytes) -> "DeviceInfo":
        """The INFO reply; a ValueError for another device, another protocol version or a malformed payload."""
        if len(payload) < 5 or payload[:4] != INFO_MAGIC:
            raise ValueError(f"not an hwgen device (INFO payload {payload[:8]!r})")
        if payload[4] != PROTOCOL_VERSION:
            raise ValueError(f"the device speaks host-link protocol version {payload[4]} and this host speaks "
                             f"version {PROTOCOL_VERSION}; rebuild the bitstream with this hwgen "
                             f"(`hwgen build --target fpga`) and program the board again")
        if len(payload) != struct.calcsize(INFO_FORMAT):
            raise ValueError(f"INFO payload has {len(payload)} bytes, expected {struct.calcsize(INFO_FORMAT)}")
        _, _, *fields = struct.unpack(INFO_FORMAT, payload)
        if fields[6] not in StreamMode._value2member_map_:
            raise ValueError(f"the device reports an unknown stream mode {fields[6]}")
        return cls(*fields)

    @property
    def mode(self) -> StreamMode:
        return StreamMode(self.stream)


def word_bytes(width: int) -> int:
    return (width + 7) // 8


def checksum(body: bytes) -> int:
    """The byte that makes the sum of ``body`` + it zero mod 256."""
    return (-sum(body)) & 0xFF


def encode_frame(cmd: int, payload: bytes = b"", sync: int = HOST_SYNC) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes is longer than {MAX_PAYLOAD}")
    body = bytes([cmd]) + struct.pack("<H", len(payload)) + payload
    return bytes([sync]) + body + bytes([checksum(body)])


def pack_words(values: np.ndarray, width: int) -> bytes:
    """Signed or unsigned integers as little-endian two's complement words of ``width`` bits."""
    n = word_bytes(width)
    values = np.asarray(values, dtype=np.int64).ravel()
    lo, hi = -(1 << (width - 1)), (1 << width) - 1
    if values.size and (values.min() < lo or values.max() > hi):
        raise ValueError(f"values {values.min()}..{values.max()} do not fit {width}-bit words")
    masked = values & ((1 << (8 * n)) - 1)
    return masked.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :n].tobytes()


def unpack_words(data: bytes, width: int, signed: bool = True) -> np.ndarray:
    """Inverse of :func:`pack_words`: sign-extends from ``width`` bits when ``signed``."""
    n = word_bytes(width)
    if len(data) % n:
        raise ValueError(f"{len(data)} bytes is not a whole number of {n}-byte words")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, n)
    wide = np.zeros((raw.shape[0], 8), dtype=np.uint8)
    wide[:, :n] = raw
    values = wide.view("<u8").ravel().astype(np.int64) & ((1 << width) - 1)
    if signed:
        values = np.where(values >= (1 << (width - 1)), values - (1 << width), values)
    return values
