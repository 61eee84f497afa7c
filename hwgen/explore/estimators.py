"""Pre-synthesis estimates of an accelerator's LCs, block RAM, SPRAM, DSPs and Fmax, calibrated on synthesis.

Cycles are exact (`AccelConfig.cycles_per_step`, the controller's own schedule); the FPGA resources are not known
before yosys and nextpnr run (30 s – 10 min each here), so the analytic fidelity predicts them from a few
features with coefficients fitted (non-negative least squares per device; with fewer points than coefficients,
one scale on rough default coefficients) to whole accelerators synthesised by
``benchmarks/explore_calibrate.py`` (``data/calibration.json``). :func:`holdout_errors` says how far the estimates
are from the tools on points they were not fitted to (leave-one-out over the synthesised points).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from scipy.optimize import nnls

from hwgen.fpga.synth import device_for
from hwgen.hw.config import AccelConfig

CALIBRATION = Path(__file__).resolve().parent / "data" / "calibration.json"
#: The board flow adds the UART host link and its buffers (docs/results.md, fpga_boards: 1032 LCs, 3 EBR on the UP5K).
HOST_LINK = {"lcs": 1032, "ebr": 3}
#: Used while no calibration point of a device exists (rough figures from docs/results.md).
DEFAULTS = {"ice40-up5k": {"lcs": (1500.0, 60.0, 180.0, 20.0), "fmax": (62.0, 1.5, 2.0), "dsps": 3, "ebr": (4.0, 2.0)},
            "ecp5-85f": {"lcs": (1000.0, 35.0, 200.0, 15.0), "fmax": (110.0, 2.0, 5.0), "dsps": 3, "ebr": (4.0, 2.0)}}


@dataclass(frozen=True)
class Estimate:
    """What the analytic fidelity says about one accelerator (without the host link)."""

    lcs: int
    ebr: int
    spram: int
    dsps: int
    fmax_mhz: float
    cycles_per_step: int
    weight_bytes: int

    @property
    def us_per_step(self) -> float:
        return self.cycles_per_step / self.fmax_mhz


def _int8(config: AccelConfig) -> float:
    return 1.0 if config.weights_kind == "int8" else 0.0


def lc_features(config: AccelConfig) -> np.ndarray:
    """[1, lanes (accumulate-only), lanes (int8 Booth multipliers), log2 weight words × layers]: the shared units,
    the lane datapath of each kind, and the address counters and row state that grow with the model."""
    int8 = _int8(config)
    return np.array([1.0, config.lanes * (1 - int8) * config.act_bits / 8, config.lanes * int8 * config.act_bits / 8,
                     math.log2(max(config.weight_words, 2)) * config.layers])


def fmax_features(config: AccelConfig) -> np.ndarray:
    """[1, -log2 lanes, -int8]: a wider adder tree (and the int8 multipliers) lengthen the critical path."""
    return np.array([1.0, -math.log2(config.lanes), -_int8(config)])


def ebr_features(config: AccelConfig) -> np.ndarray:
    """[1, hidden / 64 × layers]: activation tables and constants, and the per-row vector memories."""
    return np.array([1.0, config.hidden * config.layers / 64])


@dataclass(frozen=True)
class Calibration:
    """Per-device coefficients of the three linear models and the DSP count (the shared multipliers)."""

    lcs: dict[str, np.ndarray]
    fmax: dict[str, np.ndarray]
    ebr: dict[str, np.ndarray]
    dsps: dict[str, int]
    points: int


def load_points(path: Path = CALIBRATION) -> list[dict]:
    if not path.exists():
        return []
    return json.loads(path.read_text())["points"]


def config_of(row: dict) -> AccelConfig:
    kind = "ebr" if row["device"] == "ecp5-85f" else "spram"
    return AccelConfig(hidden=row["hidden"], input=row["input"], layers=row.get("layers", 1), lanes=row["lanes"],
                       outputs=10, weights_kind=row["weights_kind"], weight_memory=row.get("weight_memory", kind),
                       act_bits=row.get("act_bits", 8), acc_bits=48)


def fit(points: Sequence[dict]) -> Calibration:
    """Non-negative least squares per device (the defaults where a device has fewer points than coefficients)."""
    lcs, fmax, ebr, dsps = {}, {}, {}, {}
    for device, default in DEFAULTS.items():
        rows = [p for p in points if p["device"] == device]
        configs = [config_of(p) for p in rows]
        lcs[device] = _nnls([lc_features(c) for c in configs], [p["lcs"] for p in rows], default["lcs"])
        fmax[device] = _nnls([fmax_features(c) for c in configs], [p["fmax_mhz"] for p in rows], default["fmax"])
        ebr_rows = [(ebr_features(c), p["ebr"] - _weight_ebr(c, device)) for c, p in zip(configs, rows)]
        ebr[device] = _nnls([f for f, _ in ebr_rows], [y for _, y in ebr_rows], default["ebr"])
        dsps[device] = int(np.median([p["dsps"] for p in rows])) if rows else default["dsps"]
    return Calibration(lcs, fmax, ebr, dsps, len(points))


def _nnls(x: list, y: list, default: Sequence[float]) -> np.ndarray:
    """NNLS with at least as many points as coefficients; with fewer, the default coefficients scaled by the median ratio of
    measured to predicted (one fitted number per device), and the defaults themselves with no point at all."""
    base = np.array(default, float)
    if len(y) >= len(default):
        coef, _ = nnls(np.array(x), np.array(y, float))
        return coef
    if not y:
        return base
    return base * float(np.median(np.array(y, float) / (np.array(x) @ base)))


def _weight_ebr(config: AccelConfig, device: str) -> int:
    return config.ebr_blocks("ecp5" if device == "ecp5-85f" else "ice40") if config.weight_memory == "ebr" else 0


def _spram(config: AccelConfig) -> int:
    if config.weight_memory != "spram":
        return 0
    return -(-config.word_bits // 16) * -(-config.weight_words // 16384)


@lru_cache(maxsize=1)
def calibration() -> Calibration:
    """The package's calibration: fitted on every synthesised point (`holdout_errors` validates it leave-one-out)."""
    return fit(load_points())


