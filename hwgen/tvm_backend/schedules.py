"""Default CPU schedules for the operators Relax legalises (everything but hwgen's own kernels).

Why: TVM's legalised operators are plain loop nests; TVM 0.27's dlight CPU rules cover row
reductions (softmax, LayerNorm: `Reduction`) and matrix-vector products (`GEMV`) but have no
matmul rule, and an unscheduled matmul runs its reduction innermost with scalar loads. `Matmul`
here reorders the reduction outside the last spatial axis, so the innermost loops are vectorised
row updates (C[i, j:j+32] += A[i, k] * B[k, j:j+32]) over a register tile of `ROWS` rows x `CHAINS`
vectors of C (attention's matmuls, of equal leading dims, run on `matmul_kernels` instead: over a
symbolic sequence this rule's tail predicates keep its tiles scalar); `Injective` inlines the blocks of a fused
element-wise kernel into one loop nest (FuseOps' chain of add, divide, erf, ... otherwise wrote every
intermediate to its own full-size buffer: the GELU took six passes over [tokens, 1536]) and vectorises it,
as it does the element-wise epilogue of a matmul. Symbolic extents
(the sequence length) stay symbolic: their vector loops are split with a tail predicate.
"""

from __future__ import annotations

from typing import Optional, Union

import tvm
from tvm import relax, s_tir, te, tirx, topi
from tvm.s_tir import dlight
from tvm.s_tir.dlight.analysis import normalize_prim_func
from tvm.s_tir.dlight.base import get_extent
from tvm.s_tir.dlight.base.common_schedules import try_inline
from tvm.s_tir.dlight.cpu.base import CPUScheduleRule
from tvm.target import Target

from hwgen.tvm_backend import mathfns

#: float32 lanes of one vector (AVX2; NEON uses two registers per vector).
LANES = 8
#: Rows x CHAINS vectors of the output updated per reduction step (unrolled, independent accumulators:
#: 12 of AVX2's 16 registers, as in the LSTM projection's register tile).
ROWS = 3
CHAINS = 4


def _vectorize_inner(sch: s_tir.Schedule, block: s_tir.schedule.SBlockRV, lanes: int = LANES) -> None:
    """Vectorise a block's innermost loop: whole, or split by `lanes` when static; a symbolic one (the sequence) is
    left to LLVM's own loop vectoriser, since a split by LANES puts a tail predicate inside the vector loop and it
    runs scalarised (attention's scale-and-mask over [heads, seq, seq] took 2.8 ns an element)."""
    loops = sch.get_loops(block)
    if not loops:
        return
    extent = get_extent(sch, loops[-1])
    if not isinstance(extent, int):
        return
    if extent <= lanes:
        if extent >= 2:
            sch.vectorize(loops[-1])
        return
    _, vec = sch.split(loops[-1], [None, lanes])
    sch.vectorize(vec)


