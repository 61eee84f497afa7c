"""Pre-synthesis estimates of a design's LCs, block RAM, SPRAM, DSPs and Fmax, calibrated on synthesis.

Cycles are exact (`AccelConfig.cycles_per_step`, the controller's own schedule); the FPGA resources are not known
before yosys and nextpnr run (30 s – 10 min each here), so the analytic fidelity predicts them with small linear
models of named features (`LC_FEATURES`, `FMAX_FEATURES`), fitted per device by non-negative least squares to
what ``benchmarks/explore_calibrate.py`` synthesised (``data/calibration.json``): accelerators alone (a two-pin
harness) and whole board designs (accelerator + UART host link, as `hwgen.compile(..., "fpga")` builds them), both
in one fit, the host link being one of the features. :func:`holdout_errors` says how far the estimates are from the
tools on points they were not fitted to (leave-one-out over every synthesised point).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from hwgen.fpga.synth import device_for
from hwgen.hw.config import AccelConfig

CALIBRATION = Path(__file__).resolve().parent / "data" / "calibration.json"
#: The board of each device that calibration and the holdout errors use for accelerator points.
DEVICE_BOARD = {"ice40-up5k": "icebreaker", "ecp5-85f": "ulx3s-85f"}
#: Memories of at most this many words become flip-flops and LUTs in yosys, not block RAM (measured: the UP5K H=16
#: board design's 16-word cell-state memories took 4 fewer EBR and ~400 more LCs than H=32's 32-word ones).
LOGIC_MEMORY_WORDS = 16
#: Bits per hidden unit of the cell-state memories (`hwgen.hw.state_update`: the 16-bit cell state and the ~40-bit
#: per-unit update constants), the memories that H <= LOGIC_MEMORY_WORDS puts in logic.
STATE_BITS_PER_UNIT = 56

LC_FEATURES = ("shared", "accumulate lanes", "int8 LUT lanes", "int8 DSP lanes", "log2 weight words", "further layers",
               "further gate rows", "host link", "per-step stream", "logic memories")
FMAX_FEATURES = ("base", "-log2 products", "-int8 LUT multipliers", "-int8 DSP multipliers", "-host link",
                 "-logic memories")
EBR_FEATURES = ("tables", "hidden/64 × layers", "host link", "per-step stream", "head codes/4 Kb")
#: DSPs per int8 lane product in a board build where no int8 board design is calibrated: the UP5K 4-lane int8
#: board design's (8 DSPs: 3 shared + 5 for 4 products), the largest measured.
DSPS_PER_INT8_PRODUCT = 1.25
#: Rough coefficients used while a device has fewer calibration points than features (each scaled by one fitted
#: ratio; docs/results.md's first measurements).
DEFAULTS = {"ice40-up5k": {"lcs": (1500.0, 60.0, 180.0, 20.0, 20.0, 60.0, 40.0, 1100.0, 200.0, 400.0),
                           "fmax": (62.0, 1.5, 20.0, 5.0, 3.0, 6.0), "dsps": 3, "ebr": (4.0, 2.0, 1.0, 4.0, 1.0)},
            "ecp5-85f": {"lcs": (1000.0, 35.0, 200.0, 20.0, 15.0, 60.0, 40.0, 850.0, 200.0, 300.0),
                         "fmax": (110.0, 2.0, 5.0, 2.0, 4.0, 5.0), "dsps": 3, "ebr": (4.0, 2.0, 0.0, 2.0, 0.5)}}


@dataclass(frozen=True)
class Design:
    """What the estimators know of a design before it is built: its accelerator and whether it is a whole board
    design (the UART host link and its buffers around the accelerator, multipliers in DSPs: the board flow) or the
    accelerator alone in the calibration harness (int8 lane multipliers in LUTs: its `mixed` mapping). Per-step
    output (a char-LM streaming every step) and the gate rows a word holds are the config's (`output_steps`,
    `gate_rows`)."""

    config: AccelConfig
    host_link: bool = True
    #: measured before the dense head had lanes of its own (calibration rows without "head_lanes"): its one
    #: product a cycle used the row affine's multiplier, so it took no DSP of its own
    serial_head: bool = False

    @property
    def int8_in_luts(self) -> bool:
        return self.config.weights_kind == "int8" and not self.host_link

    @property
    def int8_in_dsps(self) -> bool:
        return self.config.weights_kind == "int8" and self.host_link

    @property
    def head_dsps(self) -> int:
        """The dense head's multipliers, in DSPs on a board design (`AccelConfig.head_products`)."""
        return self.config.head_products if self.host_link and self.config.outputs and not self.serial_head else 0

    @property
    def per_step(self) -> bool:
        return self.config.output_steps == "every_step"

    @property
    def logic_memory_units(self) -> float:
        """Hidden units whose cell-state memories yosys puts in flip-flops (all of them at H <= 16, else none),
        in units of 16."""
        return self.config.hidden / 16 if self.config.hidden <= LOGIC_MEMORY_WORDS else 0.0


