"""The integer LSTM model: the bit-exact numpy specification of the accelerator.

An `IntegerModel` holds everything the hardware computes with — weight codes, per-row
integer affines (multiplier + shared shift that floors), number
formats and activation tables — and `run()` executes it with int64 numpy exactly as
the RTL does. The RTL, the Verilator runs and the TVM integer kernels are all checked
against `run()`.

One time step of layer l (rows in ONNX gate order i, o, f, c; `>>` is arithmetic):
    acc_x = W · x            acc_h = R · h                 (add / subtract / skip for ternary)
    g     = sat_G((mult_x·acc_x + mult_h·acc_h + bias) >> shift)
    c     = sat_C((σ(f)·c + (σ(i)·tanh(g_c) << (C.frac - A.frac)) + 2**(A.frac-1)) >> A.frac)
    cn    = sat_G((cell_mult·c + cell_bias) >> cell_shift)      (BN on c; identity without it)
    h     = (σ(o)·tanh(cn) + 2**(A.frac-1)) >> A.frac
with σ/tanh the `ActivationTable`s (output format A = hidden format). The dense head
(optional) gives logits = Wd · h_T + bd with int8 Wd; float logits = logits · head.scale.
`output_steps` says which steps produce outputs: "last" (a classifier: h_T only) or
"every_step" (a language model: logits, or h, after every step t, the same head on h_t).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Optional, Union

import numpy as np

from hwgen.errors import HwgenError
from hwgen.model.kinds import OUTPUT_STEPS, WEIGHTS_KINDS, OutputMode, OutputSteps, WeightsKind, check_kind
from hwgen.model.fixed import ActivationTable, FixedFormat, bits_for
from hwgen.model.layer_shape import IntegerCodes, StackShape


@dataclass(frozen=True, eq=False)
class GateAffine:
    """Per-row a·acc_x + a'·acc_h + b as integers: (mult_x·acc_x + mult_h·acc_h + bias) >> shift."""

    mult_x: np.ndarray  # [4H] int64
    mult_h: np.ndarray  # [4H] int64
    bias: np.ndarray  # [4H] int64; the shift floors (the lowering adds no rounding constant: see lower_fixed_point)
    shift: int


@dataclass(frozen=True, eq=False)
class CellAffine:
    """Per-unit affine on the cell state before tanh: (mult·c + bias) >> shift."""

    mult: np.ndarray  # [H] int64
    bias: np.ndarray  # [H] int64 (floored like the gate affine)
    shift: int


@dataclass(frozen=True, eq=False)
class IntegerLayer(IntegerCodes):
    w_codes: np.ndarray  # [4H, X] int8, ONNX gate order (i, o, f, c)
    r_codes: np.ndarray  # [4H, H] int8
    input_format: FixedFormat
    gate: GateAffine
    cell: CellAffine

    @cached_property
    def wt(self) -> np.ndarray:
        """W codes transposed as int64 [X, 4H], for x @ wt (computed once: every time step uses it)."""
        return self.w_codes.T.astype(np.int64)

    @cached_property
    def rt(self) -> np.ndarray:
        """R codes transposed as int64 [H, 4H]."""
        return self.r_codes.T.astype(np.int64)

    def affine_bound(self, hidden_format: FixedFormat) -> int:
        """Worst-case |mult_x·acc_x + mult_h·acc_h + bias| over rows (the affine adder's range)."""
        bx, bh = self.acc_bounds(hidden_format)
        g = self.gate
        return int((np.abs(g.mult_x) * bx + np.abs(g.mult_h) * bh + np.abs(g.bias)).max(initial=0))


@dataclass(frozen=True, eq=False)
class DenseHead:
    weights: np.ndarray  # [K, H] int64 codes in [-127, 127]
    bias: np.ndarray  # [K] int64, in units of scale
    scale: float  # float logit = integer logit * scale

    @property
    def outputs(self) -> int:
        return int(self.weights.shape[0])

    def bound(self, hidden_format: FixedFormat) -> int:
        return int((np.abs(self.weights).sum(axis=1) * -hidden_format.min + np.abs(self.bias)).max(initial=0))


