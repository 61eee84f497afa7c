"""The GRU spec: the float GRU stack, its bit-exact integer model, and its analytic cycle count.

The integer recipe is the LSTM's (`hwgen.model.integer_model`): binary/ternary (or int8)
weight codes accumulated as acc_x = W·x and acc_h = R·h, one per-row integer affine
(multiplier + one shift per layer that floors), gate pre-activations saturated to the gate
format, σ/tanh from the same `ActivationTable`s, the hidden state in Q0.(A). One step of a
layer (rows in ONNX gate order z, r, h; A = hidden_format.frac; rnd = 2**(A-1)):

    g_zr = sat_G((mult_x·acc_x + mult_h·acc_h + bias) >> shift)          z, r rows
    z, r = σ(g_z), σ(g_r)                                                  Q0.A
    linear_before_reset = 1 (nn.GRU's form, what hwgen trains):
        g_h = sat_G((((mult_x·acc_x + bias) << A) + r·(mult_h·acc_h + reset_bias)) >> (shift + A))
    linear_before_reset = 0:
        rh  = (r·h + rnd) >> A                                             r ⊙ h in the hidden format
        g_h = sat_G((mult_x·acc_x + mult_h·(R_h·rh) + bias) >> shift)
    n    = tanh(g_h)
    h'   = (z·h + (2**A - z)·n + rnd) >> A                                 (1 - z)·n + z·h

For linear_before_reset=1 the reset gate multiplies the exact affine of R_h·h (+ Rb_h, the
`reset_bias`), and one floor shift follows: no extra rounding stage over the LSTM's. There is
no cell state, so no cell format and no cell affine.

The accelerator runs linear_before_reset=1 (`hwgen.hw.config.AccelConfig` with cell="gru",
`hwgen.hw.gru_update`); its `expected_cycles` is the GRU's cycle count. `gru_cycles_per_step`
remains the analytic count for the placement it does not run: with the lanes structure a
pass issues rows × (ceil(X/lanes) + ceil(H/lanes)) chunks per layer and step, and
linear_before_reset=0 cannot stream the candidate rows' R·(r ⊙ h) until every unit's r is
through σ and written back: each layer adds a `reset_drain` on top.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from hwgen.errors import HwgenError
from hwgen.model.fixed import ActivationTable, FixedFormat, bits_for
from hwgen.model.integer_model import DenseHead, GateAffine, IntegerStack, _ro, read_npz, saved_gate_affine, saved_parts
from hwgen.model.kinds import OUTPUT_STEPS, WEIGHTS_KINDS, LayerKind, OutputSteps, WeightsKind, check_kind, stack_kind
from hwgen.model.lstm_stack import FloatHead
from hwgen.model.layer_shape import CodesShape, IntegerCodes

GATES = 3


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


@dataclass(frozen=True, eq=False)
class GRUFloatLayer(CodesShape):
    """One GRU layer as (codes, per-row scale) pairs, ONNX gate order z, r, h; weights are codes * scale[:, None]."""

    w_codes: np.ndarray  # [3H, X] int8
    w_scale: np.ndarray  # [3H] float64
    r_codes: np.ndarray  # [3H, H] int8
    r_scale: np.ndarray  # [3H]
    wb: np.ndarray  # [3H]
    rb: np.ndarray  # [3H]
    kind: LayerKind
    linear_before_reset: bool = True

    def run(self, seq: np.ndarray) -> np.ndarray:
        """Float64 forward of [N, T, X] -> [N, T, H] (zero initial state), ONNX GRU semantics."""
        hid = self.hidden
        w = self.w_codes * self.w_scale[:, None]
        r = self.r_codes * self.r_scale[:, None]
        n, steps, _ = seq.shape
        h = np.zeros((n, hid))
        out = np.zeros((n, steps, hid))
        xw = seq @ w.T + self.wb
        for t in range(steps):
            zr = _sigmoid(xw[:, t, :2 * hid] + h @ r[:2 * hid].T + self.rb[:2 * hid])
            z, reset = zr[:, :hid], zr[:, hid:]
            if self.linear_before_reset:
                pre = xw[:, t, 2 * hid:] + reset * (h @ r[2 * hid:].T + self.rb[2 * hid:])
            else:
                pre = xw[:, t, 2 * hid:] + (reset * h) @ r[2 * hid:].T + self.rb[2 * hid:]
            h = (1 - z) * np.tanh(pre) + z * h
            out[:, t] = h
        return out


@dataclass(frozen=True, eq=False)
class GRUStack:
    """L forward GRU layers of one hidden size and an optional dense head (the LSTM stack's shape)."""

    layers: tuple[GRUFloatLayer, ...]
    head: Optional[FloatHead]
    every_step: bool = False
    name: str = "gru"
    #: How the graph it was matched in reads and writes (as `LSTMStack`'s): input [batch, T, X] (True) or [T, batch, X];
    #: a per-step output [batch, T, K] (True) or [T, batch, K]; names; a final (Log)Softmax.
    batch_first: bool = False
    output_batch_first: bool = True
    input_name: str = "x"
    output_name: str = "y"
    final_softmax: bool = False

    @property
    def weights_kind(self) -> LayerKind:
        return stack_kind(layer.kind for layer in self.layers)

    def run_float(self, x: np.ndarray) -> np.ndarray:
        """[N, T, X] -> [N, K] (or [N, T, K] with `every_step`): the float64 reference of the integer model."""
        seq = np.asarray(x, np.float64)
        for layer in self.layers:
            seq = layer.run(seq)
        h = seq if self.every_step else seq[:, -1]
        return h @ self.head.weight.T + self.head.bias if self.head is not None else h


@dataclass(frozen=True, eq=False)
class IntegerGRULayer(IntegerCodes):
    w_codes: np.ndarray  # [3H, X] int8, ONNX gate order (z, r, h)
    r_codes: np.ndarray  # [3H, H] int8
    input_format: FixedFormat
    gate: GateAffine  # bias of the h rows: Wb_h (linear_before_reset=1) or Wb_h + Rb_h (=0)
    reset_bias: np.ndarray  # [H] int64: Rb_h inside the reset gate (linear_before_reset=1), else zeros


@dataclass(frozen=True, eq=False)
class IntegerGRUModel(IntegerStack):
    """The bit-exact integer GRU (see the module docstring); `run` is what a GRU accelerator must match."""

    layers: tuple[IntegerGRULayer, ...]
    head: Optional[DenseHead]
    input_format: FixedFormat
    hidden_format: FixedFormat
    gate_format: FixedFormat
    sigmoid: ActivationTable
    tanh: ActivationTable
    weights_kind: WeightsKind
    linear_before_reset: bool = True
    output_steps: OutputSteps = "last"
    name: str = "gru"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_kind("weights kind", self.weights_kind, WEIGHTS_KINDS)
        check_kind("output_steps", self.output_steps, OUTPUT_STEPS)

    def multiplier_bits(self) -> int:
        """Signed width of the per-row multiplier constants (and dense weights)."""
        m = [int(np.abs(np.concatenate([layer.gate.mult_x, layer.gate.mult_h])).max()) for layer in self.layers]
        if self.head is not None:
            m.append(int(np.abs(self.head.weights).max(initial=0)))
        return bits_for(max(m))

    def affine_bits(self) -> int:
        """Width of every row affine's sum: z/r rows' mult_x·acc_x + mult_h·acc_h + bias, and the candidate rows'
        two partial sums px = mult_x·acc_x + bias and ph = mult_h·acc_h + reset_bias (kept apart for the reset gate)."""
        bound = 0
        for layer in self.layers:
            bx, bh = layer.acc_bounds(self.hidden_format)
            g, hid = layer.gate, layer.hidden
            px = np.abs(g.mult_x) * bx + np.abs(g.bias)
            ph = np.abs(g.mult_h) * bh + np.concatenate([np.zeros(2 * hid, np.int64), np.abs(layer.reset_bias)])
            bound = max(bound, int((px[:2 * hid] + ph[:2 * hid]).max()), int(px[2 * hid:].max()), int(ph[2 * hid:].max()))
        return bits_for(bound)

    def saturation(self) -> str:
        g = self.gate_format
        return (f"saturating: gate pre-activations to ±{-g.min * g.step:g} ({g.bits} bits); no cell state; "
                "all accumulators sized by worst-case bound")

    def run(self, x_int: np.ndarray) -> np.ndarray:
        """Integer inputs [N, T, X] -> integer outputs [N, K] ([N, T, K] with every-step outputs); one sequence
        [T, X] -> [K] ([T, K]), as `IntegerModel.run`."""
        seq = self._check_codes(x_int)
        if seq.ndim == 2:
            return self.run(seq[None])[0]
        for layer in self.layers:
            seq = self._run_layer(layer, seq)
        return self.head_output(seq if self.output_steps == "every_step" else seq[:, -1])

    def _candidate(self, layer: IntegerGRULayer, ax: np.ndarray, h: np.ndarray, reset: np.ndarray,
                   r_h: np.ndarray) -> np.ndarray:
        """g_h, the candidate's saturated gate code, with the reset gate placed per linear_before_reset."""
        g, a, hid = layer.gate, self.hidden_format.frac, layer.hidden
        mx, mh, b = g.mult_x[2 * hid:], g.mult_h[2 * hid:], g.bias[2 * hid:]
        if self.linear_before_reset:
            inner = mh * (h @ r_h) + layer.reset_bias
            return self.gate_format.saturate((((mx * ax + b) << a) + reset * inner) >> (g.shift + a))
        rh = (reset * h + (1 << (a - 1))) >> a
        return self.gate_format.saturate((mx * ax + mh * (rh @ r_h) + b) >> g.shift)

    def _run_layer(self, layer: IntegerGRULayer, xs: np.ndarray) -> np.ndarray:
        n, steps, _ = xs.shape
        hid, a, g = layer.hidden, self.hidden_format.frac, layer.gate
        w = layer.w_codes.T.astype(np.int64)
        r = layer.r_codes.T.astype(np.int64)
        r_zr, r_h = r[:, :2 * hid], r[:, 2 * hid:]
        acc_x = xs @ w  # [N, T, 3H]
        h = np.zeros((n, hid), np.int64)
        ys = np.zeros((n, steps, hid), np.int64)
        for t in range(steps):
            pre = g.mult_x[:2 * hid] * acc_x[:, t, :2 * hid] + g.mult_h[:2 * hid] * (h @ r_zr) + g.bias[:2 * hid]
            zr = self.sigmoid.lookup(self.gate_format.saturate(pre >> g.shift))
            z, reset = zr[:, :hid], zr[:, hid:]
            cand = self.tanh.lookup(self._candidate(layer, acc_x[:, t, 2 * hid:], h, reset, r_h))
            h = (z * h + ((1 << a) - z) * cand + (1 << (a - 1))) >> a
            ys[:, t] = h
        return ys


    # ---- persistence ---------------------------------------------------------------------------------------------
    def save(self, path: Union[str, Path]) -> None:
        """Write as .npz (arrays + a JSON header with `"cell": "gru"`); `IntegerGRUModel.load` reads it back exactly."""
        arrays: dict[str, np.ndarray] = {"sigmoid": self.sigmoid.values, "tanh": self.tanh.values}
        formats = {"input": self.input_format, "hidden": self.hidden_format, "gate": self.gate_format}
        meta: dict[str, object] = {
            "cell": "gru", "name": self.name, "weights_kind": self.weights_kind, "notes": list(self.notes),
            "output_steps": self.output_steps, "linear_before_reset": self.linear_before_reset,
            "formats": {k: [f.bits, f.frac] for k, f in formats.items()},
            "table": [self.sigmoid.index_shift, self.sigmoid.index_bits],
            "sample_bits": [self.sigmoid.sample_bits, self.tanh.sample_bits], "layers": [], "head": None,
        }
        for i, layer in enumerate(self.layers):
            p = f"layer{i}_"
            arrays.update({p + "w": layer.w_codes, p + "r": layer.r_codes, p + "mult_x": layer.gate.mult_x,
                           p + "mult_h": layer.gate.mult_h, p + "bias": layer.gate.bias, p + "reset_bias": layer.reset_bias})
            meta["layers"].append({"input_format": [layer.input_format.bits, layer.input_format.frac],  # type: ignore[union-attr]
                                   "shift": layer.gate.shift})
        if self.head is not None:
            arrays.update({"head_w": self.head.weights, "head_b": self.head.bias})
            meta["head"] = {"scale": self.head.scale}
        np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)

    @staticmethod
    def load(path: Union[str, Path]) -> "IntegerGRUModel":
        z, meta = read_npz(path)
        if meta.get("cell") != "gru":
            raise HwgenError(f"{path}: not an integer GRU model (load it with hwgen.model.saved.load_model)")
        fm, (sig, tanh), head = saved_parts(z, meta)
        layers = []
        for i, lm in enumerate(meta["layers"]):
            p = f"layer{i}_"
            layers.append(IntegerGRULayer(_ro(z[p + "w"]), _ro(z[p + "r"]), FixedFormat(*lm["input_format"]),
                                          saved_gate_affine(z, p, lm), _ro(z[p + "reset_bias"])))
        return IntegerGRUModel(tuple(layers), head, fm["input"], fm["hidden"], fm["gate"], sig, tanh,
                               meta["weights_kind"], bool(meta["linear_before_reset"]), meta["output_steps"],
                               meta["name"], tuple(meta["notes"]))


