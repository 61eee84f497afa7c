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
    measured = result.measured_cycles
    valid = measured > 0
    per_step = (measured[valid] / steps[valid]) if valid.any() else np.zeros(0)
    expected_per_step = result.expected_cycles / steps
    ok = "[green]bit-exact[/]" if result.mismatch is None else "[red]MISMATCH[/]"
    rows = [
        ("engine", result.engine),
        ("sequences", f"{len(steps)} (steps {steps.min()}–{steps.max()})"),
        ("outputs checked", f"{result.outputs_checked} — {ok}"),
        ("cycles / step (measured)", f"{per_step.mean():.2f}" if per_step.size else "—"),
        ("cycles / step (expected_cycles)", f"{expected_per_step.mean():.2f}"),
        ("cycles / sequence = expected", "n/a (random back-pressure on)" if result.stalls.input or result.stalls.output
         else "yes, every sequence" if result.cycles_match else
         f"no: {int(np.sum(measured != result.expected_cycles))} of {len(steps)} differ"
         f" (first: {int(measured[np.argmax(measured != result.expected_cycles)])} vs "
         f"{int(result.expected_cycles[np.argmax(measured != result.expected_cycles)])})"),
        ("simulated cycles", f"{run.cycles:,}"),
        ("simulation time", f"{run.seconds:.3f} s"),
        ("simulated cycles / s", f"{run.cycles_per_second:,.0f}"),
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