@dataclass(frozen=True)
class SaturationReport:
    """Where the model saturates by choice (gate and cell formats) rather than by bound."""

    gate_bits: int
    cell_bits: int
    gate_range: float
    cell_range: float

    def __str__(self) -> str:
        return (f"saturating: gate pre-activations to ±{self.gate_range:g} ({self.gate_bits} bits), "
                f"cell state to ±{self.cell_range:g} ({self.cell_bits} bits); all accumulators sized by worst-case bound")


class IntegerStack(StackShape):
    """Mixin for an integer recurrent model (LSTM or GRU) with `layers`, an optional dense `head` and its
    input and hidden formats: what its outputs are, its accumulator width, and the float/integer edges of `run`."""

    head: Optional[DenseHead]
    input_format: FixedFormat
    hidden_format: FixedFormat

    @property
    def output(self) -> OutputMode:
        return "logits" if self.head is not None else "hidden"

    @property
    def output_size(self) -> int:
        return self.head.outputs if self.head is not None else self.hidden

    @property
    def output_bits(self) -> int:
        return bits_for(self.head.bound(self.hidden_format)) if self.head is not None else self.hidden_format.bits

    @property
    def output_scale(self) -> float:
        return self.head.scale if self.head is not None else self.hidden_format.step

    def accumulator_bits(self) -> int:
        """Width that holds every acc_x / acc_h of every layer (worst case, overflow impossible)."""
        return max(bits_for(max(layer.acc_bounds(self.hidden_format))) for layer in self.layers)

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Float inputs [..., T, X] → integer codes in the input format (int64)."""
        x = np.asarray(x)
        if x.shape[-1] != self.input_size:
            raise HwgenError(f"input has {x.shape[-1]} features per step; the model takes {self.input_size}")
        return self.input_format.quantize(x)

    def dequantize_output(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, np.float64) * self.output_scale

    def run_real(self, x: np.ndarray) -> np.ndarray:
        """Float inputs → float outputs through the integer arithmetic (quantize, `run`, dequantize): what the
        hardware computes, on the float model's scale, to compare the two."""
        return self.dequantize_output(self.run(self.quantize_input(x)))

    def head_output(self, h: np.ndarray) -> np.ndarray:
        """The integer outputs for top-layer hidden states h [..., H]: logits through the dense head, else h."""
        return h @ self.head.weights.T.astype(np.int64) + self.head.bias if self.head is not None else h

    def _check_codes(self, x_int: np.ndarray) -> np.ndarray:
        x = np.asarray(x_int)
        if not np.issubdtype(x.dtype, np.integer):
            raise HwgenError(f"{type(self).__name__}.run takes integer codes (use quantize_input), got {x.dtype}")
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise HwgenError(f"{type(self).__name__}.run takes [T, {self.input_size}] or [N, T, {self.input_size}], got {list(x.shape)}")
        f = self.input_format
        if x.min(initial=0) < f.min or x.max(initial=0) > f.max:
            raise HwgenError(f"input codes outside the {f.bits}-bit input format [{f.min}, {f.max}]")
        return x.astype(np.int64)


