"""The child process of one evaluation (`python -m hwgen.explore.child`, a JSON request on stdin).

Run by `hwgen.explore.evaluate` with PR_SET_PDEATHSIG, so training and synthesis stop when their Dask worker dies;
its own children (a stand-in's ``sleep``; yosys and nextpnr through `hwgen.fpga.synth`) are started the same way.
Prints one JSON line: ``{"metrics": {...}, "extra": {...}}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hwgen.explore.quality import train_quality
from hwgen.explore.space import Point, parse_space
from hwgen.subprocs import die_with_parent

#: Stand-in evaluations sleep this long (seconds), in a child `sleep`; tests set it through the environment.
STANDIN_ENV = "HWGEN_EXPLORE_STANDIN_SECONDS"


def standin(point: Point, work_dir: Path) -> dict[str, Any]:
    """Sleep in a child `sleep` (its pid written to work_dir/sleep.pid first, for the fault tests); quality is a
    smooth made-up function of the point."""
    import os

    seconds = float(os.environ.get(STANDIN_ENV, "0.2"))
    proc = subprocess.Popen(["sleep", str(seconds)], preexec_fn=die_with_parent)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "sleep.pid").write_text(f"{proc.pid}\n")
    proc.wait()
    return standin_quality(point)


def standin_quality(point: Point) -> dict[str, float]:
    """A made-up smooth quality (more weight bits, hidden units and layers: better), for tests and benchmarks of
    the search machinery only."""
    bits = {"binary": 1, "ternary": 1.58, "int8": 8}[point.weights]
    capacity = point.hidden * point.layers * bits * min(point.act_bits, 8) / 8
    return {"accuracy": round(100 - 40 / (1 + capacity / 8), 3), "bpc": round(1.5 + 8 / (1 + capacity / 16), 4)}


def board_build(point: Point, onnx_path: Path, work_dir: Path) -> dict[str, Any]:
    """Build the exported model for the board through `hwgen.compile` (yosys, nextpnr; a char-LM streams its
    per-step logits)."""
    from hwgen.api import compile as hwgen_compile

    options: dict[str, Any] = {"board": point.board, "lanes": point.lanes, "gate_rows": point.gate_rows,
                               "act_bits": point.act_bits}
    if point.weights == "int8":
        options["weights"] = "int8"
    artifact = hwgen_compile(onnx_path, "fpga", work_dir / "build", **options)
    report = artifact.report
    used = {u.name: u.used for u in report.usage}
    return {"lcs": used.get("LC", 0), "ebr": used.get("EBR", 0), "spram": used.get("SPRAM", 0),
            "dsps": used.get("DSP", 0), "fmax_mhz": round(float(report.fmax_mhz), 2), "synthesised": 1}


def main() -> int:
    request = json.loads(sys.stdin.read())
    space, point = parse_space(request["space"]), Point(**request["params"])
    work_dir = Path(request["work_dir"])
    fidelity = request["fidelity"]
    extra: dict[str, Any] = {}
    if fidelity == "standin":
        metrics = standin(point, work_dir)
    else:
        quality = train_quality(space, point, fidelity, work_dir)
        extra = {key: quality.pop(key) for key in ("run", "float_score", "onnx")}
        metrics = dict(quality)
        if fidelity == "full":
            metrics.update(board_build(point, Path(extra["onnx"]), work_dir))
            metrics["us_per_step"] = None  # recomputed by the caller from the measured Fmax
    print(json.dumps({"metrics": {k: v for k, v in metrics.items() if v is not None}, "extra": extra}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
