"""`make demo`: the whole hwgen pipeline on the embedded default (8x8 digits, ternary LSTM).

Each stage is the `hwgen` command a user would type, run in order and shown as it runs:
train → export → inspect → build RTL → simulate the whole test split in Verilator →
build + run TVM kernels → build an iCE40 bitstream; then a summary table. Everything is
written under build/demo/ so the files can be opened afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "demo"
HWGEN = str(Path(sys.executable).parent / "hwgen")
console = Console()


@dataclass
class Stage:
    name: str
    ok: bool
    seconds: float
    result: str


def hwgen(*args: object) -> tuple[bool, float]:
    """Run one hwgen command, streaming its output; returns (succeeded, seconds)."""
    cmd = [HWGEN, *map(str, args)]
    console.rule(" ".join(["hwgen", *map(str, args)]).replace(str(ROOT) + "/", ""))
    start = time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT)
    return code == 0, time.perf_counter() - start


def accuracy(logits_path: Path, labels: np.ndarray) -> float:
    return float((np.load(logits_path).argmax(-1) == labels).mean() * 100)


def main() -> int:
    from hwgen.quant.data import digits_split

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    x_test, y_test = digits_split(0)
    np.save(WORK / "x_test.npy", x_test)
    np.save(WORK / "y_test.npy", y_test)
    onnx_path = WORK / "digits.onnx"
    stages: list[Stage] = []

    ok, s = hwgen("train", "lstm", "--task", "digits", "--weights", "ternary", "--hidden", 32, "--epochs", 20,
                  "--seed", 0, "-o", WORK / "run")
    metrics = json.loads((WORK / "run" / "metrics.json").read_text()) if ok else {}
    stages.append(Stage("train ternary LSTM (H=32)", ok, s,
                        f"test {metrics.get('metric', '?')} {metrics.get('test', float('nan')):.2f}% (PyTorch)"))
    if not ok:
        return summary(stages)

    ok, s = hwgen("export", WORK / "run", "-o", onnx_path)
    stages.append(Stage("export ONNX (int8 codes + DequantizeLinear)", ok, s, onnx_path.name))
    if not ok:
        return summary(stages)

    ok, s = hwgen("inspect", onnx_path)
    stages.append(Stage("inspect", ok, s, "ops, weight kinds, targets"))

    ok, s = hwgen("run", onnx_path, "--input", WORK / "x_test.npy", "-o", WORK / "ref_logits.npy")
    ref_acc = accuracy(WORK / "ref_logits.npy", y_test) if ok else float("nan")
    stages.append(Stage("reference interpreter (float)", ok, s, f"accuracy {ref_acc:.2f}% on {len(y_test)} digits"))

    ok, s = hwgen("build", onnx_path, "--target", "rtl", "-o", WORK / "rtl")
    manifest = json.loads((WORK / "rtl" / "manifest.json").read_text()) if ok else {}
    cycles = manifest.get("cycles", {})
    stages.append(Stage("build RTL (Amaranth → Verilog)", ok, s,
                        f"{cycles.get('per_step', '?')} cycles/step" if ok else "failed"))

    if ok:
        report = WORK / "sim.json"
        ok, s = hwgen("sim", WORK / "rtl", "--input", WORK / "x_test.npy", "--labels", WORK / "y_test.npy",
                      "--report-json", report)
        r = json.loads(report.read_text()) if report.exists() else {}
        stages.append(Stage("Verilator: whole test split vs integer reference", ok, s,
                            f"{r.get('sequences', '?')} sequences bit-exact={r.get('bit_exact')}, "
                            f"accuracy {r.get('accuracy', float('nan')):.2f}%, cycles==expected: {r.get('cycles_match')}"))

    ok, s = hwgen("build", onnx_path, "--target", "tvm", "-o", WORK / "tvm")  # symbolic batch: one library, any N
    stages.append(Stage("build TVM kernels (packed ternary)", ok, s, "model.so" if ok else "failed"))
    if ok:
        ok, s = hwgen("run", WORK / "tvm", "--input", WORK / "x_test.npy", "-o", WORK / "tvm_logits.npy")
        if ok:
            diff = float(np.abs(np.load(WORK / "tvm_logits.npy") - np.load(WORK / "ref_logits.npy")).max())
            ok = diff <= 1e-4
            stages.append(Stage("run TVM kernels", ok, s,
                                f"accuracy {accuracy(WORK / 'tvm_logits.npy', y_test):.2f}%, max |diff| vs reference {diff:.1e}"))
        else:
            stages.append(Stage("run TVM kernels", ok, s, "failed"))

    ok, s = hwgen("build", onnx_path, "--target", "fpga", "--board", "icebreaker", "-o", WORK / "fpga")
    rep = WORK / "fpga" / "report.json"
    if rep.exists():
        fr = json.loads(rep.read_text())
        lc = fr["utilisation"].get("LC", fr["utilisation"].get("LUT4", {}))
        stages.append(Stage("iCE40 UP5K bitstream (yosys + nextpnr)", ok, s,
                            f"{lc.get('used', '?')}/{lc.get('available', '?')} LCs, Fmax {fr['fmax_mhz']} MHz "
                            f"(clock {fr['clock_mhz']} MHz, timing {fr['timing']})"))
    else:
        stages.append(Stage("iCE40 UP5K bitstream (yosys + nextpnr)", ok, s, "failed"))
    return summary(stages)


def summary(stages: list[Stage]) -> int:
    table = Table("stage", "ok", "time", "result", title=f"hwgen demo — files in {WORK.relative_to(ROOT)}/")
    for st in stages:
        table.add_row(st.name, "[green]yes[/]" if st.ok else "[red]NO[/]", f"{st.seconds:.1f} s", st.result)
    console.rule("summary")
    console.print(table)
    return 0 if all(st.ok for st in stages) else 1


if __name__ == "__main__":
    sys.exit(main())