@dataclass(frozen=True, eq=False)
class IntegerModel(IntegerStack):
    layers: tuple[IntegerLayer, ...]
    head: Optional[DenseHead]
    input_format: FixedFormat
    hidden_format: FixedFormat
    gate_format: FixedFormat
    cell_format: FixedFormat
    sigmoid: ActivationTable
    tanh: ActivationTable
    weights_kind: WeightsKind
    name: str = "model"
    notes: tuple[str, ...] = field(default=())
    output_steps: OutputSteps = "last"

    def __post_init__(self) -> None:
        check_kind("weights kind", self.weights_kind, WEIGHTS_KINDS)
        check_kind("output_steps", self.output_steps, OUTPUT_STEPS)
        if self.cell_format.frac < self.hidden_format.frac:
            raise HwgenError(f"cell format {self.cell_format} needs at least {self.hidden_format.frac} fraction bits "
                             f"(the activation output's)")


    def affine_bits(self) -> int:
        return max(bits_for(layer.affine_bound(self.hidden_format)) for layer in self.layers)

    def multiplier_bits(self) -> int:
        """Signed width of the per-row multiplier constants (and dense weights)."""
        m = [int(np.abs(np.concatenate([layer.gate.mult_x, layer.gate.mult_h, layer.cell.mult])).max()) for layer in self.layers]
        if self.head is not None:
            m.append(int(np.abs(self.head.weights).max(initial=0)))
        return bits_for(max(m))

    def saturation(self) -> SaturationReport:
        g, c = self.gate_format, self.cell_format
        return SaturationReport(g.bits, c.bits, -g.min * g.step, -c.min * c.step)

    # ---- execution -------------------------------------------------------------------------
    def run(self, x_int: np.ndarray) -> np.ndarray:
        """Integer inputs [T, X] (or [N, T, X]) → integer outputs [K] (or [N, K]): logits or last hidden state;
        with output_steps "every_step", [T, K] (or [N, T, K]): the same after every step."""
        x = self._check_codes(x_int)
        single = x.ndim == 2
        if single:
            x = x[None]
        if x.ndim != 3:
            raise HwgenError(f"IntegerModel.run takes [T, {self.input_size}] or [N, T, {self.input_size}], got {list(x.shape)}")
        state = self.initial_state(x.shape[0])
        hs = np.zeros((x.shape[0], x.shape[1], self.hidden), np.int64)
        for t in range(x.shape[1]):
            state = self.step_state(state, x[:, t])
            hs[:, t] = state[-1][0]
        h = hs if self.output_steps == "every_step" else hs[:, -1]
        out = self.head_output(h)
        return out[0] if single else out

    # ---- one step at a time (for callers that decide per step, e.g. a gate between two models) ---------
    def initial_state(self, n: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """Zero (h, c) per layer for n sequences, the accelerator's state at a sequence start."""
        return tuple((np.zeros((n, layer.hidden), np.int64), np.zeros((n, layer.hidden), np.int64)) for layer in self.layers)

    def step_state(self, state: tuple[tuple[np.ndarray, np.ndarray], ...], x_t: np.ndarray
                   ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """One time step of the whole stack: integer inputs [N, X] and per-layer (h, c) → the new per-layer (h, c)."""
        xs = np.asarray(x_t).astype(np.int64)
        new = []
        for layer, (h, c) in zip(self.layers, state):
            h, c = self._layer_step(layer, xs, h, c)
            new.append((h, c))
            xs = h
        return tuple(new)

    def _layer_step(self, layer: IntegerLayer, x: np.ndarray, h: np.ndarray, c: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        a = self.hidden_format.frac
        rnd = 1 << (a - 1)
        g_aff, c_aff = layer.gate, layer.cell
        pre = g_aff.mult_x * (x @ layer.wt) + g_aff.mult_h * (h @ layer.rt) + g_aff.bias
        g = self.gate_format.saturate(pre >> g_aff.shift)
        gi, go, gf, gc = np.split(g, 4, axis=1)
        si, so, sf = self.sigmoid.lookup(gi), self.sigmoid.lookup(go), self.sigmoid.lookup(gf)
        tg = self.tanh.lookup(gc)
        c = self.cell_format.saturate((sf * c + ((si * tg) << (self.cell_format.frac - a)) + rnd) >> a)
        cn = self.gate_format.saturate((c_aff.mult * c + c_aff.bias) >> c_aff.shift)
        return (so * self.tanh.lookup(cn) + rnd) >> a, c

    # ---- persistence -----------------------------------------------------------------------
    def save(self, path: Union[str, Path]) -> None:
        """Write as .npz (arrays + a JSON header); `IntegerModel.load` reads it back exactly."""
        arrays: dict[str, np.ndarray] = {"sigmoid": self.sigmoid.values, "tanh": self.tanh.values}
        meta: dict[str, object] = {
            "name": self.name, "weights_kind": self.weights_kind, "notes": list(self.notes),
            "output_steps": self.output_steps,
            "formats": {k: [fmt.bits, fmt.frac] for k, fmt in self._formats().items()},
            "table": [self.sigmoid.index_shift, self.sigmoid.index_bits],
            "sample_bits": [self.sigmoid.sample_bits, self.tanh.sample_bits],
            "layers": [], "head": None,
        }
        for i, layer in enumerate(self.layers):
            p = f"layer{i}_"
            arrays.update({p + "w": layer.w_codes, p + "r": layer.r_codes, p + "mult_x": layer.gate.mult_x,
                           p + "mult_h": layer.gate.mult_h, p + "bias": layer.gate.bias,
                           p + "cell_mult": layer.cell.mult, p + "cell_bias": layer.cell.bias})
            meta["layers"].append({"input_format": [layer.input_format.bits, layer.input_format.frac],  # type: ignore[union-attr]
                                   "shift": layer.gate.shift, "cell_shift": layer.cell.shift})
        if self.head is not None:
            arrays.update({"head_w": self.head.weights, "head_b": self.head.bias})
            meta["head"] = {"scale": self.head.scale}
        np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)

    def _formats(self) -> dict[str, FixedFormat]:
        return {"input": self.input_format, "hidden": self.hidden_format, "gate": self.gate_format, "cell": self.cell_format}

    @staticmethod
    def load(path: Union[str, Path]) -> "IntegerModel":
        z, meta = read_npz(path)
        if meta.get("cell", "lstm") != "lstm":
            raise HwgenError(f"{path}: holds an integer {meta['cell'].upper()}, not an LSTM "
                             "(load either with hwgen.model.saved.load_model)")
        fm, (sig, tanh), head = saved_parts(z, meta)
        layers = []
        for i, lm in enumerate(meta["layers"]):
            p = f"layer{i}_"
            layers.append(IntegerLayer(
                _ro(z[p + "w"]), _ro(z[p + "r"]), FixedFormat(*lm["input_format"]), saved_gate_affine(z, p, lm),
                CellAffine(_ro(z[p + "cell_mult"]), _ro(z[p + "cell_bias"]), int(lm["cell_shift"]))))
        return IntegerModel(tuple(layers), head, fm["input"], fm["hidden"], fm["gate"], fm["cell"], sig, tanh,
                            meta["weights_kind"], meta["name"], tuple(meta["notes"]), meta.get("output_steps", "last"))


def saved_parts(z, meta: dict) -> tuple[dict[str, FixedFormat], tuple[ActivationTable, ActivationTable],
                                        Optional[DenseHead]]:
    """What every saved integer model (LSTM or GRU) stores alike: its formats, σ/tanh tables and dense head."""
    fm = {k: FixedFormat(*v) for k, v in meta["formats"].items()}
    shift, bits = meta["table"]
    sample_sig, sample_tanh = meta.get("sample_bits", [0, 0])
    sig = ActivationTable("sigmoid", _ro(z["sigmoid"]), shift, bits, fm["gate"], fm["hidden"], sample_sig)
    tanh = ActivationTable("tanh", _ro(z["tanh"]), shift, bits, fm["gate"], fm["hidden"], sample_tanh)
    head = DenseHead(_ro(z["head_w"]), _ro(z["head_b"]), float(meta["head"]["scale"])) if meta["head"] else None
    return fm, (sig, tanh), head


def saved_gate_affine(z, prefix: str, layer_meta: dict) -> GateAffine:
    """A saved layer's per-row gate affine (arrays under `prefix`)."""
    return GateAffine(_ro(z[prefix + "mult_x"]), _ro(z[prefix + "mult_h"]), _ro(z[prefix + "bias"]),
                      int(layer_meta["shift"]))


def read_npz(path: Union[str, Path]) -> tuple[object, dict]:
    """The arrays and JSON header of a saved integer model (.npz), or HwgenError saying it is not one."""
    try:
        z = np.load(path, allow_pickle=False)
        return z, json.loads(bytes(z["meta"]).decode())
    except Exception as err:
        raise HwgenError(f"{path}: not an hwgen integer model (.npz) ({type(err).__name__}: {err})") from None


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a