@dataclass(frozen=True)
class Estimate:
    """What the analytic fidelity says about one design."""

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


def lc_features(design: Design) -> np.ndarray:
    """`LC_FEATURES`: the shared units (controller, affine, activation and state update); the accumulate-only
    lanes (vector chunk operands and one adder tree, as wide as the activations); the int8 products (lanes × gate
    rows: a multiplier each; no int8 point has four rows, so those are extrapolated), with Booth multipliers in LUTs
    (the harness) or DSPs (a board build: one shared fit overestimated the UP5K int8 board design by 20 %); the
    weight address counters; each further layer's row state and sequencing; the further gate rows of a
    word (their adder trees and accumulators share the lanes' vector operands: counted as products, a four-row
    word's lanes overestimated the UP5K 8 × 4 board design by 16 %); the host link; the per-step output path; the
    cell-state memories in flip-flops."""
    c = design.config
    accumulate = (1 - _int8(c)) * c.act_bits / 8
    return np.array([1.0, c.lanes * accumulate, c.products * design.int8_in_luts * c.act_bits / 8,
                     c.products * design.int8_in_dsps * c.act_bits / 8, math.log2(max(c.weight_words, 2)), c.layers - 1.0, c.lanes * (c.gate_rows - 1) * accumulate,
                     float(design.host_link), float(design.per_step and design.host_link),
                     design.logic_memory_units * STATE_BITS_PER_UNIT / 64])


def fmax_features(design: Design) -> np.ndarray:
    """`FMAX_FEATURES`: a wider adder tree, the int8 multipliers (in LUTs or DSPs), the host link and the flip-flop
    memories' wide multiplexers each lengthen the critical path."""
    c = design.config
    return np.array([1.0, -math.log2(c.products), -float(design.int8_in_luts), -float(design.int8_in_dsps),
                     -float(design.host_link), -design.logic_memory_units])


def ebr_features(design: Design) -> np.ndarray:
    """`EBR_FEATURES` (besides the weights' own blocks): activation tables and constants, the per-row vector
    memories, the host link's buffers."""
    c = design.config
    return np.array([1.0, c.hidden * c.layers / 64, float(design.host_link), float(design.per_step and design.host_link),
                     c.outputs * c.hidden * 8 / 4096])


@dataclass(frozen=True)
class Calibration:
    """Per-device coefficients of the three linear models and the DSP model: the shared multipliers (affine,
    activation, state update) and, for int8 lane multipliers in DSPs (a board build), DSPs per product."""

    lcs: dict[str, np.ndarray]
    fmax: dict[str, np.ndarray]
    ebr: dict[str, np.ndarray]
    dsps: dict[str, int]
    points: int
    dsps_per_int8_product: dict[str, float] = field(default_factory=dict)

    def dsps_of(self, design: Design, device: str) -> int:
        """The shared DSPs, plus, in a board design, the int8 products' (rounded up, so the board-fit check never
        accepts a design on too few) and the dense head's lanes (a multiplier each)."""
        per_product = self.dsps_per_int8_product.get(device, DSPS_PER_INT8_PRODUCT)
        return (self.dsps[device] + math.ceil(design.int8_in_dsps * design.config.products * per_product)
                + design.head_dsps)


def load_points(path: Path = CALIBRATION, kind: str | None = None) -> list[dict]:
    """The synthesised points: accelerators (`kind="points"`), whole board designs (`"board_points"`), or both."""
    if not path.exists():
        return []
    doc = json.loads(path.read_text())
    kinds = (kind,) if kind else ("points", "board_points")
    return [row for k in kinds for row in doc.get(k, [])]


def design_of(row: dict) -> Design:
    """The design a calibration row measured (a board point has "board"; an accelerator point has not)."""
    kind = "ebr" if row["device"] == "ecp5-85f" else "spram"
    config = AccelConfig(hidden=row["hidden"], input=row["input"], layers=row.get("layers", 1), lanes=row["lanes"],
                         outputs=row.get("outputs", 10), weights_kind=row["weights_kind"],
                         weight_memory=row.get("weight_memory", kind), act_bits=row.get("act_bits", 8), acc_bits=48,
                         gate_rows=row.get("gate_rows", 1),
                         output_steps="every_step" if row.get("stream") in ("logits", "argmax") else "last",
                         head_lanes=row.get("head_lanes", 0))
    return Design(config, host_link="board" in row, serial_head="head_lanes" not in row)


def point_name(row: dict) -> str:
    """A calibration row in words (where the worst errors are)."""
    where = row.get("board", "accelerator on " + row["device"])
    task = f"{row['task']} " if row.get("task", "digits") != "digits" else ""
    trained = f", {row['epochs']} epoch(s)" if "epochs" in row else ""
    return (f"{where} {task}{row['weights_kind']} H={row['hidden']} X={row['input']} L={row.get('layers', 1)} "
            f"A{row.get('act_bits', 8)} lanes {row['lanes']}×{row.get('gate_rows', 1)}{trained}")


