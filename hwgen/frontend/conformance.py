"""Conformance against ONNX's own node test cases (`onnx.backend.test.case.node`, shipped with onnx).

For every default-domain op the frontend registers, each of ONNX's node test cases for it
(model, inputs, expected outputs) is imported with hwgen, run by the reference interpreter
and classified:

    passed   the outputs match (values, shapes, dtype kind; fp16 outputs within fp16 tolerance)
    refused  a HwgenError (an unsupported attribute, input kind or element type, named)
    failed   the outputs differ from ONNX's
    crashed  any other exception: a bug

An input hwgen needs as a constant (shape, axes, pads, ...) that a test feeds at run time is
bound to its test value and the import retried (`NotConstantError` names it): real models
carry these as initializers or Constant nodes. Such passes are counted in `bound`.

Cases are collected by importing only the modules of `onnx.backend.test.case.node` that
mention a claimed op (what `collect_testcases()` does for all ~200 modules, in a third of
the time); the `_expanded` variants (an op's function body) test other ops and are skipped.

    python -m hwgen.frontend.conformance [OP ...]    prints the table
"""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Optional, Sequence

import numpy as np
import onnx
from onnx import numpy_helper

from hwgen.errors import HwgenError
from hwgen.frontend.context import NotConstantError
from hwgen.frontend.importer import import_onnx
from hwgen.frontend.registry import coverage
from hwgen.reference import run

Outcome = Literal["passed", "refused", "failed", "crashed"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "refused", "failed", "crashed")
#: fp16 outputs are compared within a few fp16 ulps (hwgen computes float16 as float32).
FP16_RTOL = FP16_ATOL = 1e-3


@dataclass(frozen=True)
class CaseResult:
    op: str
    case: str
    outcome: Outcome
    detail: str = ""  # the refusal message, the mismatch, or the exception
    bound: tuple[str, ...] = ()  # inputs bound to their test values as constants


@dataclass
class OpSummary:
    op: str
    counts: Counter = field(default_factory=Counter)
    bound: int = 0
    reasons: Counter = field(default_factory=Counter)  # refusal reason -> cases

    @property
    def cases(self) -> int:
        return sum(self.counts.values())


def claimed_ops() -> list[str]:
    """The default-domain ONNX ops the frontend registers."""
    return sorted({row.op_type for row in coverage() if not row.domain})


def _case_ops(case: Any) -> set[str]:
    return {n.op_type for n in case.model.graph.node if n.domain in ("", "ai.onnx")}


def node_test_cases(ops: Iterable[str]) -> dict[str, list[Any]]:
    """ONNX's node test cases of each op in `ops` (op → cases, in ONNX's order; `_expanded` variants skipped)."""
    import onnx.backend.test.case.node as cases_pkg

    wanted = set(ops)
    folder = Path(cases_pkg.__path__[0])
    target = getattr(cases_pkg, "_TargetOpType", None)  # set by collect_testcases(op): it would filter what we import
    cases_pkg._TargetOpType = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the generators overflow float8/float16 casts on purpose
            for source in sorted(folder.glob("*.py")):
                if source.stem.startswith("_"):
                    continue
                text = source.read_text()
                if any(f'"{op}"' in text for op in wanted):
                    importlib.import_module(f"{cases_pkg.__name__}.{source.stem}")  # runs its exporters once per process
    finally:
        cases_pkg._TargetOpType = target
    found: dict[str, list[Any]] = {op: [] for op in sorted(wanted)}
    for case in cases_pkg._NodeTestCases:
        if case.kind != "node" or case.model is None or "_expanded" in case.name:
            continue
        for op in _case_ops(case) & wanted:
            found[op].append(case)
    return found


def _bind(model: onnx.ModelProto, name: str, value: np.ndarray) -> onnx.ModelProto:
    """A copy of `model` with graph input `name` made an initializer holding `value`."""
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    kept = [vi for vi in bound.graph.input if vi.name != name]
    del bound.graph.input[:]
    bound.graph.input.extend(kept)
    bound.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    return bound


def _array(value: Any) -> Any:
    """A test value as numpy (ONNX gives some as TensorProtos, scalars as numpy scalars); sequences stay as they are."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, np.generic):
        return np.asarray(value)
    return value


def _mismatch(name: str, got: Any, want: Any, rtol: float, atol: float) -> str:
    """Why `got` is not ONNX's `want` ('' when it matches)."""
    want = _array(want)
    if not isinstance(want, np.ndarray):
        return f"output {name!r}: expected a {type(want).__name__}, not a tensor"
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"output {name!r}: shape {list(got.shape)}, ONNX gives {list(want.shape)}"
    if want.dtype == np.bool_:
        return "" if np.array_equal(got.astype(bool), want) else f"output {name!r}: bools differ"
    if np.issubdtype(got.dtype, np.floating) != np.issubdtype(want.dtype, np.floating):
        return f"output {name!r}: dtype {got.dtype}, ONNX gives {want.dtype}"
    if not np.issubdtype(want.dtype, np.floating):
        return "" if np.array_equal(got, want) else f"output {name!r}: integers differ"
    if want.dtype == np.float16:
        rtol, atol = max(rtol, FP16_RTOL), max(atol, FP16_ATOL)
    try:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol)
    except AssertionError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip().startswith(("Mismatched", "Max abs"))]
        return f"output {name!r} differs (rtol {rtol}, atol {atol}): {'; '.join(lines)}"
    return ""


