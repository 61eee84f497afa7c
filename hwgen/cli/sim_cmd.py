"""`hwgen sim out/ --inputs x.npy [--vcd wave.vcd] [--engine cpp|cocotb]`.

Streams every input sequence through the generated RTL (Verilator) and checks every
output bit-exactly against the integer reference. Exit codes: 0 all outputs match,
1 the RTL disagrees with the reference (or stalls) — the first mismatch is printed with a
waveform around it —, 2 bad input (no artefact, wrong shapes; as every hwgen command).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from hwgen.arrays import load_npy
from hwgen.cli.common import add_input_option, single_input
from hwgen.errors import HwgenError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="verify generated RTL cycle by cycle against the integer reference (Verilator)",
                       description="Simulate an `hwgen build --target rtl` folder with Verilator and compare every "
                                   "output bit-exactly with the integer reference. Exit 0: bit-exact; 1: mismatch "
                                   "or stall (first mismatch and a VCD around it are reported); 2: bad input.")
    p.add_argument("out", type=Path, nargs="?", help="the folder written by `hwgen build --target rtl -o OUT`")
    add_input_option(p, "inputs [N, T, X] or [T, X]: float (quantized with the model's input format) or integer "
                        "codes; default OUT/vectors/inputs.npy")
    p.add_argument("--labels", metavar="Y.npy", default=None, help="class labels [N]: also report accuracy")
    p.add_argument("--engine", choices=("cpp", "cocotb"), default="cpp",
                   help="cpp: compiled Verilator harness (fast, whole test sets); cocotb: Python testbench "
                        "with scoreboard and mid-sequence resets (slow)")
    p.add_argument("--vcd", type=Path, default=None,
                   help="write a waveform here (around the first mismatch if there is one)")
    p.add_argument("--stall-in", type=int, default=0, metavar="PERMILLE",
                   help="random input back-pressure: per mille of cycles without in_valid")
    p.add_argument("--stall-out", type=int, default=0, metavar="PERMILLE",
                   help="random output back-pressure: per mille of cycles without out_ready")
    p.add_argument("--seed", type=int, default=1, help="seed of the back-pressure patterns")
    p.add_argument("--reset-check", action="store_true",
                   help="(cocotb) also reset in the middle of a sequence and while computing")
    p.add_argument("--isolate", action="store_true",
                   help="(cpp) start each sequence only after the previous one's outputs, so every sequence's "
                        "cycle count is checked against expected_cycles (default: back to back; the first is)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="simulate only the first N sequences")
    p.add_argument("--report-json", type=Path, default=None, metavar="FILE",
                   help="also write the figures (bit-exact, cycles, accuracy) as JSON for scripts")
    p.add_argument("--selftest", action="store_true",
                   help="verify the simulation stack itself on a tiny built-in design (no OUT needed)")
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace, quantize) -> np.ndarray:
    path = single_input(args.input, "the accelerator") or (str(args.out / "vectors" / "inputs.npy") if args.out else None)
    if path is None:
        raise HwgenError("no --input given")
    x = load_npy(path)
    if np.issubdtype(x.dtype, np.floating):
        x = quantize(x)
    elif not np.issubdtype(x.dtype, np.integer):
        raise HwgenError(f"{path}: inputs must be float or integer, not {x.dtype}")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise HwgenError(f"{path}: inputs must be [N, T, X] or [T, X], got shape {list(x.shape)}")
    return x[:args.limit] if args.limit else x


def run(args: argparse.Namespace) -> int:
    from hwgen.sim.cpp import Stalls
    from hwgen.sim.design import as_sequences
    from hwgen.sim.report import print_report
    from hwgen.sim.verify import argmax_classes, verify

    start = time.perf_counter()
    if args.selftest:
        import tempfile

        from hwgen.sim.selftest import StepSumConfig, write_design

        config = StepSumConfig()
        design = write_design(config, Path(tempfile.mkdtemp(prefix="hwgen-selftest-")))
        model = config
        rng = np.random.default_rng(args.seed)
        sequences = [rng.integers(-128, 128, (int(rng.integers(1, 9)), config.elements)) for _ in range(64)]
    else:
        if args.out is None:
            raise HwgenError("give the folder written by `hwgen build --target rtl -o OUT` (or --selftest)")
        if not args.out.is_dir():
            raise HwgenError(f"{args.out}: no such folder (build it with `hwgen build model.onnx --target rtl -o {args.out}`)")
        from hwgen.rtl.gated import is_gated_folder
        from hwgen.sim.artifact_model import design_from_artifact
        from hwgen.sim.gated_model import design_from_gated

        if is_gated_folder(args.out):  # a surprisal-gated pair (`hwgen build --gated-with`)
            if args.labels:
                raise HwgenError(f"--labels: {args.out} is a gated pair, whose step is 1 + 2V beats (decision, used "
                                 "logits, small logits), not one class's logits; score its used logits instead")
            design, model = design_from_gated(args.out)
        else:
            design, model = design_from_artifact(args.out)
        sequences = as_sequences(_inputs(args, model.quantize_input), design.step_elements)
    if args.reset_check and args.engine != "cocotb":
        raise HwgenError("--reset-check needs --engine cocotb")
    if args.isolate and args.engine != "cpp":
        raise HwgenError("--isolate needs --engine cpp")
    stalls = Stalls(args.stall_in, args.stall_out, args.seed)
    result = verify(design, sequences, engine=args.engine, stalls=stalls, vcd=args.vcd,
                    reset_mid_sequence=args.reset_check, model=model, isolate=args.isolate)
    accuracy = None
    if args.labels:
        per_step = design.output_steps == "every_step"
        labels = load_npy(args.labels)[:len(sequences)].reshape(-1)
        want, what = (int(result.steps.sum()), "steps (a per-step model: labels [N, T])") if per_step else (len(sequences), "sequences")
        if len(labels) != want:
            raise HwgenError(f"{args.labels}: {len(labels)} labels for {want} {what}")
        reference = argmax_classes(result.expected, result.steps, per_step)
        accuracy = (float(np.mean(result.predictions(per_step) == labels)), float(np.mean(reference == labels)))
    wall = time.perf_counter() - start
    print_report(result, wall_seconds=wall, accuracy=accuracy)
    if args.report_json is not None:
        _write_json(args.report_json, result, accuracy, wall)
    if args.vcd is not None and result.mismatch is None:
        print(f"wrote {args.vcd}")
    return 0 if result.passed else 1


def _write_json(path: Path, result, accuracy, wall: float) -> None:  # type: ignore[no-untyped-def]
    """The run's figures for scripts (make demo's summary); the rich table stays the human view."""
    import json

    report = {
        "design": result.design, "engine": result.engine, "sequences": len(result.steps),
        "outputs_checked": result.outputs_checked, "bit_exact": result.mismatch is None, "passed": result.passed,
        "cycles": int(result.run.cycles), "cycles_per_step": result.cycles_per_step,
        "cycles_match": result.cycles_match, "sequences_cycle_checked": result.cycles_compared,
        "wall_seconds": wall,
    }
    if accuracy is not None:
        report["accuracy"], report["reference_accuracy"] = 100 * accuracy[0], 100 * accuracy[1]
    path.write_text(json.dumps(report, indent=2) + "\n")
