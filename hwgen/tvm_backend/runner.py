"""Load a `hwgen build --target tvm` directory and run it on numpy inputs (host CPU only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import tvm
from tvm import relax

from hwgen.tvm_backend.build import LIBRARY, MANIFEST, llvm_target
from hwgen.tvm_backend.errors import TVMBackendError


def is_artifact(path: Path | str) -> bool:
    """True for a directory whose manifest says it was built for the TVM target."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get("target") == "tvm"
    except (OSError, ValueError):
        return False


@dataclass(eq=False)
class Compiled:
    """A callable model: numpy feeds in, numpy outputs (by graph output name) out."""

    manifest: dict[str, Any]
    vm: relax.VirtualMachine
    quantize: Optional[Callable[[np.ndarray], np.ndarray]] = None

    @property
    def input_names(self) -> list[str]:
        return [v["name"] for v in self.manifest["inputs"]]

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        args = []
        for spec in self.manifest["inputs"]:
            if spec["name"] not in feeds:
                raise TVMBackendError(f"missing input {spec['name']!r} (the model takes {', '.join(self.input_names)})")
            array = np.asarray(feeds[spec["name"]])
            if np.issubdtype(array.dtype, np.floating) and self.quantize is not None:
                array = self.quantize(array)  # float data into an integer build: the model's own input quantizer
            if list(array.shape) != spec["shape"]:
                raise TVMBackendError(f"input {spec['name']!r} has shape {list(array.shape)}; the library was "
                                      f"compiled for {spec['shape']} (rebuild with --input-shape to change it)")
            args.append(tvm.runtime.tensor(np.ascontiguousarray(array.astype(spec["dtype"], copy=False))))
        result = self.vm[self.manifest["entry"]](*args)
        values = [result] if len(self.manifest["outputs"]) == 1 else list(result)
        return {spec["name"]: v.numpy() for spec, v in zip(self.manifest["outputs"], values)}


def from_executable(executable: tvm.runtime.Executable, manifest: dict[str, Any]) -> Compiled:
    return Compiled(manifest, relax.VirtualMachine(executable, tvm.cpu()))


def load(directory: Path | str) -> "Compiled | QemuCompiled":
    """Load an artefact directory: host builds in-process, aarch64 builds under qemu-user."""
    directory = Path(directory)
    if not is_artifact(directory):
        raise TVMBackendError(f"{directory}: not a TVM build directory (no {MANIFEST} with target \"tvm\")")
    manifest = json.loads((directory / MANIFEST).read_text())
    if manifest["cpu"] == "aarch64":
        return _under_qemu(directory, manifest)
    if manifest["cpu"] != "host" or manifest["llvm_target"]["mtriple"] != llvm_target("host")["mtriple"]:
        raise TVMBackendError(f"{directory}: built for {manifest['cpu']} ({manifest['llvm_target']['mtriple']}); "
                              "it runs on that board with a TVM runtime, not on this machine")
    library = directory / manifest.get("library", LIBRARY)
    if not library.is_file():
        raise TVMBackendError(f"{directory}: the library {library.name} is missing")
    quantize = None
    if manifest.get("integer_model"):
        from hwgen.model.integer_model import IntegerModel

        quantize = IntegerModel.load(directory / manifest["integer_model"]).quantize_input
    return Compiled(manifest, relax.VirtualMachine(tvm.runtime.load_module(str(library)), tvm.cpu()), quantize)


@dataclass(eq=False)
class QemuCompiled:
    """An aarch64 build run under qemu-user with the aarch64 TVM runtime (see `hwgen.tvm_backend.qemu`)."""

    manifest: dict[str, Any]
    directory: Path

    @property
    def input_names(self) -> list[str]:
        return [v["name"] for v in self.manifest["inputs"]]

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        from hwgen.tvm_backend import qemu

        for spec in self.manifest["inputs"]:
            if spec["name"] not in feeds:
                raise TVMBackendError(f"missing input {spec['name']!r} (the model takes {', '.join(self.input_names)})")
            if list(np.shape(feeds[spec["name"]])) != spec["shape"]:
                raise TVMBackendError(f"input {spec['name']!r} has shape {list(np.shape(feeds[spec['name']]))}; "
                                      f"the library was compiled for {spec['shape']}")
        return qemu.run_directory(self.directory, self.manifest, feeds)


def _under_qemu(directory: Path, manifest: dict[str, Any]) -> QemuCompiled:
    from hwgen.tvm_backend import qemu

    problems = qemu.missing()
    if problems:
        raise TVMBackendError(f"{directory}: built for aarch64 ({manifest['llvm_target']['mtriple']}); running it here "
                              f"under qemu-user needs {'; '.join(problems)} — or copy it to the board")
    return QemuCompiled(manifest, directory)


def run_directory(directory: Path | str, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return load(directory)(feeds)
