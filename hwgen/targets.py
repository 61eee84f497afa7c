"""The one target registry: each compile target's check, build and option types.

`check(graph) -> reasons` says up front why a target cannot take a graph (`hwgen inspect`
prints them all); `build(graph, out, *options)` compiles it, taking one instance of each of the
target's `options` dataclasses in order. `make_options` turns keyword options (from
`hwgen.compile` or the CLI) into those instances, refusing unknown or missing names.
The table is explicit: adding a target is one entry here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from hwgen.errors import HwgenError
from hwgen.fpga import target as fpga_target
from hwgen.fpga.api import build as fpga_build
from hwgen.fpga.options import BoardOptions
from hwgen.ir.graph import Graph
from hwgen.rtl import target as rtl_target
from hwgen.rtl.api import build as rtl_build
from hwgen.rtl.options import AccelOptions, GateOptions
from hwgen.tvm_backend import build as tvm_build
from hwgen.tvm_backend import target as tvm_target
from hwgen.tvm_backend.options import TvmOptions


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    check: Callable[[Graph], list[str]]
    build: Callable[..., Any]
    options: tuple[type, ...]

    def option_names(self) -> list[str]:
        return [f.name for t in self.options for f in dataclasses.fields(t)]

    def make_options(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        """One instance of each option type from keyword options; unknown or missing names are errors."""
        unknown = sorted(set(given) - set(self.option_names()))
        if unknown:
            raise HwgenError(f"target {self.name!r} has no option(s) {', '.join(unknown)}; "
                             f"its options: {', '.join(self.option_names())}")
        made = []
        for kind in self.options:
            names = {f.name for f in dataclasses.fields(kind)}
            missing = [f.name for f in dataclasses.fields(kind) if f.default is dataclasses.MISSING
                       and f.default_factory is dataclasses.MISSING and f.name not in given]
            if missing:
                raise HwgenError(f"target {self.name!r} needs option(s) {', '.join(missing)}")
            made.append(kind(**{k: v for k, v in given.items() if k in names}))
        return tuple(made)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("fpga", "iCE40 UP5K / ECP5 bitstream (yowasp toolchain) with a UART host link around the LSTM or GRU accelerator "
                   "(or a surprisal-gated pair)",
           fpga_target.check, fpga_build, (AccelOptions, BoardOptions, GateOptions)),
    Target("rtl", "accumulate-only LSTM/GRU accelerator (Amaranth → Verilog): binary/ternary LSTM or GRU stack + dense head",
           rtl_target.check, rtl_build, (AccelOptions, GateOptions)),
    Target("tvm", "TVM Relax/TIR shared library for CPUs (host x86-64 or aarch64), packed binary/ternary LSTM kernels",
           tvm_target.check, tvm_build, (TvmOptions,)),
)}


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise HwgenError(f"unknown target {name!r}; choose one of {', '.join(sorted(TARGETS))}")
    return TARGETS[name]


def target_report(graph: Graph) -> dict[str, list[str]]:
    """Each target's reasons it cannot take `graph` (empty: it can)."""
    return {name: TARGETS[name].check(graph) for name in sorted(TARGETS)}
