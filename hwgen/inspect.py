"""What a model is made of: the data behind `hwgen inspect` (and the op coverage table of `--ops`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from io import StringIO
from typing import Optional

from hwgen.ir.graph import Graph
from hwgen.ir.nonfinite import nonfinite_constants
from hwgen.ir.ops import BipolarQuantAttrs, DequantizeAttrs, FakeQuantAttrs, QuantizeAttrs
from hwgen.ir.printer import print_graph
from hwgen.targets import target_report


@dataclass(frozen=True)
class WeightInfo:
    name: str
    shape: tuple[int, ...]
    kind: str  # "f32", "ternary", "binary", "i8", ...
    bits: int
    scale: str = ""  # "per-tensor", "per-axis 0 [32]" for dequantized integer weights
    used_by: str = ""  # the ops reading it (through its Dequantize)


@dataclass(frozen=True)
class OpInfo:
    op: str
    count: int
    output_shapes: tuple[str, ...]  # distinct first-output types, in graph order


@dataclass(frozen=True)
class ModelReport:
    name: str
    inputs: list[tuple[str, str]]
    outputs: list[tuple[str, str]]
    ops: list[OpInfo]
    parameters: int
    weights: list[WeightInfo]
    targets: dict[str, list[str]] = field(default_factory=dict)
    #: "initializer 'W' has 2 NaN value(s)" for each float constant that is not finite
    nonfinite: list[str] = field(default_factory=list)

    @property
    def op_counts(self) -> dict[str, int]:
        return {o.op: o.count for o in self.ops}


def _bits(dtype: object) -> int:
    return int(getattr(dtype, "bits", 32))


def _ops(graph: Graph) -> list[OpInfo]:
    counts = Counter(n.op for n in graph.nodes)
    shapes: dict[str, list[str]] = {}
    for n in graph.nodes:
        first = next((o for o in n.outputs if o), None)
        t = graph.types.get(first) if first else None
        seen = shapes.setdefault(n.op, [])
        if t is not None and str(t) not in seen:
            seen.append(str(t))
    return [OpInfo(op, counts[op], tuple(shapes.get(op, []))) for op in sorted(counts)]


def _weights(graph: Graph) -> list[WeightInfo]:
    dequant = {n.inputs[0]: n for n in graph.nodes_of(DequantizeAttrs)}
    readers: dict[str, list[str]] = {}
    for n in graph.nodes:
        for i in n.inputs:
            readers.setdefault(i, []).append(n.op)
    out = []
    for name, c in graph.constants.items():
        if c.array.ndim < 2 and name not in dequant:
            continue
        scale, via = "", name
        if name in dequant:
            dq = dequant[name]
            assert isinstance(dq.attrs, DequantizeAttrs)
            scale = "per-tensor" if dq.attrs.axis is None else f"per-axis {dq.attrs.axis} [{graph.constants[dq.inputs[1]].array.size}]"
            via = dq.outputs[0]
        used = sorted(set(readers.get(via, [])))
        out.append(WeightInfo(name, tuple(int(d) for d in c.type.shape), str(c.type.dtype), _bits(c.type.dtype), scale, ", ".join(used)))
    return out


def activation_quantizers(graph: Graph) -> list[tuple[str, str]]:
    """(node, number format) of every quantizer on a computed value: QCDQ Quantize, QONNX Quant/BipolarQuant."""
    out = []
    for n in graph.nodes:
        a = n.attrs
        if isinstance(a, (FakeQuantAttrs, QuantizeAttrs)):
            out.append((n.name, f"{'i' if a.signed else 'u'}{a.bits}"))
        elif isinstance(a, BipolarQuantAttrs):
            out.append((n.name, "bipolar"))
    return out


def inspect_graph(graph: Graph) -> ModelReport:
    return ModelReport(
        name=graph.name,
        inputs=[(v.name, str(v.type)) for v in graph.inputs],
        outputs=[(v.name, str(graph.types.get(v.name, v.type))) for v in graph.outputs],
        ops=_ops(graph),
        parameters=graph.parameter_count(),
        weights=_weights(graph),
        targets=target_report(graph),
        nonfinite=[str(c) for c in nonfinite_constants(graph)],
    )


def _console(buf: StringIO):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(file=buf, width=120, color_system=None)


def _rows(table, *cells: str) -> None:  # type: ignore[no-untyped-def]
    """Add a row as plain text: a type like ``f32[batch, sequence]`` is not Rich markup (it would vanish)."""
    from rich.text import Text

    table.add_row(*(Text(c) for c in cells))


def format_report(report: ModelReport, show_ir: bool = False, graph: Optional[Graph] = None) -> str:
    from rich.table import Table

    buf = StringIO()
    console = _console(buf)
    console.print(f"model {report.name}: {report.parameters:,} parameters", markup=False)
    io = Table("", "name", "type", title="inputs / outputs", title_justify="left")
    for name, t in report.inputs:
        _rows(io, "in", name, t)
    for name, t in report.outputs:
        _rows(io, "out", name, t)
    console.print(io)
    ops_table = Table("op", "count", "output types", title="ops", title_justify="left")
    for info in report.ops:
        shapes = ", ".join(info.output_shapes[:3]) + (", ..." if len(info.output_shapes) > 3 else "")
        _rows(ops_table, info.op, str(info.count), shapes)
    console.print(ops_table)
    w = Table("weight", "shape", "kind", "bits", "scale", "used by", title="weights", title_justify="left")
    for wi in report.weights:
        _rows(w, wi.name, str(list(wi.shape)), wi.kind, str(wi.bits), wi.scale or "-", wi.used_by)
    console.print(w)
    if graph is not None and activation_quantizers(graph):
        console.print("activation quantizers: " + ", ".join(f"{name} ({kind})" for name, kind in activation_quantizers(graph)),
                      markup=False)
    for problem in report.nonfinite:
        console.print(f"warning: {problem}", markup=False, highlight=False)
    t = Table("target", "can compile", "why not", title="targets", title_justify="left")
    for name, reasons in report.targets.items():
        _rows(t, name, "yes" if not reasons else "no", "; ".join(reasons))
    if not report.targets:
        _rows(t, "(none registered)", "", "")
    console.print(t)
    if show_ir and graph is not None:
        console.print(print_graph(graph), markup=False, highlight=False)
    return buf.getvalue().rstrip()


def format_op_coverage() -> str:
    """The ONNX op coverage table: op, domain, the opsets each converter version applies from, notes."""
    from rich.table import Table

    from hwgen.frontend.importer import MIN_OPSET
    from hwgen.frontend.registry import coverage

    rows = coverage()
    buf = StringIO()
    console = _console(buf)
    table = Table("op", "domain", "opsets", "notes", title=f"ONNX ops hwgen imports (models of opset >= {MIN_OPSET})",
                  title_justify="left")
    merged: dict[tuple[str, tuple[int, ...], str], list[str]] = {}  # one row for an op read alike in several domains
    for row in rows:
        merged.setdefault((row.op_type, row.since, row.notes), []).append(row.domain or "ai.onnx")
    for (op, since, notes), domains in merged.items():
        table.add_row(op, "\n".join(domains), ", ".join(f"{s}+" for s in since), notes)
    console.print(table)
    return buf.getvalue().rstrip()