def _import_binding(model: onnx.ModelProto, name: str, feeds: dict[str, np.ndarray]) -> tuple[Any, list[str]]:
    """Import `model`, binding run-time inputs it needs as constants to their values in `feeds` (removed from it)."""
    bound: list[str] = []
    while True:
        try:
            return import_onnx(model, name), bound
        except NotConstantError as err:
            if err.value not in feeds or err.value in bound:
                raise
            model = _bind(model, err.value, feeds.pop(err.value))
            bound.append(err.value)


def run_case(op: str, case: Any) -> CaseResult:
    """Import and interpret one ONNX node test case; never raises."""
    inits = {i.name for i in case.model.graph.initializer}
    names = [vi.name for vi in case.model.graph.input if vi.name not in inits]
    outputs = [vi.name for vi in case.model.graph.output]
    bound: list[str] = []
    try:
        for inputs, expected in case.data_sets or []:
            feeds = {name: _array(value) for name, value in zip(names, inputs)}
            graph, bound = _import_binding(case.model, case.name, feeds)
            with np.errstate(all="ignore"):
                got = run(graph, feeds)
            for name, want in zip(outputs, expected):
                why = _mismatch(name, got[name], want, case.rtol, case.atol)
                if why:
                    return CaseResult(op, case.name, "failed", why, tuple(bound))
    except HwgenError as err:
        return CaseResult(op, case.name, "refused", str(err), tuple(bound))
    except Exception as err:  # noqa: BLE001 (a crash is what this reports)
        return CaseResult(op, case.name, "crashed", f"{type(err).__name__}: {err}", tuple(bound))
    return CaseResult(op, case.name, "passed", "", tuple(bound))


def run_conformance(ops: Optional[Sequence[str]] = None) -> list[CaseResult]:
    """Every node test case of every op in `ops` (default: every claimed op), classified."""
    cases = node_test_cases(ops if ops is not None else claimed_ops())
    return [run_case(op, case) for op, op_cases in cases.items() for case in op_cases]


def reason(result: CaseResult) -> str:
    """A refusal's reason without the case and node names (so equal reasons group)."""
    text = result.detail
    if text.startswith(result.case + ": "):
        text = text[len(result.case) + 2 :]
    if text.startswith("node ") and "): " in text:
        text = text.split("): ", 1)[1]
    if text.startswith("input ") and "' " in text:  # input 'x' has element type ...
        text = "input " + text.split("' ", 1)[1]
    if text.startswith("initializer ") and "' " in text:
        text = "initializer " + text.split("' ", 1)[1]
    return text.split(". Supported:", 1)[0].split(" (supported:", 1)[0]


#: Refusals that differ only in an element type name, grouped in the table as one line listing the types.
_BY_TYPE = re.compile(r"^(input has element type |initializer has element type |Cast to )([A-Z0-9]+)(.*)$")


def _grouped(reasons: Counter) -> Counter:
    out: Counter = Counter()
    types: dict[tuple[str, str], list[str]] = {}
    for text, n in reasons.items():
        m = _BY_TYPE.match(text)
        if m:
            types.setdefault((m.group(1), m.group(3)), []).append(m.group(2))
            out[(m.group(1), m.group(3))] += n  # type: ignore[index]
        else:
            out[text] += n
    return Counter({(f"{k[0]}{'/'.join(sorted(types[k]))}{k[1]}" if isinstance(k, tuple) else k): n for k, n in out.items()})


def summarize(results: Iterable[CaseResult], ops: Iterable[str] = ()) -> list[OpSummary]:
    table = {op: OpSummary(op) for op in ops}
    for r in results:
        row = table.setdefault(r.op, OpSummary(r.op))
        row.counts[r.outcome] += 1
        if r.outcome == "passed" and r.bound:
            row.bound += 1
        if r.outcome == "refused":
            row.reasons[reason(r)] += 1
    return sorted(table.values(), key=lambda s: s.op)


def summary_line(results: Sequence[CaseResult], ops: Optional[int] = None) -> str:
    """'N ops, M cases: P passed (x%), R refused, F failed, C crashed'."""
    total = Counter(r.outcome for r in results)
    n, ops = len(results), ops if ops is not None else len({r.op for r in results})
    return (f"{ops} ops, {n} cases: {total['passed']} passed ({100 * total['passed'] / max(n, 1):.1f}%), "
            f"{total['refused']} refused, {total['failed']} failed, {total['crashed']} crashed")


def format_table(results: Sequence[CaseResult], ops: Iterable[str] = (), width: int = 110) -> str:
    """The per-op table (op, cases, passed, of which with bound constant inputs, refused, failed, crashed, why refused)."""
    rows = summarize(results, ops)
    head = f"{'op':<22} {'cases':>5} {'passed':>6} {'bound':>5} {'refused':>7} {'failed':>6} {'crashed':>7}  refused because"
    lines = [head, "-" * min(width, len(head) + 40)]
    for s in rows:
        why = "; ".join(f"{n}x {text}" for text, n in _grouped(s.reasons).most_common())
        c = s.counts
        lines.append(f"{s.op:<22} {s.cases:>5} {c['passed']:>6} {s.bound:>5} {c['refused']:>7} {c['failed']:>6} "
                     f"{c['crashed']:>7}  {why if s.cases else '(ONNX has no node test case)'}")
    lines.append("-" * min(width, len(head) + 40))
    lines.append(summary_line(results, len(rows)))
    for r in results:
        if r.outcome in ("failed", "crashed"):
            lines.append(f"  {r.outcome.upper()} {r.case} ({r.op}): {r.detail}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ops = list(argv if argv is not None else sys.argv[1:]) or claimed_ops()
    results = run_conformance(ops)
    print(format_table(results, ops))
    return 0 if not any(r.outcome in ("failed", "crashed") for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
