"""What a model is made of: the data behind `hwgen inspect`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hwgen.ir.graph import Graph
from hwgen.ir.ops import DequantizeAttrs
from hwgen.ir.printer import print_graph
from hwgen.targets import target_report


@dataclass(frozen=True)
class WeightInfo:
    name: str
    shape: tuple[int, ...]
    kind: str  # "f32", "ternary", "binary", "i8", ...
    bits: int


@dataclass(frozen=True)
class ModelReport:
    name: str
    inputs: list[tuple[str, str]]
    outputs: list[tuple[str, str]]
    op_counts: dict[str, int]
    parameters: int
    weights: list[WeightInfo]
    targets: dict[str, list[str]] = field(default_factory=dict)


def _bits(dtype: object) -> int:
    return int(getattr(dtype, "bits", 32))


def inspect_graph(graph: Graph) -> ModelReport:
    dequantized = {n.inputs[0] for n in graph.nodes_of(DequantizeAttrs)}
    weights = [
        WeightInfo(name, tuple(int(d) for d in c.type.shape), str(c.type.dtype), _bits(c.type.dtype))
        for name, c in graph.constants.items()
        if c.array.ndim >= 2 or name in dequantized
    ]
    return ModelReport(
        name=graph.name,
        inputs=[(v.name, str(v.type)) for v in graph.inputs],
        outputs=[(v.name, str(graph.types.get(v.name, v.type))) for v in graph.outputs],
        op_counts=dict(Counter(n.op for n in graph.nodes)),
        parameters=graph.parameter_count(),
        weights=weights,
        targets=target_report(graph),
    )


def format_report(report: ModelReport, show_ir: bool = False, graph: Graph | None = None) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    buf = StringIO()
    console = Console(file=buf, width=110, color_system=None)
    console.print(f"model {report.name}: {report.parameters:,} parameters")
    io = Table("", "name", "type", title="inputs / outputs", title_justify="left")
    for name, t in report.inputs:
        io.add_row("in", name, t)
    for name, t in report.outputs:
        io.add_row("out", name, t)
    console.print(io)
    ops_table = Table("op", "count", title="ops", title_justify="left")
    for op, count in sorted(report.op_counts.items()):
        ops_table.add_row(op, str(count))
    console.print(ops_table)
    w = Table("weight", "shape", "kind", "bits", title="weights", title_justify="left")
    for info in report.weights:
        w.add_row(info.name, str(list(info.shape)), info.kind, str(info.bits))
    console.print(w)
    t = Table("target", "can compile", "why not", title="targets", title_justify="left")
    for name, reasons in report.targets.items():
        t.add_row(name, "yes" if not reasons else "no", "; ".join(reasons))
    if not report.targets:
        t.add_row("(none registered)", "", "")
    console.print(t)
    if show_ir and graph is not None:
        console.print(print_graph(graph), markup=False, highlight=False)
    return buf.getvalue().rstrip()
