"""The controller's schedule as data: pipeline latencies, pass lengths, hazard gaps, cycle counts.

The accelerator issues one chunk read per cycle: a *pass* computes one layer for one
time step (G·H rows × `config.chunks(l)` = ceil(X_l / lanes) + H / lanes chunks, rows in
unit order i, f, g, o for an LSTM (G = 4), z, r, n for a GRU (G = 3); layer 0's input is
zero-padded to whole chunks). A GRU's state update starts at its n row's affine output (the
two partial sums bypass the activation unit), so its `write_offset` has GRU_STATE_LATENCY
in place of the LSTM's ACT_LATENCY + STATE_LATENCY. The state
update of the last units finishes `write_offset` cycles after their last issue, and
the next pass starts at once — reading the input part first — unless a chunk it reads
in its first row would still be in flight: then the controller waits `gaps[l]` cycles
before layer l's pass. Gaps are constants computed here and built into the hardware,
so `expected_cycles` is exact, not an estimate.

With `gate_rows=4` a word holds one chunk of a unit's four rows: a unit takes `chunks(l)` cycles
(`config.unit_cycles`), its four sums leave the accumulators together and enter the affine
`ROW_SPACING` cycles apart (`serial_offset`), so a pass is H · chunks(l) cycles. With `gate_rows=2`
a word holds rows i, f and the next g, o: a unit takes 2 · chunks(l) cycles, each word's two sums
entering the affine ROW_SPACING apart.

Outputs with a dense head (`HeadTiming`): the head computes a step's logits on its own lanes from
its own copy of h while the controller goes on with the next step; a step's end waits only while the
head still reads an earlier step's bank. A step takes `passes + gaps` cycles, or the head's
`period` when every step's logits take longer. Without a head, after the last step of a sequence
(or every step) the controller drains the state update (`write_offset` cycles after the last issue)
and the output unit streams h from the vector memory (`output_cycles`); it shares the memory's read
port with the passes, so every-step bursts do not overlap: a step then takes `passes + inner gaps
+ write_offset + output_cycles + 1` cycles (one WAIT cycle), and no hazard gap is needed before
layer 0 (all writes landed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from hwgen.hw.pipeline import clog2

if TYPE_CHECKING:
    from hwgen.hw.config import AccelConfig

MEM_LATENCY = 2  # weight / vector memory read, then the operand registers
LANE_LATENCY = 1  # add/sub/skip or MAC register
ACC_LATENCY = 1
AFFINE_LATENCY = 6
ACT_LATENCY = 2  # activation port A: registered clamped table address, then the ROM read
STATE_LATENCY = 12
GRU_STATE_LATENCY = 8  # GRU: from the n row's partial sums leaving the affine to h_we (`hwgen.hw.gru_update`)
VEC_WRITE_LATENCY = 1  # h value -> vector memory: the write port's register
HIDDEN_OUT_CYCLES = 3  # hidden-state output: read, select, handshake
ROW_SPACING = 2  # gate_rows > 1: a word's rows enter the shared affine 2 cycles apart (its multiplier takes two per row)
SERIAL_LATENCY = 0  # gate_rows > 1: the row serialiser's chain loads with the accumulators' registers (no extra cycle)


def tree_leaves(config: "AccelConfig") -> int:
    return config.lanes + (0 if config.weights_kind == "int8" else 1)


def tree_depth(config: "AccelConfig") -> int:
    n = tree_leaves(config)
    return clog2(n) if n > 1 else 0


def acc_offset(config: "AccelConfig") -> int:
    """Cycles from a chunk's issue to its sum entering the accumulator."""
    return MEM_LATENCY + LANE_LATENCY + tree_depth(config)


def serial_offset(config: "AccelConfig") -> int:
    """Cycles from a unit's sums leaving the accumulators to its o row entering the affine (0 with one row a word:
    the row goes straight on; with gate_rows > 1 a word's rows follow one another ROW_SPACING apart, o last)."""
    return 0 if config.gate_rows == 1 else SERIAL_LATENCY + ROW_SPACING * (config.gate_rows - 1)


