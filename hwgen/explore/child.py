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

from hwgen.explore.space import Point, Space, parse_space
from hwgen.subprocs import die_with_parent

#: Stand-in evaluations sleep this long (seconds), in a child `sleep`; tests set it through the environment.
STANDIN_ENV = "HWGEN_EXPLORE_STANDIN_SECONDS"
#: Short training of the cheap fidelity (FMAS-style): epochs, training examples and validation examples (digits);
#: batches and corpus bytes for the char-LM.
CHEAP_DIGITS = {"epochs": 4, "train": 900, "valid": 300}
CHEAP_CHARLM = {"epochs": 1, "steps": 60, "corpus_bytes": 300_000}


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


def train_quality(space: Space, point: Point, fidelity: str, work_dir: Path) -> dict[str, Any]:
    """Train the model of `point` (short on a subset for `cheap`, the task's defaults for `full`); its score.

    int8 accelerators run float-trained models lowered to int8 codes, so they train float weights. The score is the
    float-side (fake-quantised) model's: the activation width only enters through the lowering, which this does
    not run (the cheap fidelity ignores act_bits)."""
    from hwgen.quant.data import DigitsData, digits_dataset
    from hwgen.quant.train import TrainConfig, load_task_data, train

    weights = "float" if point.weights == "int8" else point.weights
    if space.task == "digits":
        config = TrainConfig(task="digits", weights=weights, hidden=point.hidden, layers=point.layers,
                             epochs=CHEAP_DIGITS["epochs"] if fidelity == "cheap" else 30, progress=False)
        data = digits_dataset(0)
        if fidelity == "cheap":
            n, v = CHEAP_DIGITS["train"], CHEAP_DIGITS["valid"]
            data = DigitsData(data.x_train[:n], data.y_train[:n], data.x_train[-v:], data.y_train[-v:])
        result = train(config, work_dir / "run", data)
        return {"accuracy": round(float(result.metrics["test"]), 3), "run": str(work_dir / "run")}
    cheap = fidelity == "cheap"
    config = TrainConfig(task="charlm", weights=weights, hidden=point.hidden, layers=point.layers,
                         epochs=CHEAP_CHARLM["epochs"] if cheap else 1, progress=False,
                         steps_per_epoch=CHEAP_CHARLM["steps"] if cheap else None,
                         corpus_bytes=CHEAP_CHARLM["corpus_bytes"] if cheap else 2_000_000)
    result = train(config, work_dir / "run", load_task_data(config))
    return {"bpc": round(float(result.metrics["test"]), 4), "run": str(work_dir / "run")}


def board_build(point: Point, run: Path, work_dir: Path) -> dict[str, Any]:
    """Export the trained digits model and build it for the board through `hwgen.compile` (yosys, nextpnr)."""
    from hwgen.api import compile as hwgen_compile
    from hwgen.quant.export import export_run

    onnx_path = export_run(run, work_dir / "model.onnx", evaluate_metric=False).path
    options: dict[str, Any] = {"board": point.board, "lanes": point.lanes, "act_bits": point.act_bits}
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
        run = Path(quality.pop("run"))
        metrics = dict(quality)
        if fidelity == "full" and space.task == "digits":
            metrics.update(board_build(point, run, work_dir))
            metrics["us_per_step"] = None  # recomputed by the caller from the measured Fmax
        extra["run"] = str(run)
    print(json.dumps({"metrics": {k: v for k, v in metrics.items() if v is not None}, "extra": extra}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