def pass_cycles(rows_per_unit: int, hidden: int, inputs: Sequence[int], lanes: int) -> int:
    """Issue cycles of one step's passes: Σ_l rows·H·(ceil(X_l/lanes) + ceil(H/lanes)) (one chunk per cycle)."""
    if lanes < 1 or hidden < 1:
        raise HwgenError(f"lanes and hidden must be >= 1, got lanes {lanes}, hidden {hidden}")
    return sum(rows_per_unit * hidden * (math.ceil(x / lanes) + math.ceil(hidden / lanes)) for x in inputs)


def gru_cycles_per_step(hidden: int, inputs: Sequence[int], lanes: int, overhead: int = 0,
                        linear_before_reset: bool = True, reset_drain: int = 0) -> int:
    """Analytic steady-state cycles of one GRU step on the LSTM accelerator's lanes structure.

    `inputs` are the layers' input sizes (X, H, H, ...); `overhead` the per-step cycles beyond
    the passes that the schedule adds (drain and hazard gaps: for the LSTM, its cycles per step
    minus `pass_cycles(4, ...)`); `reset_drain` the cycles from a layer's last r row to r ⊙ h
    being readable, paid once per layer when linear_before_reset=0.
    """
    drains = 0 if linear_before_reset else reset_drain * len(inputs)
    return pass_cycles(GATES, hidden, inputs, lanes) + overhead + drains


def gru_weight_bytes(hidden: int, inputs: Sequence[int], kind: str) -> int:
    """Bytes of the recurrent layers' weight codes packed at 1 (binary), 2 (ternary) or 8 (int8) bits."""
    bits = {"binary": 1, "ternary": 2, "int8": 8}[check_kind("weights kind", kind, WEIGHTS_KINDS)]
    return math.ceil(sum(GATES * hidden * (x + hidden) for x in inputs) * bits / 8)
