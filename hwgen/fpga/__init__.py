"""The fpga target: the accelerator behind a UART host link, built to a bitstream with the open toolchain.

`build(graph, out, AccelOptions(...), BoardOptions(...)) -> FpgaArtifact`; `board_run.run_on_board`
drives a built board (or its host simulation); `generate.generate` samples text from a char-LM build.
Modules, in the order data flows: uart (8N1 byte streams) → protocol (frame format) → link (UART +
frame engine: frame_rx, run_engine, step_argmax, frame_tx + accelerator) → boards (iCE40 UP5K / ECP5
definitions) → board_top (pins, clock) → toolchain (yowasp build with progress) → reports (utilisation,
timing, plot); driver (pyserial host side) and hostsim (the top level in Verilator behind a pty, so the
driver is tested without a board).
"""

from hwgen.fpga.api import FpgaArtifact, build
from hwgen.fpga.options import BoardOptions

__all__ = ["build", "BoardOptions", "FpgaArtifact"]