class Matmul(CPUScheduleRule):
    """A (batched) matmul, optionally followed by element-wise blocks: reduction hoisted above the last
    spatial axis, that axis vectorised, ROWS rows of the output unrolled."""

    def apply(self, func: tirx.PrimFunc, target: Target, _: bool) -> Union[None, s_tir.Schedule]:
        if not isinstance(func, tirx.PrimFunc) or not self.is_target_available(target):
            return None
        sch = s_tir.Schedule(func)
        infos = normalize_prim_func(sch)
        if not infos:
            return None
        reductions = [b for b in infos if not b.is_injective()]
        if len(reductions) != 1 or infos[0] is not reductions[0]:
            return None
        kinds = reductions[0].dom_kind()
        if len(kinds) < 3 or kinds[-1] != "R" or "R" in kinds[:-1] or kinds.count("S") < 2:
            return None
        block = reductions[0].block_rv
        *outer, row, col, red = sch.get_loops(block)
        row_o, row_i = sch.split(row, [None, ROWS])
        width = get_extent(sch, col)
        if isinstance(width, int) and width % LANES == 0:
            chains = min(CHAINS, width // LANES)  # ROWS x chains vector accumulators, one broadcast per row and k
            col_oo, col_o, col_i = sch.split(col, [None, chains, LANES])
            sch.reorder(*outer, row_o, col_oo, red, row_i, col_o, col_i)
            sch.vectorize(col_i)
            sch.unroll(col_o)
        else:  # a symbolic width (the sequence): a plain inner loop, which LLVM vectorises with a scalar tail
            sch.reorder(*outer, row_o, red, row_i, col)
        sch.unroll(row_i)
        sch.decompose_reduction(block, red)
        for info in try_inline(sch, infos[1:]):
            _vectorize_inner(sch, info.block_rv)
        return sch


class Injective(CPUScheduleRule):
    """Element-wise kernels (one or more injective blocks): inlined into as few loop nests as possible, the
    innermost loop of each vectorised."""

    def apply(self, func: tirx.PrimFunc, target: Target, _: bool) -> Optional[s_tir.Schedule]:
        if not isinstance(func, tirx.PrimFunc) or not self.is_target_available(target):
            return None
        sch = s_tir.Schedule(func)
        infos = normalize_prim_func(sch)
        if not infos or not all(b.is_injective() for b in infos):
            return None
        for info in try_inline(sch, infos):
            _vectorize_inner(sch, info.block_rv)
        return sch


def default_schedules() -> tvm.transform.Pass:
    """The rules in order of preference (Matmul before dlight's Reduction, which would also take a matmul
    fused with its element-wise epilogue); a function no rule takes keeps TVM's default loop nest."""
    return dlight.ApplyDefaultSchedule(Matmul(), StaticRowReduction(), dlight.cpu.GEMV(), Injective())


class StaticRowReduction(dlight.cpu.Reduction):
    """dlight's row reduction (softmax, LayerNorm) where the row length is static (LayerNorm's hidden
    size): over a symbolic row (softmax over the sequence) its tail-predicated vector loops run
    scalarised, slower than the plain loop nest LLVM vectorises itself."""

    def apply(self, func: tirx.PrimFunc, target: Target, tunable: bool) -> Optional[s_tir.Schedule]:
        if isinstance(func, tirx.PrimFunc):
            sch = s_tir.Schedule(func)
            infos = normalize_prim_func(sch)
            loops = sch.get_loops(infos[-1].block_rv) if infos else []
            if loops and not isinstance(get_extent(sch, loops[-1]), int):
                return None
        return super().apply(func, target, tunable)


def softmax_last_axis(x: te.Tensor) -> te.Tensor:
    """softmax over the last axis of x as TE with `mathfns.exp` (TVM's own softmax calls libm's scalar expf for
    every score: at sequence 128 the six attention softmaxes ran ~2 M scalar calls per inference)."""
    *lead, last = x.shape
    k1 = te.reduce_axis((0, last), "k1")
    peak = te.compute(lead, lambda *i: te.max(x[(*i, k1)], axis=k1), name="softmax_max")
    e = te.compute(x.shape, lambda *i: mathfns.exp(x[i] - peak[i[:-1]]), name="softmax_exp")
    k2 = te.reduce_axis((0, last), "k2")
    total = te.compute(lead, lambda *i: te.sum(e[(*i, k2)], axis=k2), name="softmax_sum")
    return te.compute(x.shape, lambda *i: e[i] / total[i[:-1]], name="softmax_norm")


def _softmax_axis(call: relax.Call) -> int:
    ndim = getattr(call.args[0].ty, "ndim", -1)
    axis = int(call.attrs.axis)
    return axis + ndim if axis < 0 and ndim > 0 else axis


@relax.expr_functor.mutator
class _FastMath(relax.PyExprMutator):
    def visit_call_(self, call: relax.Call) -> relax.Expr:
        name = getattr(call.op, "name", None)
        if name == "relax.erf":
            return self.builder_.call_te(topi.fast_erf, self.visit_expr(call.args[0]))
        if name == "relax.nn.softmax" and _softmax_axis(call) == call.args[0].ty.ndim - 1 \
                and call.args[0].ty.dtype == "float32":
            return self.builder_.call_te(softmax_last_axis, self.visit_expr(call.args[0]))
        return super().visit_call_(call)


_FAST = ("relax.erf", "relax.nn.softmax")


@tvm.transform.module_pass(opt_level=0, name="HwgenFastMath")
def fast_math(module: tvm.IRModule, _ctx: tvm.transform.PassContext) -> tvm.IRModule:
    """erf (the exact GELU's) as TVM's vectorisable float32 rational approximation (`topi.fast_erf`, within a
    few ulp) instead of a scalar libm call per element (the GELU took 11 % of a MiniLM inference), and a
    float32 softmax over the last axis as `softmax_last_axis` (exp within 1-2 ulp, vectorisable)."""
    functions = [(gvar, func) for gvar, func in module.functions_items()
                 if isinstance(func, relax.Function) and _calls_fast(func)]
    if not functions:  # leave other modules untouched (re-inferring their types can fail on symbolic shapes)
        return module
    mutator = _FastMath(module)
    for gvar, func in functions:
        mutator.builder_.update_func(gvar, mutator.visit_expr(func))
    return mutator.builder_.get()


def _calls_fast(func: relax.Function) -> bool:
    found: list[bool] = []

    def visit(expr: relax.Expr) -> None:
        if isinstance(expr, relax.Call) and getattr(expr.op, "name", None) in _FAST:
            found.append(True)

    relax.analysis.post_order_visit(func, visit)
    return bool(found)
