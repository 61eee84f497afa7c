"""What `hwgen.tvm_backend.build` takes and returns, in a module without tvm so `hwgen --help` starts fast.

`TvmOptions` is the whole configuration of a TVM build (the CLI maps `--cpu`, `--tvm-weights`,
`--tvm-activations` and `--shape` onto it); `TvmArtifact` is the directory it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, get_args

from hwgen.model.kinds import check_kind
from hwgen.tvm_backend.errors import TVMBackendError

#: host: this machine's CPU; aarch64: cross-compiled for 64-bit Arm boards (checked under qemu-user).
Cpu = Literal["host", "aarch64"]
#: auto: packed 2-/1-bit kernels for ternary/binary LSTM / Linear weights (int8 codes as int8 panels);
#: float: float kernels for every weight.
Weights = Literal["auto", "float"]
#: f32: float activations (any model); int8: the RTL path's fixed-point LSTM, bit-exact with IntegerModel.run;
#: for a graph without LSTM (a transformer encoder), per-token int8 activations x integer weight codes in the
#: Linear layers whose weights are DequantizeLinear codes (`linear`); everything else stays float.
Activations = Literal["f32", "int8"]

CPUS: tuple[str, ...] = get_args(Cpu)
WEIGHTS: tuple[str, ...] = get_args(Weights)
ACTIVATIONS: tuple[str, ...] = get_args(Activations)


def _check_shapes(shapes: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """A validated copy (name -> tuple of sizes), so asdict/copy/pickle of the options work."""
    out: dict[str, tuple[int, ...]] = {}
    for name, dims in dict(shapes).items():
        if not isinstance(name, str) or not name:
            raise TVMBackendError(f"shapes: input names must be non-empty strings, not {name!r}")
        try:
            shape = tuple(dims)
        except TypeError:
            raise TVMBackendError(f"shapes[{name!r}] = {dims!r}: expected a tuple of sizes, e.g. (1, 28, 28)") from None
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
            raise TVMBackendError(f"shapes[{name!r}] = {dims!r}: every size must be an integer >= 1")
        out[name] = shape
    return out


@dataclass(frozen=True)
class TvmOptions:
    """Options of one TVM build. `shapes` optionally specialises inputs with symbolic dimensions
    (input name -> full shape); without it, symbolic dims (batch, sequence) stay symbolic in the library."""

    cpu: Cpu = "host"
    weights: Weights = "auto"
    activations: Activations = "f32"
    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        check_kind("cpu", self.cpu, CPUS, TVMBackendError)
        check_kind("weights", self.weights, WEIGHTS, TVMBackendError)
        check_kind("activations", self.activations, ACTIVATIONS, TVMBackendError)
        object.__setattr__(self, "shapes", _check_shapes(self.shapes))


@dataclass(frozen=True)
class TvmArtifact:
    """A TVM build directory: `library` (model.so) and the manifest written next to it (see `library`)."""

    out: Path
    library: Path
    manifest: dict[str, Any] = field(hash=False)

    @property
    def symbolic_dims(self) -> list[str]:
        return list(self.manifest.get("symbolic_dims", []))

    def summary(self) -> str:
        """One line: what was written, for which CPU, with which kernels and which dims stay symbolic."""
        m = self.manifest
        size = self.library.stat().st_size if self.library.is_file() else 0
        dims = f", symbolic {', '.join(self.symbolic_dims)}" if self.symbolic_dims else ""
        fixed = m.get("specialised_inputs") or {}
        if fixed:
            dims += f"{', ' if not dims else '; '}specialised {', '.join(f'{k}={list(v)}' for k, v in fixed.items())}"
        return (f"wrote {self.library} ({size:,} bytes, {m['llvm_target']['mtriple']}, kernels {m['kernel_variant']}"
                f"{dims}) and {self.out / 'manifest.json'}")
