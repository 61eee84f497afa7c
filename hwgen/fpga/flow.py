"""`hwgen build --target fpga`: IR → integer model → accelerator + host link → bitstream + reports.

Writes into the output folder:

- ``top.bin`` (iCE40) or ``top.bit`` (ECP5): the bitstream
- ``report.txt`` (read this first), ``report.json``, ``utilisation.png``
- ``fpga.json``: board, clock, baud, device info (the protocol's INFO), accelerator config,
  expected cycles, host-link protocol version and stream mode (``sequence``, or for a per-step
  model ``logits`` / ``argmax``) — what ``hwgen run --device`` and ``hwgen generate`` need
- ``model.npz`` (the integer model, LSTM or GRU: the reference), ``weights.npy`` (words to upload when the
  weights sit in SPRAM), ``build/`` (the toolchain's files and logs)
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol

import numpy as np

from hwgen.errors import HwgenError
from hwgen.fpga.board_top import DEFAULT_BAUD, BoardTop, ClockPlan, plan_clock
from hwgen.fpga.boards import Board, get_board
from hwgen.fpga.block_ram import MemoryUse, memory_uses
from hwgen.fpga.fit import check_block_ram, choose_config
from hwgen.fpga.link import HostLink
from hwgen.fpga.protocol import PROTOCOL_VERSION, DeviceInfo, StreamMode
from hwgen.fpga.reports import (BuildReport, check_resources, check_timing, format_report, plot_utilisation,
                                read_report)
from hwgen.fpga.toolchain import ToolchainError, run_build
from hwgen.hw.config import AccelConfig, ConfigError
from hwgen.model.saved import RecurrentModel, load_model
from hwgen.rtl.emit import config_dict

#: Input-buffer words by default: one 4 Kb EBR at 8-bit inputs. Longer sequences go in
#: chunks (LOAD_INPUTS + RUN(final=0) pairs), so the buffer need not hold a whole sequence.
DEFAULT_INPUT_WORDS = 512


@dataclass(frozen=True)
class FpgaDesign:
    """Everything that goes onto the board, before any tool runs."""

    board: Board
    model: RecurrentModel
    config: AccelConfig
    clock: ClockPlan
    input_depth: int
    output_depth: int
    stream: StreamMode = StreamMode.SEQUENCE  # per-step models: every step's logits, or their argmax

    @property
    def step_outputs(self) -> int:
        """Output words the accelerator gives per step (with a per-step model): the head's logits, or h."""
        return self.config.outputs or self.config.hidden

    def link(self, simulate: bool = False, divisor: Optional[int] = None) -> HostLink:
        """The top level without pins. ``simulate=True`` swaps SPRAM for a simulatable memory;
        ``divisor`` overrides the UART clocks per bit (a fast simulated serial line)."""
        return HostLink(self.config.create(simulate=simulate), divisor=divisor or self.clock.divisor,
                        input_depth=self.input_depth, output_depth=self.output_depth, stream=self.stream,
                        step_words=self.config.input, step_outputs=self.step_outputs)

    def device_info(self) -> DeviceInfo:
        return unelaborated_info(self.link(simulate=True))

    def top(self) -> BoardTop:
        return BoardTop(self.board, self.link(), self.clock)

    def weight_words(self) -> Optional[np.ndarray]:
        if self.config.weight_memory != "spram":
            return None
        from hwgen.hw.images import weight_words

        return np.array(weight_words(self.config, self.model), dtype=np.uint64)

    def describe(self) -> dict[str, object]:
        """The report's lines about the design (report.txt, report.json `details`)."""
        cfg = self.config
        return {
            "accelerator": f"{cfg.weights_kind} {cfg.cell.upper()} hidden={cfg.hidden} input={cfg.input} "
                           f"layers={cfg.layers} lanes={cfg.lanes} gate_rows={cfg.gate_rows}, weights in "
                           f"{cfg.weight_memory.upper()}",
            "cycles per step": cfg.cycles_per_step(),
            "time per step": f"{cfg.cycles_per_step() / self.clock.hz * 1e6:.2f} us at {self.clock.hz / 1e6:g} MHz",
            **link_lines(self),
        }

    def smaller(self) -> str:
        """What to try when the design overflows the board's logic."""
        return f"try fewer lanes (now {self.config.lanes}) or a smaller hidden size (now {self.config.hidden})"

    def write_run_files(self, out: Path, bitstream: str = "", fmax_mhz: Optional[float] = None) -> Path:
        return write_run_files(self, out, bitstream, fmax_mhz)


class BoardDesign(Protocol):
    """What `build_bitstream` needs of a design (`FpgaDesign`, `hwgen.fpga.gated_board.GatedFpgaDesign`)."""

    board: Board
    clock: ClockPlan
    input_depth: int
    output_depth: int
    stream: StreamMode

    def link(self, simulate: bool = False, divisor: Optional[int] = None) -> HostLink: ...
    def device_info(self) -> DeviceInfo: ...
    def top(self) -> BoardTop: ...
    def describe(self) -> dict[str, object]: ...
    def smaller(self) -> str: ...
    def write_run_files(self, out: Path, bitstream: str = "", fmax_mhz: Optional[float] = None) -> Path: ...


