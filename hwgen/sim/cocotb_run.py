"""Build a design for cocotb with `cocotb_tools.runner` (cached) and run :mod:`hwgen.sim.cocotb_bench`.

The bench runs in the simulator's own process; this side writes the job (inputs, model
spec, back-pressure) into a temporary folder, runs it, and turns what the bench wrote back
into the same :class:`~hwgen.sim.cpp.SimRun` the C++ harness gives, so one checker serves
both engines. The cocotb build is cached like the harness (hash of Verilog, flags and cocotb's main).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from hwgen.sim.cpp import SimRun
from hwgen.sim.design import Design
from hwgen.sim.verilator import CXX_OPT, SimulatorError, cached_build, verilate, verilator_environment

BENCH_MODULE = "hwgen.sim.cocotb_bench"
BUILD_ARGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal", "-Wno-lint", "-Wno-style")


@dataclass(frozen=True)
class CocotbOptions:
    """Back-pressure (probability of a stall before a beat, 0..1), seed, reset scenario, VCD."""

    stall_in: float = 0.0
    stall_out: float = 0.0
    seed: int = 1
    reset_mid_sequence: bool = False
    drain_cycles: int = 1_000_000
    waves: bool = False


def build_cocotb(design: Design, waves: bool = False) -> Path:
    """The cached build folder holding the cocotb-enabled simulator executable.

    Same command as `cocotb_tools.runner`'s Verilator build (cocotb's verilator.cpp main,
    VPI, `--prefix Vtop`, linked to libcocotbvpi_verilator) but through :func:`verilate`,
    so Verilator's runtime objects come from the cache; `runner.test` then runs it.
    """
    import cocotb_tools.config as cocotb_config

    libs = cocotb_config.libs_dir
    main = cocotb_config.share_dir / "lib" / "verilator" / "verilator.cpp"
    args = [*BUILD_ARGS, "--top-module", design.top, "--vpi", "--public-flat-rw", "-o", design.top,
            "-LDFLAGS", f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator",
            *(["--trace"] if waves else []), "--timescale", "1ns/1ps", str(main), *map(str, design.sources)]

    def build(tmp: Path) -> None:
        verilate(args, tmp, "Vtop", CXX_OPT, tmp)

    return cached_build("cocotb", ["cocotb-2.1", *args[:-len(design.sources)], design.top,
                                   *[p.name for p in design.sources], *design.sources, main],
                        design.top, build)


def run_cocotb(design: Design, sequences: list[np.ndarray], options: CocotbOptions = CocotbOptions(),
               vcd: Optional[Path] = None) -> tuple[SimRun, dict]:
    """Run the cocotb bench on `sequences`; returns the run and the bench's own report
    (`errors` from its scoreboard, `resets` it checked)."""
    from cocotb_tools.runner import get_runner

    design.check_inputs(sequences)
    waves = options.waves or vcd is not None
    build_dir = build_cocotb(design, waves=waves)
    with tempfile.TemporaryDirectory(prefix="hwgen-cocotb-") as tmp_name:
        job = Path(tmp_name)
        (job / "job.json").write_text(json.dumps({
            "seed": options.seed, "stall_in": options.stall_in, "stall_out": options.stall_out,
            "reset_mid_sequence": options.reset_mid_sequence, "drain_cycles": options.drain_cycles,
            "in_width": design.in_width, "out_width": design.out_width,
            "model_module": design.model.module, "model_argument": design.model.argument,
            "upload": [int(w) for w in design.upload_words()]}))
        np.savez(job / "inputs.npz", count=np.array(len(sequences)),
                 **{f"s{i}": np.asarray(s, dtype=np.int64) for i, s in enumerate(sequences)})
        run_dir = job / "run"
        run_dir.mkdir()
        for entry in design.workdir.iterdir():  # $readmemh paths are relative to the run folder
            if entry.is_dir():
                (run_dir / entry.name).symlink_to(entry.resolve())
        with verilator_environment():
            runner = get_runner("verilator")
            try:
                runner.test(test_module=BENCH_MODULE, hdl_toplevel=design.top, hdl_toplevel_lang="verilog",
                            build_dir=build_dir, test_dir=run_dir, waves=waves, seed=options.seed,
                            extra_env={"HWGEN_SIM_JOB": str(job)}, log_file=run_dir / "sim.log",
                            results_xml=str(run_dir / "results.xml"), timescale=("1ns", "1ps"))
            except (RuntimeError, SystemExit, NotImplementedError):
                pass  # the bench's result.json (or its absence) tells what happened
        if not (job / "result.json").exists():
            log = (run_dir / "sim.log").read_text() if (run_dir / "sim.log").exists() else ""
            tail = "\n".join(log.strip().splitlines()[-30:])
            raise SimulatorError(f"the cocotb simulation of {design.top} ended without a result:\n{tail}")
        report = json.loads((job / "result.json").read_text())
        outputs = np.load(job / "outputs.npz")
        if vcd is not None and (run_dir / "dump.vcd").exists():
            Path(vcd).write_bytes((run_dir / "dump.vcd").read_bytes())
    count = len(sequences)
    received = int(outputs["count"])
    values = tuple(outputs[f"v{i}"] if i < received else np.zeros(0, np.int64) for i in range(count))
    cycles = tuple(outputs[f"c{i}"] if i < received else np.zeros(0, np.int64) for i in range(count))
    # cycle numbers stay absolute (clock edges since time 0; VCD time = cycle x 10 ns)
    first_in = outputs["first_in"]
    last_out = np.array([c[-1] if len(c) else -1 for c in cycles], dtype=np.int64)
    run = SimRun(outputs=values, out_cycles=cycles, first_in=first_in,
                 last_in=np.full(count, -1, np.int64), last_out=last_out, cycles=int(report["cycles"]),
                 seconds=float(report["seconds"]), status="ok" if not report["errors"] else "failed",
                 engine="cocotb", cpu_seconds=float(report["cpu_seconds"]))
    return run, report
