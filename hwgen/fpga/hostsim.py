"""The FPGA top level in Verilator behind a pseudo-terminal: a board without a board.

:func:`build_simulator` turns a :class:`~hwgen.fpga.link.HostLink` into a Verilator
executable (cached by the hash of its Verilog); :class:`SimulatedBoard` runs it and
exposes a serial-port path that :class:`hwgen.fpga.driver.Device` opens like
``/dev/ttyUSB0``. The whole top level — UART, frame engine, buffers, weight
upload, the accelerator — runs as RTL; only bits cross the pty.
"""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

from amaranth.back import verilog

from hwgen.errors import HwgenError
from hwgen.fpga.link import HostLink
from hwgen.sim.verilator import cached_build, find_verilator, run_checked

TOP_NAME = "hwgen_fpga_top"
#: UART clocks per bit in simulation: a fast serial line, the same logic.
SIM_DIVISOR = 8


def emit_verilog(link: HostLink) -> str:
    return verilog.convert(link, name=TOP_NAME, emit_src=False)


def build_simulator(link: HostLink) -> Path:
    """Compile ``link`` with its C++ pty harness (cached by content in hwgen.sim's build cache)."""
    source = emit_verilog(link)
    harness = resources.files("hwgen.fpga").joinpath("hostsim_main.cpp").read_text()

    def build(work: Path) -> None:
        (work / f"{TOP_NAME}.v").write_text(source)
        (work / "hostsim_main.cpp").write_text(harness)
        (work / "hostsim_top.h").write_text(f'#include "V{TOP_NAME}.h"\n#define TOP_CLASS V{TOP_NAME}\n')
        verilator = find_verilator()
        run_checked([str(verilator.executable), "--cc", "--exe", "--build", "-j", "2", "-O2",
                     "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal", "-Wno-lint",
                     "--top-module", TOP_NAME, "-o", "hostsim", "--Mdir", "obj_dir",
                     "-CFLAGS", "-O1",
                     # one translation unit: the wheel's verilated.mk leaves the precompiled header's -include flag
                     # empty, so a design large enough to split (a gated pair's) fails in the split build
                     "-MAKEFLAGS", "VM_PARALLEL_BUILDS=0",
                     f"{TOP_NAME}.v", "hostsim_main.cpp"], work, "verilator-hostsim")

    return cached_build("fpga-hostsim", [source, harness], "obj_dir/hostsim", build) / "obj_dir" / "hostsim"


class SimulatedBoard:
    """Runs a built simulator; ``.port`` is the pty path to give the host driver.

    Use as a context manager; leaving it closes the simulator's stdin, which ends it.
    """

    def __init__(self, executable: Path, divisor: int):
        self.executable = Path(executable)
        self.divisor = divisor
        self.port: str = ""
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> "SimulatedBoard":
        self._proc = subprocess.Popen([str(self.executable), str(self.divisor)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self.port = self._proc.stdout.readline().strip()
        if not self.port.startswith("/dev/"):
            self.close()
            raise HwgenError(f"{self.executable}: the simulated board did not start (got {self.port!r})")
        return self

    def close(self) -> None:
        if self._proc is None:
            return
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()
        self._proc = None

    def __exit__(self, *exc) -> None:
        self.close()


def simulate(link: HostLink) -> SimulatedBoard:
    """Build (or reuse) the simulator for ``link`` and return a board to enter."""
    return SimulatedBoard(build_simulator(link), link.divisor)


def simulate_build(folder: Path, meta: dict) -> SimulatedBoard:
    """The simulated board of a `hwgen build --target fpga` folder (fpga.json, model.npz or a gated pair's two): the
    very design it recorded (the accelerator config, buffers and stream mode, checked against its INFO), on a fast serial line."""
    from hwgen.fpga.flow import design_from_manifest
    from hwgen.fpga.gated_board import gated_design_from_manifest
    from hwgen.rtl.gated import is_gated

    read = gated_design_from_manifest if is_gated(meta) else design_from_manifest
    return simulate(read(Path(folder), meta).link(simulate=True, divisor=SIM_DIVISOR))
