"""`hwgen.fpga.build(graph, out, AccelOptions(...), BoardOptions(...)) -> FpgaArtifact`.

The graph is lowered as for the rtl target (`hwgen.rtl.api.lower`; a gated pair: `hwgen.fpga.gated_board`), fitted to the board
(`hwgen.fpga.fit`: the board's weight memory and block RAM, the one lanes policy), wrapped in
the UART host link and built to a bitstream with reports (`hwgen.fpga.flow`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from hwgen.fpga.boards import get_board
from hwgen.fpga.flow import BoardDesign, FpgaDesign, build_bitstream, design_for
from hwgen.fpga.options import BoardOptions, check_device
from hwgen.fpga.reports import BuildReport
from hwgen.ir.graph import Graph
from hwgen.rtl.api import lower
from hwgen.rtl.options import AccelOptions, GateOptions, OptionsError


@dataclass(frozen=True, eq=False)
class FpgaArtifact:
    """A board build: the design that went in, the toolchain's report, and the folder with the bitstream."""

    root: Path
    design: BoardDesign
    report: BuildReport

    @property
    def bitstream(self) -> Path:
        return self.root / self.report.bitstream

    def summary(self) -> str:
        usage = ", ".join(f"{u.name} {u.used}/{u.available}" for u in self.report.usage)
        return (f"wrote {self.bitstream} for {self.report.board}: Fmax {self.report.fmax_mhz:.1f} MHz "
                f"(clock {self.report.clock_mhz:g} MHz), {usage}; see {self.root / 'report.txt'}")


def _check_against_board(accel: AccelOptions, board: BoardOptions) -> None:
    spec = get_board(board.board)
    if accel.weight_memory is not None and accel.weight_memory != spec.weight_memory:
        raise OptionsError(f"weight memory {accel.weight_memory!r}: board {spec.name} keeps weights in "
                           f"{spec.weight_memory!r}; leave it unset for a board build")
    check_device(accel.device, spec)


def design(graph: Graph, accel: AccelOptions, board: BoardOptions) -> FpgaDesign:
    """The board design for `graph` (lowered, fitted, checked against the board's block RAM); no tools run."""
    _check_against_board(accel, board)
    model = lower(graph, accel)
    return design_for(model, board.board, clock_mhz=board.clock_mhz, lanes=accel.lanes, gate_rows=accel.gate_rows,
                      weights_kind="int8" if accel.weights == "int8" else None,
                      input_words=board.input_buffer, baud=board.baud, stream=board.stream)


def build(graph: Graph, out: Union[str, Path], accel: AccelOptions, board: BoardOptions,
          gate: GateOptions = GateOptions()) -> FpgaArtifact:
    """Build `graph` into a bitstream for `board` in `out` (reports, run files for `hwgen run --device`); with
    `gate.gated_with`, `graph` is the small char-LM of a surprisal-gated pair (`hwgen.fpga.gated_board`)."""
    if gate.gated_with is not None:
        from hwgen.fpga.gated_board import gated_design

        fpga_design: BoardDesign = gated_design(graph, accel, board, gate)
    else:
        fpga_design = design(graph, accel, board)
    report = build_bitstream(fpga_design, Path(out), seed=board.seed)
    return FpgaArtifact(Path(out), fpga_design, report)
