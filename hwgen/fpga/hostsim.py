"""The FPGA top level in Verilator behind a pseudo-terminal: a board without a board.

:func:`build_simulator` turns a :class:`~hwgen.fpga.link.HostLink` into a Verilator
executable (cached by the hash of its Verilog); :class:`SimulatedBoard` runs it and
exposes a serial-port path that :class:`hwgen.fpga.driver.Device` opens like
``/dev/ttyUSB0``. The whole top level — UART, frame engine, buffers, weight
upload, the accelerator — runs as RTL; only bits cross the pty.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from amaranth.back import verilog

from hwgen.errors import HwgenError
from hwgen.fpga.link import HostLink
from hwgen.fpga.verilator_env import verilator_env

TOP_NAME = "hwgen_fpga_top"


def emit_verilog(link: HostLink) -> str:
    return verilog.convert(link, name=TOP_NAME, emit_src=False)


def build_simulator(link: HostLink, build_dir: Path) -> Path:
    """Compile ``link`` with its C++ pty harness; reuse an earlier build of the same Verilog."""
    source = emit_verilog(link)
    harness = resources.files("hwgen.fpga").joinpath("hostsim_main.cpp").read_text()
    digest = hashlib.sha256((source + harness).encode()).hexdigest()[:16]
    work = Path(build_dir) / f"hostsim-{digest}"
    exe = work / "obj_dir" / "hostsim"
    if exe.exists():
        return exe
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{TOP_NAME}.v").write_text(source)
    (work / "hostsim_main.cpp").write_text(harness)
    env = verilator_env()
    cmd = [str(Path(env["VERILATOR_ROOT"]) / "bin" / "verilator"), "--cc", "--exe", "--build",
           "-j", "2", "-O2", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal", "-Wno-lint",
           "--top-module", TOP_NAME, "-o", "hostsim",
           "-CFLAGS", f"-O1 -DTOP_HEADER='\"V{TOP_NAME}.h\"' -DTOP_CLASS=V{TOP_NAME}",
           f"{TOP_NAME}.v", "hostsim_main.cpp"]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(work / "obj_dir", ignore_errors=True)
        raise HwgenError(f"Verilator could not build the FPGA top level in {work}:\n{proc.stderr[-3000:]}")
    return exe


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


def simulate(link: HostLink, build_dir: Path | None = None) -> SimulatedBoard:
    """Build (or reuse) the simulator for ``link`` and return a board to enter."""
    build_dir = Path(build_dir or os.environ.get("HWGEN_CACHE", ".hwgen-cache")) / "fpga"
    return SimulatedBoard(build_simulator(link, build_dir), link.divisor)
