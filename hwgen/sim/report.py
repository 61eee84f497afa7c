"""Render a :class:`~hwgen.sim.verify.Verification` as a rich table (what `hwgen sim` prints)."""

from __future__ import annotations

from typing import Optional

import numpy as np
from rich.console import Console
from rich.table import Table

from hwgen.sim.verify import Verification


def summary_rows(result: Verification, wall_seconds: Optional[float] = None,
                 accuracy: Optional[tuple[float, float]] = None) -> list[tuple[str, str]]:
    run = result.run
    steps = result.steps
    measured, expected = result.measured_cycles, result.expected_cycles
    n = result.cycles_compared
    ok = "[green]bit-exact[/]" if result.mismatch is None else "[red]MISMATCH[/]"
    scope = "every sequence (isolated)" if result.isolated else "first sequence (empty pipeline)"
    if result.stalls.input or result.stalls.output:
        timing = "n/a (random back-pressure on)"
    elif result.cycles_match:
        timing = f"yes, {scope}: {int(measured[0])} cycles for {int(steps[0])} steps"
    else:
        bad = int(np.argmax(measured[:n] != expected[:n]))
        timing = f"[red]no[/], {scope}: sequence {bad} took {int(measured[bad])}, expected {int(expected[bad])}"
    rows = [
        ("engine", result.engine),
        ("sequences", f"{len(steps)} (steps {steps.min()}–{steps.max()})"),
        ("outputs checked", f"{result.outputs_checked} — {ok}"),
        ("cycles / step, run (back to back)" if not result.isolated else "cycles / step, run",
         f"{result.cycles_per_step:.2f}"),
        ("cycles / step, expected_cycles(T)/T", f"{float(np.mean(expected / steps)):.2f}"),
        ("latency = expected_cycles(T)", timing),
        ("simulated cycles", f"{run.cycles:,}"),
        ("simulation time", f"{run.seconds:.3f} s"),
        ("simulated cycles / s (wall, CPU)", f"{run.cycles_per_second:,.0f}, {run.cycles_per_cpu_second:,.0f}"),
    ]
    if result.resets_checked:
        rows.append(("resets checked", "; ".join(result.resets_checked)))
    if accuracy is not None:
        rows.append(("accuracy (RTL / reference)", f"{accuracy[0]:.4f} / {accuracy[1]:.4f}"))
    if wall_seconds is not None:
        rows.append(("wall time (incl. build)", f"{wall_seconds:.2f} s"))
    return rows


def print_report(result: Verification, console: Optional[Console] = None, wall_seconds: Optional[float] = None,
                 accuracy: Optional[tuple[float, float]] = None) -> None:
    console = console or Console()
    table = Table(title=f"hwgen sim: {result.design}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for key, value in summary_rows(result, wall_seconds, accuracy):
        table.add_row(key, value)
    console.print(table)
    if result.mismatch is not None:
        console.print(f"[red]{result.mismatch.describe()}[/]")
    for error in result.bench_errors[:10]:
        console.print(f"[red]scoreboard: {error}[/]")
    if result.run.status not in ("ok", "failed"):
        console.print(f"[red]simulation {result.run.status}: the design stopped moving data[/]")
