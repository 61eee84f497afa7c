"""Load a `hwgen build --target tvm` directory and run it on numpy inputs: `load(dir)` -> a callable model.

Host builds run in-process, aarch64 builds under qemu-user. Inputs are checked against the
manifest: static dims must match, symbolic dims (named in the manifest, e.g. "batch") take
any size, the same size wherever the same name appears."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import tvm
from tvm import relax

from hwgen.tvm_backend.errors import TVMBackendError
from hwgen.tvm_backend.library import LIBRARY, MANIFEST
from hwgen.tvm_backend.llvm import llvm_target


def is_artifact(path: Path | str) -> bool:
    """True for a directory whose manifest says it was built for the TVM target."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get("target") == "tvm"
    except (OSError, ValueError):
        return False


def check_shape(manifest: dict[str, Any], spec: dict[str, Any], shape: tuple[int, ...], bound: dict[str, int]) -> None:
    """Raise a TVMBackendError unless `shape` fits input `spec`; binds its symbolic dims in `bound`."""
    dims = spec["shape"]
    fits = len(shape) == len(dims)
    for want, got in zip(dims, shape):
        if isinstance(want, int):
            fits = fits and want == got
        elif bound.setdefault(want, int(got)) != got:
            raise TVMBackendError(f"input {spec['name']!r} has shape {list(shape)}: its dim {want!r} is {got}, but "
                                  f"{bound[want]} in another input (inputs sharing a dim name must agree)")
    if not fits:
        hint = ("; symbolic dims " + ", ".join(map(repr, manifest.get("symbolic_dims", []))) + " take any size"
                if manifest.get("symbolic_dims") else " (rebuild with TvmOptions.shapes / --shape to change it)")
        raise TVMBackendError(f"input {spec['name']!r} has shape {list(shape)}; the library was compiled for "
                              f"{spec['shape']}{hint}")


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
        args, bound = [], {}
        for spec in self.manifest["inputs"]:
            if spec["name"] not in feeds:
                raise TVMBackendError(f"missing input {spec['name']!r} (the model takes {', '.join(self.input_names)})")
            array = np.asarray(feeds[spec["name"]])
            if np.issubdtype(array.dtype, np.floating) and self.quantize is not None:
                array = self.quantize(array)  # float data into an integer build: the model's own input quantizer
            check_shape(self.manifest, spec, array.shape, bound)
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

        bound: dict[str, int] = {}
        for spec in self.manifest["inputs"]:
            if spec["name"] not in feeds:
                raise TVMBackendError(f"missing input {spec['name']!r} (the model takes {', '.join(self.input_names)})")
            check_shape(self.manifest, spec, np.shape(feeds[spec["name"]]), bound)
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
