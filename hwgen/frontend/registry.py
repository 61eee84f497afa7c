"""Converter registry: one function per ONNX op, versioned by the opset it applies from.

    @converter("Gemm", since=7)
    def gemm(ctx: ConvertContext, node: onnx.NodeProto) -> None: ...

`lookup` picks the highest `since` not above the model's opset for that domain
(like TVM's `_impl_vN`), so a new opset version is a new function, not an `if`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import onnx

from hwgen.frontend.context import ConvertContext

ConvertFn = Callable[[ConvertContext, onnx.NodeProto], None]
_REGISTRY: dict[tuple[str, str], list[tuple[int, ConvertFn]]] = {}
_NOTES: dict[tuple[str, str], list[str]] = {}


@dataclass(frozen=True)
class OpCoverage:
    """One row of the op coverage table: which opsets of an ONNX op hwgen reads, and its limits."""

    domain: str
    op_type: str
    since: tuple[int, ...]  # the opset each converter version applies from
    notes: str

    @property
    def qualified(self) -> str:
        return f"{self.domain}.{self.op_type}" if self.domain else self.op_type

#: Domains hwgen reads, with the spellings exporters use for them.
QONNX_DOMAINS = ("qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general")
HWGEN_DOMAIN = "hwgen"


def converter(op_type: str, since: int = 1, domains: tuple[str, ...] = ("",), notes: str = "") -> Callable[[ConvertFn], ConvertFn]:
    """Register `fn` for `op_type` from opset `since`; `notes` (limits, folding) go in the coverage table."""

    def register(fn: ConvertFn) -> ConvertFn:
        for domain in domains:
            entries = _REGISTRY.setdefault((domain, op_type), [])
            entries.append((since, fn))
            entries.sort(key=lambda e: e[0])
            if notes:
                _NOTES.setdefault((domain, op_type), []).append(f"{since}+: {notes}")
        return fn

    return register


def lookup(domain: str, op_type: str, opset: int) -> Optional[ConvertFn]:
    domain = "" if domain == "ai.onnx" else domain
    found = None
    for since, fn in _REGISTRY.get((domain, op_type), []):
        if since <= opset:
            found = fn
    return found


def supported_ops() -> list[str]:
    """'Op' for the default domain, 'domain.Op' otherwise, with the first opset each applies from."""
    out = []
    for (domain, op), entries in sorted(_REGISTRY.items()):
        out.append(f"{domain + '.' if domain else ''}{op}(>={entries[0][0]})")
    return out


def coverage() -> list[OpCoverage]:
    """Every registered op, sorted by domain then name: the data behind `hwgen inspect --ops`."""
    return [
        OpCoverage(domain, op, tuple(since for since, _ in entries), _notes(domain, op, len(entries)))
        for (domain, op), entries in sorted(_REGISTRY.items())
    ]


def _notes(domain: str, op: str, versions: int) -> str:
    notes = sorted(_NOTES.get((domain, op), []), key=lambda n: int(n.split("+", 1)[0]))
    if versions == 1 and len(notes) == 1:  # one version: the opset is in its own column
        return notes[0].split(": ", 1)[1]
    return "; ".join(notes)
