"""`make bench` / `python -m benchmarks [NAME ...]`: run the benchmark scripts one after another.

Each script prints its own side-by-side table with ratios against a baseline measured in
the same run. Some take long on a 2-core machine (fpga_boards, quant_accuracy: tens of minutes;
accel_vs_int8: hours from an empty cache, its results are cached per design hash
so a rerun builds only what changed); name the ones you want, or `--list` them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Fast first, so a partial run still says something.
ORDER = ("frontend_vs_onnxruntime", "sim_throughput", "onnx_to_verified_rtl", "accel_utilisation",
         "quant_step_time", "tvm_lstm_latency", "accel_vs_int8", "quant_accuracy", "fpga_boards")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default all): {', '.join(ORDER)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(ORDER))
        return 0
    unknown = [n for n in args.names if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    failed = []
    for name in args.names or ORDER:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"=== {name}: {'ok' if code == 0 else f'exit {code}'} in {time.perf_counter() - start:.0f} s ===", flush=True)
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
