"""ONNX's own node test cases for every op hwgen claims: each passes or is refused by name; none fails or crashes.

`pytest -s tests/frontend/test_conformance.py` prints the per-op table; the one-line pass rate
shows in the warnings summary of every run (`make test` included).
"""

from __future__ import annotations

import re
import warnings

import pytest

from hwgen.frontend.conformance import CaseResult, claimed_ops, format_table, run_conformance, summarize, summary_line

#: Issue 14's ops: each must pass at least one of ONNX's cases (Not's are opset 1, below hwgen's opset 7).
NEW_OPS = ("ReduceSum", "ReduceMax", "ReduceMin", "Max", "Min", "Exp", "Log", "Reciprocal", "IsNaN", "IsInf", "And", "Or",
           "Xor", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "GatherElements", "GatherND", "ScatterND", "CastLike",
           "Size", "Tile", "Trilu", "Pad", "Einsum", "GRU")


class ConformanceSummary(UserWarning):
    """The pass rate of ONNX's node test cases (a warning so that it shows at the end of a quiet run)."""


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    return run_conformance(claimed_ops())


def test_every_case_passes_or_is_refused_by_name(results: list[CaseResult]) -> None:
    table = format_table(results, claimed_ops())
    print("\n" + table)
    warnings.warn(ConformanceSummary(f"ONNX node test cases: {summary_line(results, len(claimed_ops()))}"), stacklevel=1)
    bad = [f"{r.outcome} {r.case} ({r.op}): {r.detail}" for r in results if r.outcome in ("failed", "crashed")]
    assert not bad, "\n".join(bad)
    for r in results:
        if r.outcome == "refused":
            assert re.search(r"support|too old|not a tensor", r.detail), f"{r.case}: the refusal does not say what is unsupported: {r.detail}"


def test_the_new_ops_pass_onnx_cases(results: list[CaseResult]) -> None:
    rows = {s.op: s for s in summarize(results)}
    assert set(NEW_OPS) <= set(claimed_ops())
    missing = [op for op in NEW_OPS if rows[op].counts["passed"] == 0 and op != "Not"]
    assert not missing, f"no ONNX node test case passes for {missing}"
    assert sum(r.outcome == "passed" for r in results) >= 500
