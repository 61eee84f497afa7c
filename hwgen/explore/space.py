"""The design space of `hwgen explore`: model × accelerator × board, the objectives and the constraints.

A space is a YAML file (or a preset shipped in ``hwgen/explore/presets``). Every parameter is a list of the values
to try, so Optuna samples it as a categorical and the benchmark can enumerate the whole grid. The file is checked
completely on load — unknown keys, empty lists, unknown objectives, a board that cannot hold any point — and each
problem is one :class:`SpaceError` naming the field, so a typo never turns into a silently different search.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hwgen.errors import HwgenError
from hwgen.fpga.boards import BOARDS
from hwgen.fpga.fit import head_lane_choices
from hwgen.hw.config import GATE_ROWS, AccelConfig, ConfigError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
TASKS = ("digits", "charlm")
#: Input size, outputs and sequence steps of each task (digits: 8×8 images as 8 rows; char-LM: one-hot bytes).
TASK_SHAPE = {"digits": (8, 10, 8), "charlm": (96, 96, 100)}
#: Objective -> (the direction it is usually wanted, unit). Any subset may be named, each "min" or "max".
OBJECTIVES = {
    "accuracy": ("max", "%"), "bpc": ("min", "bits/char"), "lcs": ("min", "LCs"), "ebr": ("min", "blocks"),
    "dsps": ("min", "DSPs"), "fmax_mhz": ("max", "MHz"), "cycles_per_step": ("min", "cycles"),
    "us_per_step": ("min", "µs"), "weight_bytes": ("min", "bytes"),
}
#: Parameters of each section, with the values a space may list.
MODEL_PARAMS = {"hidden": int, "layers": int, "weights": str, "act_bits": int}
ACCEL_PARAMS = {"lanes": int, "weight_memory": str, "gate_rows": int}
#: Accelerator parameters a space may leave out, and their value then (`gate_rows`: see `AccelConfig.gate_rows`).
ACCEL_DEFAULTS = {"weight_memory": "auto", "gate_rows": 1}
WEIGHT_KINDS = ("binary", "ternary", "int8")
MEMORIES = ("auto", "registers", "ebr", "spram")
TOP_KEYS = ("task", "board", "model", "accelerator", "objectives", "constraints", "search")
CONSTRAINT_KEYS = ("fits", "max_us_per_step", "max_cycles_per_step")
SEARCH_KEYS = ("sampler", "surrogate", "seed", "population")
SAMPLERS = ("nsga2", "tpe", "random")
SURROGATES = ("mlp", "gp", "none")


class SpaceError(HwgenError):
    """A space file that cannot be searched; the message names the field."""


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str  # "minimize" | "maximize"

    @property
    def unit(self) -> str:
        return OBJECTIVES[self.name][1]


@dataclass(frozen=True)
class Point:
    """One candidate design: the values of every parameter (the Optuna trial's params)."""

    board: str
    hidden: int
    layers: int
    weights: str
    act_bits: int
    lanes: int
    weight_memory: str
    gate_rows: int = 1

    def params(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Space:
    """A parsed, checked space. `params` maps each parameter to its values (one value: fixed)."""

    task: str
    params: Mapping[str, tuple]
    objectives: tuple[Objective, ...]
    fits: bool = True
    max_us_per_step: float | None = None
    max_cycles_per_step: int | None = None
    sampler: str = "nsga2"
    surrogate: str = "mlp"
    seed: int = 0
    population: int = 16
    source: str = field(default="", compare=False)
    #: The document it was parsed from: what a Dask task carries (workers re-parse it).
    doc: Mapping = field(default_factory=dict, compare=False, repr=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(input, outputs, steps) of the task."""
        return TASK_SHAPE[self.task]

    def grid(self) -> Iterator[Point]:
        """Every point of the space (the product of all parameter lists)."""
        names = list(self.params)
        for values in itertools.product(*(self.params[n] for n in names)):
            yield Point(**dict(zip(names, values)))

    def size(self) -> int:
        n = 1
        for values in self.params.values():
            n *= len(values)
        return n


def resolved_memory(point: Point) -> str:
    """`auto` is the board's own weight memory (SPRAM on the UP5K, EBR on the ECP5)."""
    return BOARDS[point.board].weight_memory if point.weight_memory == "auto" else point.weight_memory


def accel_config(space: Space, point: Point) -> AccelConfig:
    """The model-less accelerator config of `point` (for sizes and cycles); ConfigError when it cannot be built
    (lanes that do not divide hidden, weights over the board's memory)."""
    inputs, outputs, _ = space.shape
    family = BOARDS[point.board].family
    config = AccelConfig(hidden=point.hidden, input=inputs, layers=point.layers, lanes=point.lanes, outputs=outputs,
                         weights_kind=point.weights, weight_memory=resolved_memory(point), act_bits=point.act_bits,
                         acc_bits=48, ebr_target=family, gate_rows=point.gate_rows,
                         output_steps="every_step" if space.task == "charlm" else "last")
    # the head's lanes as the board build gives them (its cycles, and its multipliers among the DSPs)
    return replace(config, head_lanes=head_lane_choices(family, config)[0]) if outputs else config


def _values(section: str, name: str, raw: Any, kind: type) -> tuple:
    where = f"{section}.{name}"
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise SpaceError(f"{where}: empty list; give at least one value")
    try:
        out = tuple(kind(v) if kind is int and not isinstance(v, bool) else v for v in values)
    except (TypeError, ValueError):
        raise SpaceError(f"{where}: values must be {kind.__name__}s, got {values!r}") from None
    if any(not isinstance(v, kind) for v in out):
        raise SpaceError(f"{where}: values must be {kind.__name__}s, got {values!r}")
    if kind is int and any(v < 1 for v in out):
        raise SpaceError(f"{where}: values must be >= 1, got {values!r}")
    allowed = {"weights": WEIGHT_KINDS, "weight_memory": MEMORIES, "board": tuple(sorted(BOARDS)),
               "gate_rows": GATE_ROWS}.get(name)
    if allowed and any(v not in allowed for v in out):
        raise SpaceError(f"{where}: {next(v for v in out if v not in allowed)!r} is not one of "
                         f"{', '.join(map(str, allowed))}")
    if name == "act_bits" and any(not 3 <= v <= 16 for v in out):
        raise SpaceError(f"{where}: activation bits must be in 3..16, got {values!r}")
    return tuple(dict.fromkeys(out))


def _section(doc: Mapping, name: str, known: Mapping[str, type]) -> dict[str, tuple]:
    body = doc.get(name) or {}
    if not isinstance(body, dict):
        raise SpaceError(f"{name}: a mapping of parameter -> list of values")
    for key in body:
        if key not in known:
            raise SpaceError(f"{name}.{key}: unknown parameter; {name} has {', '.join(known)}")
    defaults = ACCEL_DEFAULTS if name == "accelerator" else {}
    missing = [k for k in known if k not in body and k not in defaults]
    if missing:
        raise SpaceError(f"{name}.{missing[0]}: missing; give a list of values")
    return {k: _values(name, k, body.get(k, defaults.get(k)), t) for k, t in known.items()}


def _objectives(doc: Mapping, task: str) -> tuple[Objective, ...]:
    raw = doc.get("objectives")
    if not raw:
        raise SpaceError("objectives: name at least one, e.g. {accuracy: max, lcs: min}")
    if isinstance(raw, list):
        raw = {name: OBJECTIVES.get(name, ("min",))[0] for name in raw}
    out = []
    for name, direction in raw.items():
        if name not in OBJECTIVES:
            raise SpaceError(f"objectives.{name}: no such objective; choose from {', '.join(OBJECTIVES)}")
        if direction not in ("min", "max", "minimize", "maximize"):
            raise SpaceError(f"objectives.{name}: direction {direction!r} is not min or max")
        if (name, task) in (("accuracy", "charlm"), ("bpc", "digits")):
            raise SpaceError(f"objectives.{name}: the {task} task measures {'bpc' if task == 'charlm' else 'accuracy'}")
        out.append(Objective(name, "maximize" if direction.startswith("max") else "minimize"))
    return tuple(out)


def _search(doc: Mapping) -> dict[str, Any]:
    body = doc.get("search") or {}
    for key in body:
        if key not in SEARCH_KEYS:
            raise SpaceError(f"search.{key}: unknown setting; search has {', '.join(SEARCH_KEYS)}")
    if body.get("sampler", "nsga2") not in SAMPLERS:
        raise SpaceError(f"search.sampler: {body['sampler']!r} is not one of {', '.join(SAMPLERS)}")
    if body.get("surrogate", "mlp") not in SURROGATES:
        raise SpaceError(f"search.surrogate: {body['surrogate']!r} is not one of {', '.join(SURROGATES)}")
    return dict(body)


def _constraints(doc: Mapping) -> dict[str, Any]:
    body = doc.get("constraints") or {}
    for key in body:
        if key not in CONSTRAINT_KEYS:
            raise SpaceError(f"constraints.{key}: unknown constraint; choose from {', '.join(CONSTRAINT_KEYS)}")
    for key in ("max_us_per_step", "max_cycles_per_step"):
        if key in body and not (isinstance(body[key], (int, float)) and body[key] > 0):
            raise SpaceError(f"constraints.{key}: a positive number, got {body[key]!r}")
    return dict(body)


def parse_space(doc: Any, source: str = "<space>") -> Space:
    """Check a space document (the YAML's mapping) and return the :class:`Space`."""
    if not isinstance(doc, dict):
        raise SpaceError(f"{source}: a space is a mapping with {', '.join(TOP_KEYS)}")
    for key in doc:
        if key not in TOP_KEYS:
            raise SpaceError(f"{key}: unknown field; a space has {', '.join(TOP_KEYS)}")
    task = doc.get("task", "digits")
    if task not in TASKS:
        raise SpaceError(f"task: {task!r} is not one of {', '.join(TASKS)}")
    params = {"board": _values("", "board", doc.get("board", "icebreaker"), str)}
    params.update(_section(doc, "model", MODEL_PARAMS))
    params.update(_section(doc, "accelerator", ACCEL_PARAMS))
    space = Space(task=task, params=params, objectives=_objectives(doc, task), **_constraints(doc), **_search(doc),
                  source=source, doc=doc)
    _check_boards(space)
    return space


def _check_boards(space: Space) -> None:
    """Each board must hold at least one point of the space (its weights in the board's memory)."""
    for board in space.params["board"]:
        last: Exception | None = None
        for point in space.grid():
            if point.board != board:
                continue
            try:
                accel_config(space, point)
                break
            except ConfigError as err:
                last = err
        else:
            raise SpaceError(f"board: {board!r} cannot hold any point of the space ({last})")


def load_space(path: str | Path) -> Space:
    """Read and check a space file (YAML); a name without a file is a preset (`digits-up5k`, `charlm-ecp5`)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise SpaceError(f"{path}: no such space file")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpaceError(f"{path}: not valid YAML ({err})") from None
    return parse_space(doc, str(path))


def preset_path(name: str) -> Path:
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        names = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
        raise SpaceError(f"preset {name!r}: no such preset; presets: {', '.join(names)}")
    return path