def unelaborated_info(link: HostLink) -> DeviceInfo:
    """The INFO a board with `link` reports (widths and depths), without elaborating anything."""
    link._MustUse__silence = link.accelerator._MustUse__silence = True  # built only to read widths
    return link.info


def link_lines(design: BoardDesign) -> dict[str, object]:
    return {"host link": f"UART {design.clock.baud} baud 8N1, input buffer {design.input_depth} words, "
                         f"output buffer {design.output_depth} words"}


def stream_mode(model: RecurrentModel, stream: Optional[str]) -> StreamMode:
    """What the board returns: one burst per sequence for a last-step model; every step's logits (default) or
    their argmax for a per-step model (a char-LM)."""
    if model.output_steps == "last":
        if stream is not None:
            raise HwgenError(f"--stream {stream}: the model outputs after its last step only, so the board returns "
                             f"one burst per sequence; --stream is for per-step models (a character-level LM)")
        return StreamMode.SEQUENCE
    mode = StreamMode.parse(stream or "logits")
    if mode == StreamMode.SEQUENCE:
        raise HwgenError("a per-step model streams every step's outputs: --stream logits or argmax")
    return mode


def design_for(model: RecurrentModel, board: str | Board, *, clock_mhz: Optional[float] = None,
               lanes: Optional[int] = None, weights_kind: Optional[str] = None, gate_rows: Optional[int] = None,
               input_words: int = DEFAULT_INPUT_WORDS, baud: int = DEFAULT_BAUD, check_fit: bool = True,
               stream: Optional[str] = None) -> FpgaDesign:
    """The design for `model` on `board`; unless `check_fit=False`, raise ModelTooLarge when its block RAM does not fit.

    `stream`: for a per-step model, "logits" (default) or "argmax" (see :func:`stream_mode`)."""
    board = get_board(board) if isinstance(board, str) else board
    mode = stream_mode(model, stream)
    clock = plan_clock(board, clock_mhz, baud)
    if input_words < 1:
        raise HwgenError(f"input_buffer must be >= 1 word, got {input_words}")
    input_depth = buffer_depth(input_words, model.input_size)

    def make(config: AccelConfig) -> FpgaDesign:
        # What one RUN outputs: the head's logits (or h) of a sequence, or of one step when streaming (the host
        # sends a step per RUN), or one argmax word (2: no zero-width buffer address).
        output_depth = 2 if mode == StreamMode.ARGMAX else config.outputs or config.hidden
        return FpgaDesign(board, model, config, clock, input_depth, output_depth, mode)

    def fits(config: AccelConfig) -> None:  # the lanes policy keeps only widths whose whole design fits the EBR
        need = sum(u.blocks for u in block_ram_uses(make(config)))
        if need > board.resource("EBR").capacity:
            raise ConfigError(f"lanes={config.lanes}: the design needs {need} EBR blocks")

    design = make(choose_config(board, model, lanes, weights_kind, fits=fits, gate_rows=gate_rows))
    if check_fit:
        cfg = design.config
        check_block_ram(board, block_ram_uses(design),
                        f"the {cfg.weights_kind} {cfg.cell.upper()} (hidden {cfg.hidden}, input {cfg.input}, {cfg.layers} layer(s), "
                        f"lanes {cfg.lanes}) with a {input_depth}-word input buffer",
                        lambda: _largest_fitting(design, input_words))
    return design


def buffer_depth(words: int, step_words: int) -> int:
    """The input buffer's depth: `words` (at least one step's `step_words`) rounded up to a power of two."""
    return 1 << max(0, (max(words, step_words) - 1).bit_length())


def design_from_manifest(folder: Path, meta: dict) -> FpgaDesign:
    """The design a build folder recorded (fpga.json's accelerator config, buffers, clock and stream mode, with
    its model.npz), not re-fitted: what the host simulation of a built board runs."""
    model = load_model(Path(folder) / meta["model"])
    info = meta["device_info"]
    board = get_board(meta["board"])
    config = AccelConfig(**meta["accelerator"], model=model)
    clock = plan_clock(board, meta["clock_hz"] / 1e6 if meta.get("pll") else None, meta["baud"])
    design = FpgaDesign(board, model, config, clock, info["input_depth"], info["output_depth"],
                        StreamMode.parse(meta.get("stream", "sequence")))
    rebuilt = dataclasses.asdict(design.device_info())
    if rebuilt != info:
        raise HwgenError(f"{folder}/fpga.json: its device info {info} is not the design it describes ({rebuilt}); "
                         f"rebuild the folder with `hwgen build --target fpga`")
    return design


def block_ram_uses(design: BoardDesign) -> tuple[MemoryUse, ...]:
    """Each memory of the board design (accelerator and host link) and the EBR blocks it takes."""
    return memory_uses(design.link(), design.board.family)