def fit(points: Sequence[dict]) -> Calibration:
    """Non-negative least squares per device on every point (the defaults, scaled, where a device has fewer points
    than features)."""
    lcs, fmax, ebr, dsps, per_product = {}, {}, {}, {}, {}
    for device, default in DEFAULTS.items():
        rows = [p for p in points if p["device"] == device]
        designs = [design_of(p) for p in rows]
        lcs[device] = _nnls([lc_features(d) for d in designs], [p["lcs"] for p in rows], default["lcs"])
        fmax[device] = _nnls([fmax_features(d) for d in designs], [p["fmax_mhz"] for p in rows], default["fmax"])
        ebr[device] = _nnls([ebr_features(d) for d in designs],
                            [p["ebr"] - _weight_ebr(d.config, device) for d, p in zip(designs, rows)], default["ebr"])
        shared = [p["dsps"] - d.head_dsps for d, p in zip(designs, rows) if not d.int8_in_dsps]
        dsps[device] = int(np.median(shared)) if shared else default["dsps"]
        per_product[device] = max([(p["dsps"] - dsps[device] - d.head_dsps) / d.config.products
                                   for d, p in zip(designs, rows) if d.int8_in_dsps], default=DSPS_PER_INT8_PRODUCT)
    return Calibration(lcs, fmax, ebr, dsps, len(points), per_product)


def _nnls(x: list, y: list, default: Sequence[float]) -> np.ndarray:
    """NNLS with at least as many points as coefficients; with fewer, the default coefficients scaled by the median
    ratio of measured to predicted (one fitted number per device), and the defaults themselves with no point."""
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


def estimate_design(design: Design, board: str, cal: Calibration | None = None) -> Estimate:
    """The analytic estimate of `design` on `board`'s device."""
    cal = cal or calibration()
    device = device_for(board)
    config = design.config
    lcs = float(cal.lcs[device] @ lc_features(design))
    fmax = max(float(cal.fmax[device] @ fmax_features(design)), 1.0)
    ebr = float(cal.ebr[device] @ ebr_features(design)) + _weight_ebr(config, device)
    weight_bits = config.weight_words * config.word_bits
    return Estimate(lcs=round(lcs), ebr=math.ceil(ebr), spram=_spram(config), dsps=cal.dsps_of(design, device),
                    fmax_mhz=round(fmax, 2), cycles_per_step=config.cycles_per_step(),
                    weight_bytes=-(-weight_bits // 8))


def estimate(config: AccelConfig, board: str, cal: Calibration | None = None) -> Estimate:
    """The accelerator alone (no host link): what the two-pin harness measures."""
    return estimate_design(Design(config, host_link=False), board, cal)


def board_estimate(config: AccelConfig, board: str, cal: Calibration | None = None) -> Estimate:
    """The whole board design (accelerator + host link): what a board build measures, so the analytic figures and
    the full fidelity's synthesised ones are the same quantity."""
    return estimate_design(Design(config, host_link=True), board, cal)


@dataclass(frozen=True)
class EstimatorError:
    """Mean and worst relative error of one estimate on `points` held-out synthesised designs, and how many are
    within the target."""

    quantity: str
    points: int
    mean: float
    worst: float
    worst_point: str = ""
    within: int = 0
    target: float = 0.0


#: The targets: LCs within 10 %, Fmax within 15 % of yosys/nextpnr.
TARGETS = {"lcs": 0.10, "fmax_mhz": 0.15}


def holdout_errors(points: Sequence[dict] | None = None) -> list[EstimatorError]:
    """The estimators' error against yosys/nextpnr, leave-one-out: each synthesised point (accelerator or board
    design) predicted by a calibration fitted on all the others; reported per kind (accelerators, board designs)."""
    points = list(load_points() if points is None else points)
    errs: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for i, p in enumerate(points):
        cal = fit(points[:i] + points[i + 1:])
        design = design_of(p)
        est = estimate_design(design, p.get("board", DEVICE_BOARD[p["device"]]), cal)
        prefix = "board " if design.host_link else ""
        for key in TARGETS:
            got = getattr(est, key)
            errs.setdefault((prefix, key), []).append(
                (abs(got - p[key]) / p[key], f"{point_name(p)}: {got:g} for {p[key]:g}"))
    out = []
    for prefix in ("", "board "):
        for name, key in (("LCs", "lcs"), ("Fmax", "fmax_mhz")):
            rows = errs.get((prefix, key), [])
            if not rows:
                continue
            values = [e for e, _ in rows]
            worst = max(rows)
            out.append(EstimatorError(prefix + name, len(rows), float(np.mean(values)), worst[0], worst[1],
                                      sum(v <= TARGETS[key] for v in values), TARGETS[key]))
    return out
