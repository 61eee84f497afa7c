"""`TvmOptions`, in a module without tvm so `hwgen --help` starts fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from hwgen.model.kinds import check_kind
from hwgen.tvm_backend.errors import TVMBackendError

CPUS: tuple[str, ...] = ("host", "aarch64")
ACTIVATIONS: tuple[str, ...] = ("f32", "int8")
WEIGHTS: tuple[str, ...] = ("auto", "float")


@dataclass(frozen=True)
class TvmOptions:
    cpu: Literal["host", "aarch64"] = "host"
    weights: Literal["auto", "float"] = "auto"
    activations: Literal["f32", "int8"] = "f32"
    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_kind("cpu", self.cpu, CPUS, TVMBackendError)
        check_kind("weights", self.weights, WEIGHTS, TVMBackendError)
        check_kind("activations", self.activations, ACTIVATIONS, TVMBackendError)