def _largest_fitting(design: FpgaDesign, input_words: int) -> str:
    """The largest hidden size whose whole design fits the block RAM (a random model lowered with the same formats)."""
    from hwgen.hw.synthetic import random_gru_stack, random_stack
    from hwgen.passes.lower_fixed_point import LoweringOptions, lower_stack
    from hwgen.passes.lower_gru import lower_gru

    cfg, model, board = design.config, design.model, design.board
    options = LoweringOptions.of_model(model, weights="int8" if cfg.weights_kind == "int8" else "auto")
    kind = "ternary" if cfg.weights_kind == "int8" else cfg.weights_kind  # int8 codes come from the lowering
    make, lower = (random_gru_stack, lower_gru) if cfg.cell == "gru" else (random_stack, lower_stack)

    def fits(hidden: int) -> Optional[AccelConfig]:
        stack = make(hidden, cfg.input, layers=cfg.layers, classes=cfg.outputs, kind=kind)
        try:
            small = design_for(lower(stack, None, options), board, weights_kind=cfg.weights_kind,
                               input_words=input_words, check_fit=False)
        except HwgenError:
            return None
        ok = sum(u.blocks for u in block_ram_uses(small)) <= board.resource("EBR").capacity
        return small.config if ok else None

    lo, hi, best = 1, cfg.hidden - 1, None  # binary search: block RAM grows with the hidden size
    while lo <= hi:
        mid = (lo + hi) // 2
        found = fits(mid)
        if found is not None:
            best, lo = found, mid + 1
        else:
            hi = mid - 1
    if best is None:
        return f"no {cfg.weights_kind} {cfg.cell.upper()} with input {cfg.input} fits; try a smaller --input-buffer"
    return (f"the largest {cfg.weights_kind} {cfg.cell.upper()} with input {cfg.input}, {cfg.layers} layer(s) and this head that fits "
            f"is about hidden={best.hidden} (lanes={best.lanes})")


def write_run_files(design: FpgaDesign, out: Path, bitstream: str = "",
                    fmax_mhz: Optional[float] = None) -> Path:
    """fpga.json, model.npz and (SPRAM) weights.npy: what `hwgen run --device` reads."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    design.model.save(out / "model.npz")
    words = design.weight_words()
    if words is not None:
        np.save(out / "weights.npy", words)
    manifest = _manifest(design, bitstream, fmax_mhz)
    (out / "fpga.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out / "fpga.json"


def _manifest(design: FpgaDesign, bitstream: str, fmax_mhz: Optional[float]) -> dict:
    cfg = config_dict(design.config)  # not replace(model=None): that re-validates against the generic worst case
    return {
        **board_entries(design, bitstream, fmax_mhz), "accelerator": cfg,
        "cycles_per_step": design.config.cycles_per_step(),
        "weights": "weights.npy" if design.config.weight_memory == "spram" else None, "model": "model.npz",
    }


def board_entries(design: BoardDesign, bitstream: str, fmax_mhz: Optional[float]) -> dict:
    """fpga.json's entries about the board, clock, host link and bitstream (every board build writes them)."""
    return {
        "board": design.board.name, "clock_hz": design.clock.hz, "baud": design.clock.baud,
        "pll": dataclasses.asdict(design.clock.pll) if design.clock.pll else None,
        "device_info": dataclasses.asdict(design.device_info()), "bitstream": bitstream,
        "fmax_mhz": fmax_mhz, "protocol": PROTOCOL_VERSION, "stream": design.stream.label,
    }


def _overflow_hint(design: BoardDesign, usage) -> str:
    over = {u.name for u in usage if u.used > u.available}
    hints = []
    if "EBR" in over:
        link = sum(u.blocks for u in block_ram_uses(design) if not u.name.startswith("accel."))
        hints.append(f"the host link's buffers take about {link} of them "
                     f"(--input-buffer {design.input_depth} words: try a smaller one)")
    if over & {"LC", "DSP"}:
        hints.append(design.smaller())
    return "; ".join(hints)


def build_bitstream(design: BoardDesign, out: Path, *, quiet: bool = False, seed: int = 1) -> BuildReport:
    """Run the toolchain for ``design`` into ``out`` and write every report; raise on overflow or failed timing."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    board = design.board
    build_dir = out / "build"
    top = design.top()
    try:
        products = run_build(board, top, build_dir, seed=seed, quiet=quiet)
    except ToolchainError as err:  # err.usage: nextpnr's device table when placement ran out of cells
        check_resources(board, err.usage, _overflow_hint(design, err.usage))
        raise
    suffix = products.bitstream.suffix
    bitstream = out / f"top{suffix}"
    shutil.copyfile(products.bitstream, bitstream)
    report = read_report(board, products.report_json, design.clock.hz / 1e6, products.seconds, bitstream.name)
    steps_note = {**design.describe(), "placement seed": products.synth.files.seed if products.synth else seed}
    report = dataclasses.replace(report, details={k.replace(" ", "_"): v for k, v in steps_note.items()})
    (out / "report.txt").write_text(format_report(report, steps_note))
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    plot_utilisation(report, out / "utilisation.png")
    design.write_run_files(out, bitstream.name, report.fmax_mhz)
    check_resources(board, report.usage)
    check_timing(report)
    return report
