"""Run an aarch64 build on this x86 host: the TVM runtime for aarch64 under qemu-user.

PyPI has aarch64 wheels of apache-tvm and apache-tvm-ffi; their `libtvm_runtime.so` and
`libtvm_ffi.so` are all a board needs. `fetch_runtime` extracts them (`make install` does
it once), `native/run_model.cc` is a ~80-line C++ runner cross-compiled against them, and
qemu-aarch64-static runs it with Debian's aarch64 sysroot. Same library, same bytes, as
on a board — only slower.

    python -m hwgen.tvm_backend.qemu --fetch      # download + extract the aarch64 runtime
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from hwgen.tvm_backend.errors import TVMBackendError

QEMU = "qemu-aarch64-static"
CROSS_GXX = "aarch64-linux-gnu-g++"
SYSROOT = Path("/usr/aarch64-linux-gnu")
LIBS = ("libtvm_runtime.so", "libtvm_ffi.so")
RUNNER_SOURCE = Path(__file__).parent / "native" / "run_model.cc"


def runtime_dir() -> Path:
    """Where the aarch64 runtime lives: $HWGEN_TVM_AARCH64_RUNTIME or <venv>/share/hwgen/tvm-aarch64."""
    return Path(os.environ.get("HWGEN_TVM_AARCH64_RUNTIME", Path(sys.prefix) / "share" / "hwgen" / "tvm-aarch64"))


def missing() -> list[str]:
    """What is missing to run aarch64 builds here (empty: everything is in place)."""
    out = [f"{tool} (apt-get install {pkg})" for tool, pkg in ((QEMU, "qemu-user-static"), (CROSS_GXX, "g++-aarch64-linux-gnu"))
           if shutil.which(tool) is None]
    if not all((runtime_dir() / lib).is_file() for lib in LIBS):
        out.append(f"the aarch64 TVM runtime in {runtime_dir()} (python -m hwgen.tvm_backend.qemu --fetch)")
    return out


def fetch_runtime(dest: Path | None = None) -> Path:
    """pip-download the aarch64 wheels matching the installed TVM and extract the two runtime libraries."""
    import tvm
    import tvm_ffi

    dest = dest or runtime_dir()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for pkg, version in (("apache-tvm", tvm.__version__), ("apache-tvm-ffi", tvm_ffi.__version__)):
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                            "--platform", "manylinux_2_28_aarch64", "--python-version", "3.11", f"{pkg}=={version}",
                            "-d", tmp], check=True)
        for wheel in Path(tmp).glob("*.whl"):
            with zipfile.ZipFile(wheel) as z:
                for name in z.namelist():
                    if Path(name).name in LIBS:
                        (dest / Path(name).name).write_bytes(z.read(name))
    return dest


def runner_binary() -> Path:
    """The cross-compiled run_model (rebuilt when its source is newer)."""
    import tvm_ffi

    problems = missing()
    if problems:
        raise TVMBackendError("running an aarch64 build here needs " + "; ".join(problems))
    binary = runtime_dir() / "run_model"
    if binary.is_file() and binary.stat().st_mtime >= RUNNER_SOURCE.stat().st_mtime:
        return binary
    include = Path(tvm_ffi.__file__).parent / "include"
    subprocess.run([CROSS_GXX, "-std=c++17", "-O1", "-o", str(binary), str(RUNNER_SOURCE), f"-I{include}",
                    f"-L{runtime_dir()}", "-ltvm_runtime", "-ltvm_ffi"], check=True, capture_output=True)
    return binary


def run_directory(directory: Path, manifest: dict, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run an aarch64 build directory under qemu-user; outputs by graph output name."""
    binary = runner_binary()
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for i, spec in enumerate(manifest["inputs"]):
            array = np.ascontiguousarray(np.asarray(feeds[spec["name"]]).astype(spec["dtype"]))
            path = Path(tmp) / f"in{i}.bin"
            array.tofile(path)
            args.append(f"{path}:{spec['dtype']}:{','.join(str(d) for d in array.shape)}")
        prefix = str(Path(tmp) / "out")
        proc = subprocess.run([QEMU, "-L", str(SYSROOT), "-E", f"LD_LIBRARY_PATH={runtime_dir()}", str(binary),
                               str(directory / manifest["library"]), prefix, *args], capture_output=True, text=True)
        if proc.returncode != 0:
            raise TVMBackendError(f"{directory}: the aarch64 run under qemu failed: {proc.stderr.strip()[-400:]}")
        shapes = _output_shapes(proc.stdout)
        return {spec["name"]: np.fromfile(f"{prefix}{i}.bin", dtype=spec["dtype"] if spec["dtype"] != "bool" else "uint8")
                .reshape(shapes.get(i, spec["shape"])) for i, spec in enumerate(manifest["outputs"])}


def _output_shapes(stdout: str) -> dict[int, list[int]]:
    """run_model's "output I CODE:BITS D0,D1,..." lines: the actual output shapes (symbolic dims resolved)."""
    shapes = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "output":
            shapes[int(parts[1])] = [int(d) for d in parts[3].split(",")] if len(parts) > 3 else []
    return shapes


def main(argv: list[str] | None = None) -> int:
    """`python -m hwgen.tvm_backend.qemu [--fetch]` (a setup tool for `make install`; the CLI lives in hwgen.cli)."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--fetch"]):
        print(f"usage: python -m hwgen.tvm_backend.qemu [--fetch]\n{__doc__.split(chr(10) + chr(10))[0]}", file=sys.stderr)
        return 2
    if args:
        print(f"aarch64 TVM runtime in {fetch_runtime()}")
    print(json.dumps({"missing": missing()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
