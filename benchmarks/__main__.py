"""`make bench` / `python -m benchmarks [NAME ...]`: run the benchmark scripts one after another.

Each script prints its own side-by-side table with ratios against a baseline measured in
the same run. Some take long on a 2-core machine (fpga_boards, quant_accuracy: tens of minutes;
accel_vs_int8: hours from an empty cache, its results are cached per design hash
so a rerun builds only what changed); name the ones you want, or `--list` them.

Each script's stdout is streamed to the terminal and, when the script exits 0, written into
its section of docs/results.md (between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`)
together with the command, the commit (`+dirty` when tracked files other than
docs/results.md differ from it), the machine and the UTC date. Sections of benchmarks not
run, or that failed, stay as they are. `--no-results` leaves docs/results.md alone.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = ROOT / "docs" / "results.md"
#: Fast first, so a partial run still says something.
ORDER = ("frontend_vs_onnxruntime", "sim_throughput", "onnx_to_verified_rtl", "accel_utilisation",
         "quant_step_time", "tvm_lstm_latency", "transformer_latency", "transformer_int8_agreement",
         "integer_vs_float", "accel_vs_int8", "quant_accuracy",
         "gru_vs_lstm",
         "fpga_boards", "explore_efficiency", "explore_calibrate", "transformer_compression", "surprisal_gating",
         "efficient_finetuning")
#: Arguments `make bench` gives a script, so it reproduces the run docs/results.md reports: one build's
#: Fmax moves by up to 5.6 MHz with the nextpnr seed, so fpga_boards reports medians over three seeds.
ARGS: dict[str, tuple[str, ...]] = {"fpga_boards": ("--seeds", "1", "2", "3"),
                                    "gru_vs_lstm": ("--seeds", "5", "--lm-steps", "300", "--synth")}


# --- docs/results.md sections (pure functions over strings) ---------------------------------

def open_marker(name: str) -> str:
    return f"<!-- bench:{name} -->"


def close_marker(name: str) -> str:
    return f"<!-- /bench:{name} -->"


_ANY_MARKER = re.compile(r"<!-- /?bench:")


def _lines(text: str) -> list[str]:
    """`text` split after each "\\n" only (not at the other characters `str.splitlines` breaks on)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def _marker_lines(lines: list[str], marker: str) -> list[int]:
    return [i for i, line in enumerate(lines) if line.strip() == marker]


def replace_section(text: str, name: str, body: str) -> str:
    """`text` with the lines between NAME's markers replaced by `body`.

    Everything outside the markers, the marker lines included, is kept byte for byte. A text
    without NAME's markers gets a new `## NAME` section with them at its end. Raises
    ValueError when the markers are duplicated or out of order, or when `body` holds a
    marker line of its own (it would break the next rewrite).
    """
    if _ANY_MARKER.search(body):
        raise ValueError(f"the body of section {name!r} contains a results marker")
    lines = _lines(text)
    opens, closes = _marker_lines(lines, open_marker(name)), _marker_lines(lines, close_marker(name))
    new_body = body if body.endswith("\n") or not body else body + "\n"
    if not opens and not closes:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{sep}## {name}\n\n{open_marker(name)}\n{new_body}{close_marker(name)}\n"
    if len(opens) != 1 or len(closes) != 1 or opens[0] > closes[0]:
        raise ValueError(f"docs/results.md: section {name!r} needs exactly one {open_marker(name)} "
                         f"followed by one {close_marker(name)}")
    start, end = opens[0], closes[0]
    return "".join(lines[: start + 1]) + new_body + "".join(lines[end:])


def section_body(text: str, name: str) -> str | None:
    """The lines between NAME's markers (None when the text has no such section)."""
    lines = _lines(text)
    opens, closes = _marker_lines(lines, open_marker(name)), _marker_lines(lines, close_marker(name))
    if len(opens) != 1 or len(closes) != 1 or opens[0] > closes[0]:
        return None
    return "".join(lines[opens[0] + 1: closes[0]])


def render_section(*, command: str, commit: str, machine: str, date: str, output: str, note: str = "") -> str:
    """A section body: provenance lines, then the benchmark's stdout verbatim in a code fence."""
    output = _ANY_MARKER.sub(lambda m: m.group(0).replace("<!--", "<!- -"), output).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", output)), default=0)
    fence = "`" * max(3, longest + 1)
    return (f"Command: `{command}`{f' ({note})' if note else ''}  \n"
            f"Commit: `{commit}`  \n"
            f"Machine: {machine}  \n"
            f"Date: {date}\n"
            f"\n{fence}\n{output}\n{fence}\n")


# --- provenance -----------------------------------------------------------------------------

def git_commit(root: Path = ROOT) -> str:
    """`git rev-parse --short HEAD`, plus `+dirty` when a tracked file other than docs/results.md differs."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                 ":(exclude)docs/results.md"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if status else "")


def machine() -> str:
    """CPU model (from /proc/cpuinfo when present), architecture, CPU count, and the load when it started."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    arch = platform.machine() or "unknown arch"
    processor = platform.processor()
    parts = [model or processor or "unknown CPU", arch if not processor or processor == arch else f"{arch}/{processor}",
             f"{os.cpu_count()} CPUs"]
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) != os.cpu_count():
        parts.append(f"{len(os.sched_getaffinity(0))} usable")
    if hasattr(os, "getloadavg"):
        parts.append(f"load {os.getloadavg()[0]:.1f} at start")
    return ", ".join(parts)


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# --- running ----------------------------------------------------------------------------------

def run_streaming(cmd: list[str]) -> tuple[int, str]:
    """Run `cmd` in the repository root, copying its stdout to ours line by line as it comes (stderr
    goes straight to the terminal); return (exit code, stdout as UTF-8 text)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    captured = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, cwd=ROOT) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
            captured.append(line)
    return proc.returncode, b"".join(captured).decode("utf-8", errors="replace")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default all): {', '.join(ORDER)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--no-results", action="store_true", help="do not rewrite docs/results.md")
    args = parser.parse_args()
    if args.list:
        print("\n".join(ORDER))
        return 0
    unknown = [n for n in args.names if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    commit = git_commit()
    failed = []
    for name in args.names or ORDER:
        print(f"\n=== {name} ===", flush=True)
        host, date = machine(), utc_now()
        start = time.perf_counter()
        script = [f"benchmarks/{name}.py", *ARGS.get(name, ())]
        code, output = run_streaming([sys.executable, *script])
        seconds = time.perf_counter() - start
        print(f"=== {name}: {'ok' if code == 0 else f'exit {code}'} in {seconds:.0f} s ===", flush=True)
        if code:
            failed.append(name)
            continue
        if not args.no_results:
            body = render_section(command=f"python -m benchmarks {name}", commit=commit, machine=host, date=date,
                                  output=output, note=f"runs `python {' '.join(script)}`; {seconds:.0f} s")
            text = RESULTS.read_bytes().decode("utf-8") if RESULTS.exists() else "# Measured results\n"
            RESULTS.write_bytes(replace_section(text, name, body).encode("utf-8"))
            print(f"=== {name}: written to {RESULTS.relative_to(ROOT)} ===", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
