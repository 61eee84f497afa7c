"""The recurrent ops: LSTM and GRU.

LSTM:

Semantics are ONNX `LSTM` (gate order i, o, f, c; layout 0: X is [seq, batch, input])
with default activations, plus one hwgen extension for the batch-normalised cell of
Ardakani et al.: an optional per-unit affine on the cell state before the output
tanh, h = o * tanh(cell_scale * c + cell_shift). Without it this is exactly ONNX LSTM.

Inputs (absent optional ones are ""):
    0 X [seq, batch, input]          1 W [dirs, 4H, input]      2 R [dirs, 4H, H]
    3 B [dirs, 8H] (Wb then Rb)       4 initial_h [dirs, batch, H]
    5 initial_c [dirs, batch, H]      6 cell_scale [dirs, H]     7 cell_shift [dirs, H]
Outputs: Y [seq, dirs, batch, H], Y_h [dirs, batch, H], Y_c [dirs, batch, H].

Binary/ternary weights reach W and R through a Dequantize node whose input is a
Ternary/Binary constant with per-row scales; backends look through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

from hwgen.ir.ops.base import InTypes, OpAttrs, dims_equal, float_input, present, require
from hwgen.ir.types import TensorType

DIRECTIONS = ("forward", "reverse", "bidirectional")


@dataclass(frozen=True)
class LSTMAttrs(OpAttrs):
    op = "LSTM"
    hidden: int = 1
    direction: str = "forward"
    clip: Optional[float] = None
    gate_order: str = "iofc"
    min_inputs = 3
    max_inputs = 8
    X: ClassVar[int] = 0
    W: ClassVar[int] = 1
    R: ClassVar[int] = 2
    B: ClassVar[int] = 3
    INITIAL_H: ClassVar[int] = 4
    INITIAL_C: ClassVar[int] = 5
    CELL_SCALE: ClassVar[int] = 6
    CELL_SHIFT: ClassVar[int] = 7

    def __post_init__(self) -> None:
        require(self.hidden >= 1, f"LSTM hidden size must be >= 1, got {self.hidden}")
        require(self.direction in DIRECTIONS, f"LSTM direction {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
        require(self.gate_order == "iofc", f"LSTM gate_order {self.gate_order!r}: only ONNX order 'iofc' is defined")
        require(self.clip is None or self.clip > 0, f"LSTM clip must be > 0, got {self.clip}")

    @property
    def num_directions(self) -> int:
        return 2 if self.direction == "bidirectional" else 1

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = float_input(inputs[0], self.op, "X")
        w = float_input(inputs[1], self.op, "W")
        r = float_input(inputs[2], self.op, "R")
        h, dirs = self.hidden, self.num_directions
        require(x.rank == 3, f"LSTM X must be [seq, batch, input], got {x}")
        seq, batch, size = x.shape
        require(w.rank == 3 and dims_equal(w.shape[0], dirs) and dims_equal(w.shape[1], 4 * h) and dims_equal(w.shape[2], size),
                f"LSTM W must be [{dirs}, {4 * h}, {size}], got {w}")
        require(r.rank == 3 and dims_equal(r.shape[0], dirs) and dims_equal(r.shape[1], 4 * h) and dims_equal(r.shape[2], h),
                f"LSTM R must be [{dirs}, {4 * h}, {h}], got {r}")
        expected = {
            self.B: (dirs, 8 * h),
            self.INITIAL_H: (dirs, batch, h),
            self.INITIAL_C: (dirs, batch, h),
            self.CELL_SCALE: (dirs, h),
            self.CELL_SHIFT: (dirs, h),
        }
        names = {self.B: "B", self.INITIAL_H: "initial_h", self.INITIAL_C: "initial_c",
                 self.CELL_SCALE: "cell_scale", self.CELL_SHIFT: "cell_shift"}
        for index, shape in expected.items():
            t = present(inputs, index)
            if t is not None:
                float_input(t, self.op, names[index])
                require(t.rank == len(shape) and all(dims_equal(a, b) for a, b in zip(t.shape, shape)),
                        f"LSTM {names[index]} must be {list(shape)}, got {t}")
        require((present(inputs, self.CELL_SCALE) is None) == (present(inputs, self.CELL_SHIFT) is None),
                "LSTM cell_scale and cell_shift come together")
        state = TensorType((dirs, batch, h), x.dtype)
        return [TensorType((seq, dirs, batch, h), x.dtype), state, state]


@dataclass(frozen=True)
class GRUAttrs(OpAttrs):
    """ONNX `GRU` (gate order z, r, h; layout 0; default activations Sigmoid, Tanh).

    With r the reset gate and Hp the previous state, the candidate is
    tanh(Xt·Wh + (r ⊙ Hp)·Rh + Rbh + Wbh) when `linear_before_reset` is off and
    tanh(Xt·Wh + r ⊙ (Hp·Rh + Rbh) + Wbh) when on; Ht = (1 - z) ⊙ candidate + z ⊙ Hp.

    Inputs (absent optional ones are ""):
        0 X [seq, batch, input]   1 W [dirs, 3H, input]   2 R [dirs, 3H, H]
        3 B [dirs, 6H] (Wb then Rb)   4 initial_h [dirs, batch, H]
    Outputs: Y [seq, dirs, batch, H], Y_h [dirs, batch, H].
    """

    op = "GRU"
    hidden: int = 1
    direction: str = "forward"
    linear_before_reset: bool = False
    clip: Optional[float] = None
    min_inputs = 3
    max_inputs = 5
    X: ClassVar[int] = 0
    W: ClassVar[int] = 1
    R: ClassVar[int] = 2
    B: ClassVar[int] = 3
    INITIAL_H: ClassVar[int] = 4

    def __post_init__(self) -> None:
        require(self.hidden >= 1, f"GRU hidden size must be >= 1, got {self.hidden}")
        require(self.direction in DIRECTIONS, f"GRU direction {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
        require(self.clip is None or self.clip > 0, f"GRU clip must be > 0, got {self.clip}")

    @property
    def num_directions(self) -> int:
        return 2 if self.direction == "bidirectional" else 1

    def infer(self, inputs: InTypes) -> list[TensorType]:
        x = float_input(inputs[0], self.op, "X")
        h, dirs = self.hidden, self.num_directions
        require(x.rank == 3, f"GRU X must be [seq, batch, input], got {x}")
        seq, batch, size = x.shape
        expected = {self.W: ("W", (dirs, 3 * h, size)), self.R: ("R", (dirs, 3 * h, h)), self.B: ("B", (dirs, 6 * h)),
                    self.INITIAL_H: ("initial_h", (dirs, batch, h))}
        for index, (name, shape) in expected.items():
            t = present(inputs, index)
            if t is not None:
                float_input(t, self.op, name)
                require(t.rank == len(shape) and all(dims_equal(a, b) for a, b in zip(t.shape, shape)),
                        f"GRU {name} must be {list(shape)}, got {t}")
        return [TensorType((seq, dirs, batch, h), x.dtype), TensorType((dirs, batch, h), x.dtype)]