def i_lead(config: "AccelConfig", layer: int) -> int:
    """Cycles from a unit's i row reaching the state update to its o row reaching it: o is in the unit's last word,
    `4 / gate_rows - 1` words of `chunks(layer)` cycles after i's, and last of that word's rows, ROW_SPACING apart."""
    rows = config.gate_rows
    return (config.gates // rows - 1) * config.chunks(layer) + ROW_SPACING * (rows - 1)


def state_read_lead(config: "AccelConfig", layer: int) -> int:
    """Cycles from the state update reading a unit's kept state (LSTM: c, at its i gate; GRU: its old h, at its n
    row's partial sums) to the cycle it writes the new one (h_we)."""
    return GRU_STATE_LATENCY if config.cell == "gru" else STATE_LATENCY + i_lead(config, layer)


def write_offset(config: "AccelConfig") -> int:
    """Cycles from the issue of a unit's last chunk (o row; GRU: n row) to the cycle its h (and c) are written."""
    update = GRU_STATE_LATENCY if config.cell == "gru" else ACT_LATENCY + STATE_LATENCY
    return acc_offset(config) + ACC_LATENCY + serial_offset(config) + AFFINE_LATENCY + update + VEC_WRITE_LATENCY


def _gaps(config: "AccelConfig", w: int) -> tuple[int, ...]:
    """Smallest constant gap before each layer's pass so no read of h or c overtakes its write (steady state)."""
    layers, hidden, lanes = config.layers, config.hidden, config.lanes
    gaps = [0] * layers
    for _ in range(64):
        need = [0] * layers
        t = 0
        written: dict[tuple, int] = {}
        for step in range(3):
            for layer in range(layers):
                if step or layer:
                    t += gaps[layer]
                k, kx, ku = config.chunks(layer), config.x_chunks(layer), config.unit_cycles(layer)
                for p in range(k):
                    key = (layer - 1, p) if p < kx and layer > 0 else (layer, p - kx) if p >= kx else None
                    if key is not None and key in written:
                        need[layer] = max(need[layer], written[key] + 1 - (t + p))
                for u in range(hidden):  # the kept state of unit u (LSTM c, GRU h copy) is read before its h_we
                    key = ("c", layer, u)
                    if key in written:
                        read = t + (u + 1) * ku - 1 + w - VEC_WRITE_LATENCY - state_read_lead(config, layer)
                        need[layer] = max(need[layer], written[key] + 1 - read)
                for u in range(hidden):
                    done = t + (u + 1) * ku - 1 + w
                    key = (layer, u // lanes)
                    written[key] = max(written.get(key, -1), done)
                    written[("c", layer, u)] = done - VEC_WRITE_LATENCY  # c is written with h_we, before the h register
                t += hidden * ku
        if not any(need):
            return tuple(gaps)
        gaps = [g + n for g, n in zip(gaps, need)]
    raise AssertionError("gap computation did not converge")


@dataclass(frozen=True)
class HeadTiming:
    """The dense head (`hwgen.hw.head_unit`): it starts the cycle after a step's last issue (or after the HOLD that
    waited for it), waits `delay` cycles for the step's last h write, issues `issue` cycles (outputs × H/products)
    and its last logit leaves `pipe` cycles after its last issue. With every-step outputs it runs beside the next
    step; with last-step outputs (once a sequence) it reads the vector memory while the controller HOLDs."""

    delay: int
    issue: int
    pipe: int

    @staticmethod
    def of(config: "AccelConfig", write_offset: int) -> "HeadTiming":
        from hwgen.hw.head_unit import head_delay, head_pipe

        n = config.head_products
        return HeadTiming(head_delay(config.hidden, config.lanes, n, write_offset), config.outputs * config.hidden // n,
                          head_pipe(n))

    @property
    def period(self) -> int:
        """Fewest cycles from one step's end to the next one's when both start the head: its start register,
        the delay, the issue and the cycle its busy flag drops."""
        return 1 + self.delay + self.issue + 1

    @property
    def tail(self) -> int:
        """Cycles from a step's end (its last issue, or its HOLD's last cycle) to the last logit, inclusive."""
        return 1 + self.delay + self.issue + self.pipe


@dataclass(frozen=True)
class Schedule:
    start: int  # cycle of the first issue (the first input beat is cycle 0)
    pass_cycles: tuple[int, ...]
    gaps: tuple[int, ...]
    write_offset: int
    output_cycles: int
    every_step: bool = False  # outputs after every step
    #: The dense head's timing (None: no head; the hidden state goes out after a drain, `output_cycles`).
    head: Optional[HeadTiming] = None

    @staticmethod
    def of(config: "AccelConfig") -> "Schedule":
        w = write_offset(config)
        passes = tuple(config.hidden * config.unit_cycles(layer) for layer in range(config.layers))
        head = HeadTiming.of(config, w) if config.outputs else None
        out = head.tail if head is not None else 1 + config.hidden * HIDDEN_OUT_CYCLES
        return Schedule(config.input + 1, passes, _gaps(config, w), w, out, config.output_steps == "every_step", head)

    @property
    def issue_cycles(self) -> int:
        """First to last issue of one step, plus one: the passes and the gaps between layers."""
        return sum(self.pass_cycles) + sum(self.gaps[1:])

    @property
    def cycles_per_step(self) -> int:
        if self.head is not None:  # the head of step t runs beside step t + 1; a longer head holds the steps
            return max(self.issue_cycles + self.gaps[0], self.head.period if self.every_step else 0)
        if self.every_step:
            return self.issue_cycles + self.write_offset + self.output_cycles + 1
        return self.issue_cycles + self.gaps[0]

    def last_issue(self, steps: int) -> int:
        """The last step's end: its last issue (with a head, or after the HOLD that waited for the head)."""
        return self.start + (steps - 1) * self.cycles_per_step + self.issue_cycles - 1

    def sequence_cycles(self, steps: int) -> int:
        if steps < 1:
            raise ValueError(f"a sequence has at least one step, got {steps}")
        if self.head is not None:
            return self.last_issue(steps) + self.head.tail + 1
        return self.last_issue(steps) + self.write_offset + 1 + self.output_cycles