def estimate(config: AccelConfig, board: str, cal: Optional[Calibration] = None) -> Estimate:
    """The analytic estimate of `config` on `board`'s device (accelerator alone; add HOST_LINK for a board build)."""
    cal = cal or calibration()
    device = device_for(board)
    lcs = float(cal.lcs[device] @ lc_features(config))
    fmax = max(float(cal.fmax[device] @ fmax_features(config)), 1.0)
    ebr = float(cal.ebr[device] @ ebr_features(config)) + _weight_ebr(config, device)
    weight_bits = config.weight_words * config.word_bits
    return Estimate(lcs=round(lcs), ebr=math.ceil(ebr), spram=_spram(config), dsps=cal.dsps[device],
                    fmax_mhz=round(fmax, 2), cycles_per_step=config.cycles_per_step(),
                    weight_bytes=-(-weight_bits // 8))


@dataclass(frozen=True)
class EstimatorError:
    """Mean and worst relative error of one estimate on `points` held-out synthesised designs."""

    quantity: str
    points: int
    mean: float
    worst: float


def holdout_errors(points: Optional[Sequence[dict]] = None) -> list[EstimatorError]:
    """The estimators' error against yosys/nextpnr, leave-one-out: each synthesised point predicted by a calibration
    fitted on all the others (with so few points, a fixed held-out third can leave a whole device × weight-kind
    group out of the fit)."""
    points = list(load_points() if points is None else points)
    board = {"ice40-up5k": "icebreaker", "ecp5-85f": "ulx3s-85f"}
    errs: dict[str, list[float]] = {"lcs": [], "fmax_mhz": []}
    for i, p in enumerate(points):
        est = estimate(config_of(p), board[p["device"]], fit(points[:i] + points[i + 1:]))
        for key in errs:
            errs[key].append(abs(getattr(est, key) - p[key]) / p[key])
    return [EstimatorError(name, len(errs[key]), float(np.mean(errs[key])) if points else float("nan"),
                           float(np.max(errs[key])) if points else float("nan"))
            for name, key in (("LCs", "lcs"), ("Fmax", "fmax_mhz"))]
