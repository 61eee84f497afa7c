"""Linear layers (MatMul / Gemm against a constant weight) as scheduled kernels instead of Relax's matmul.

Why: TVM's default legalisation of `relax.op.matmul` is an unscheduled triple loop (a MiniLM
inference took ~1.6 s, 84 % of it in the 38 Linear layers). A Linear layer y = x W + b with a
constant W [K, N] is the LSTM's input projection with rows = N, so it runs on the same kernels:

* float activations (the default): `gemm_kernels.projection`, a register-tiled GEMM over weight
  panels; float weights as float panels, hwgen-exported codes (DequantizeLinear(codes, scale[N],
  axis=1)) as packed 2-/1-bit ternary/binary or int8 panels decoded once per call, times the
  per-column scale. Agrees with the float graph to float rounding.
* int8 activations (`TvmOptions(activations="int8")` on a graph without LSTM): each row (token) of x
  is quantised to int8 codes with its own scale max|x_row| / 127 (round half to even), the codes
  times the weight codes are summed exactly, then y = acc * scale_row * scale_col + b in float32.
  On AMX hosts the whole layer is one `amx_kernels.linear` call (quantise, int8 tiles into int32, rescale),
  for ternary, binary and int8 weights. Ternary/binary weights on AVX2 / AVX-512: one `quad_kernels.linear`
  call (the same with u8 x s8 multiply-adds). Otherwise, and on every other CPU, one `gemm_kernels.int_linear`
  call: the same quantisation, the float tiles over integer-valued floats, exact because every
  partial sum stays below 2**24 (K is summed in parts of at most EXACT_K, added in int32), the same
  rescale (it had been six Relax element-wise kernels around the float projection, ~9 % of a MiniLM
  int8 inference).
  Float-initializer Linears stay float.

The weight codes are recorded when the lowering folds a DequantizeLinear of constant codes
(`quantized_weight`), so the kernels see the exact integers the exporter wrote.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce
from typing import Optional

import numpy as np
from tvm import relax

from hwgen.ir.graph import Node
from hwgen.ir.types import TensorType
from hwgen.tvm_backend import amx_kernels, gemm_kernels, packing, quad_kernels
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.packing import WeightKind
from hwgen.tvm_backend.relax_context import LowerContext, relax_dtype

#: Largest |code| of int8 activations (symmetric, so -x quantises to -code).
ACT_MAX = 127


@dataclass(frozen=True, eq=False)
class QuantizedWeight:
    """The codes and per-output-column scale behind a folded DequantizeLinear of a [K, N] weight."""

    codes: np.ndarray  # [K, N] int8
    scale: np.ndarray  # [N] float32

    @property
    def kind(self) -> WeightKind:
        values = set(np.unique(self.codes).tolist())
        if values <= {-1, 1}:
            return "binary"
        return "ternary" if values <= {-1, 0, 1} else "int8"


@dataclass(frozen=True)
class LinearKernel:
    """What one Linear layer became: recorded in the build manifest."""

    node: str
    input: int
    output: int
    weights: str  # float | int8 | ternary | binary
    activations: str  # f32 | int8
    kernel: str  # projection (float / packed panels, float arithmetic) | quad (x86 u8 x s8, int32) | amx (int8 tiles)
    weight_bytes: int
    simd: str = "portable"  # the kernels' `quad_kernels.SIMD_LEVELS` entry (avx512: 16-lane tiles, VNNI; amx: tiles)


def quantized_weight(codes: np.ndarray, scale: np.ndarray, zero_point: Optional[np.ndarray], axis: Optional[int],
                     transposed: bool = False) -> Optional[QuantizedWeight]:
    """The [K, N] weight a DequantizeLinear of constant codes stands for ([N, K] codes when `transposed`, a
    Gemm's transB), when hwgen's kernels take it: 2-D int8 codes, one scale per output column, zero point 0.
    None for anything else (it is then folded to float and runs on float panels)."""
    out_axis = 0 if transposed else 1
    if codes.ndim != 2 or codes.dtype != np.int8 or axis is None or axis % 2 != out_axis:
        return None
    if np.asarray(scale).shape != (codes.shape[out_axis],) or (zero_point is not None and np.any(zero_point != 0)):
        return None
    return QuantizedWeight(np.ascontiguousarray(codes.T if transposed else codes), np.asarray(scale, np.float32))


def check_int8_weight(node_name: str, codes: np.ndarray, zero_point: Optional[np.ndarray], axis: Optional[int],
                      out_axis: int = 1) -> None:
    """Refuse, for int8 activations, a weight DequantizeLinear the integer kernels cannot take exactly."""
    if codes.dtype != np.int8:
        raise TVMUnsupportedError(f"node {node_name!r} (DequantizeLinear): int8 activations need int8 weight codes, "
                                  f"not {codes.dtype}; use activations 'f32' (--tvm-activations f32)")
    if zero_point is not None and np.any(zero_point != 0):
        raise TVMUnsupportedError(f"node {node_name!r} (DequantizeLinear): int8 activations need symmetric weights "
                                  f"(zero point 0), not zero point {np.unique(zero_point)[:4].tolist()}; "
                                  "use activations 'f32' (--tvm-activations f32)")
    if codes.ndim != 2 or axis is None or axis % 2 != out_axis:
        raise TVMUnsupportedError(f"node {node_name!r} (DequantizeLinear): int8 activations need a 2-D weight with "
                                  f"one scale per output column (axis {out_axis}), not shape {list(codes.shape)} "
                                  f"axis {axis}; use activations 'f32' (--tvm-activations f32)")


def _pad(values: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros(rows, np.float32)
    out[: values.shape[0]] = values
    return out


@dataclass(frozen=True)
class LinearPlan:
    """How one Linear layer is computed: the weight panels and which kernel family runs them."""

    kind: WeightKind
    k: int
    n: int
    int8: bool  # int8 activations
    simd: str  # the target's `quad_kernels.SIMD_LEVELS` entry

    @property
    def kernel(self) -> str:
        """amx: `amx_kernels.linear` (int8 activations, any quantized weights, an AMX host); quad:
        `quad_kernels.linear` (int8 activations, ternary/binary weights, an x86 SIMD level); projection: the float
        panels of `gemm_kernels` (float activations, or int8 ones on the panels' integer-valued floats)."""
        if self.int8 and self.simd == "amx":
            return "amx"
        if self.int8 and self.simd != "portable" and self.kind in ("ternary", "binary"):
            return "quad"
        return "projection"


def plan(weight: np.ndarray, quantized: Optional[QuantizedWeight], weights_mode: str, int8: bool,
         simd: str) -> LinearPlan:
    k, n = weight.shape
    if quantized is None:
        return LinearPlan("float", k, n, False, simd)
    kind = quantized.kind if (int8 or weights_mode == "auto") else "float"
    return LinearPlan(kind, k, n, int8, simd)


def float_linear(bb: relax.BlockBuilder, add_func, x2: relax.Expr, rows_n: relax.Expr, p: LinearPlan,
                 weight: np.ndarray, quantized: Optional[QuantizedWeight], bias: np.ndarray) -> tuple[relax.Expr, int]:
    """x2 [M, K] float32 -> [M, N_padded] via `gemm_kernels.projection` (float activations); and the panel bytes."""
    if p.kind == "float":
        panels = packing.pack_float(np.ascontiguousarray(np.asarray(weight, np.float32).T))
        scale = panels.scale
    else:
        assert quantized is not None
        codes = np.ascontiguousarray(quantized.codes.T)
        panels = packing.pack_int8(codes) if p.kind == "int8" else packing.pack_codes(codes, quantized.scale, p.kind)
        scale = _pad(quantized.scale, panels.rows_padded)
    rows = panels.rows_padded
    lanes, tile_rows, tile_cols = gemm_kernels.tile_for(p.simd)
    func = add_func(("linear_f32", rows, p.k, p.kind),
                    lambda: gemm_kernels.projection(rows, p.k, None, p.kind, tile_rows, tile_cols, lanes),
                    f"linear_{p.kind}_{p.k}x{p.n}")
    out = relax.call_tir(func, [x2, relax.const(panels.data), relax.const(scale), relax.const(_pad(bias, rows))],
                         relax.TensorType((rows_n, rows), "float32"))
    return bb.emit(out), panels.nbytes


#: Longest K whose int8 x int8 dot products every float32 partial sum holds exactly (< 2**24).
EXACT_K = 2**24 // (ACT_MAX * ACT_MAX)


def _int32_linear(bb: relax.BlockBuilder, add_func, x2: relax.Expr, rows_n: relax.Expr, p: LinearPlan,
                  quantized: QuantizedWeight, bias: np.ndarray) -> tuple[relax.Expr, int]:
    """The whole layer (quantise, exact int32 sums, rescale, bias) in one call: `quad_kernels.linear` (u8 x s8
    multiply-adds on packed ternary/binary codes), or `amx_kernels.linear` (int8 tiles, over the same packed codes
    or over int8 codes in the tile layout)."""
    codes = np.ascontiguousarray(quantized.codes.T)
    weights = packing.pack_int8_tiles(codes) if p.kind == "int8" else packing.pack_quads(codes, p.kind)
    rows = weights.rows_padded
    if p.kernel == "amx":
        func = add_func(("linear_amx", p.k, p.n, p.kind), lambda: amx_kernels.linear(weights, None, ACT_MAX),
                        f"linear_amx_{p.kind}_{p.k}x{p.n}")
    else:
        func = add_func(("linear_quad", p.k, p.n, p.kind), lambda: quad_kernels.linear(weights, None, ACT_MAX, p.simd),
                        f"linear_quad_{p.kind}_{p.k}x{p.n}")
    y = relax.call_tir(func, [x2, relax.const(weights.data), relax.const(_pad(quantized.scale, rows)),
                              relax.const(_pad(bias, rows))], relax.TensorType((rows_n, rows), "float32"))
    return bb.emit(y), weights.nbytes


def _panel_linear(bb: relax.BlockBuilder, add_func, x2: relax.Expr, rows_n: relax.Expr, p: LinearPlan,
                  quantized: QuantizedWeight, bias: np.ndarray) -> tuple[relax.Expr, int]:
    """The whole layer in one `gemm_kernels.int_linear` call: the codes times the weight codes on the float tiles,
    exact because every partial sum stays below 2**24 (K is summed in parts of at most EXACT_K)."""
    codes = np.ascontiguousarray(quantized.codes.T)
    panels = packing.pack_int8(codes) if p.kind == "int8" else packing.pack_codes(codes, np.ones(p.n, np.float32),
                                                                                  p.kind)
    rows = panels.rows_padded
    func = add_func(("linear_int", rows, p.k, p.kind),
                    lambda: gemm_kernels.int_linear(rows, p.k, p.kind, ACT_MAX, EXACT_K, p.simd),
                    f"linear_{p.kind}_{p.k}x{p.n}")
    y = relax.call_tir(func, [x2, relax.const(panels.data), relax.const(_pad(quantized.scale, rows)),
                              relax.const(_pad(bias, rows))], relax.TensorType((rows_n, rows), "float32"))
    return bb.emit(y), panels.nbytes


def int8_linear(bb: relax.BlockBuilder, add_func, x2: relax.Expr, rows_n: relax.Expr, p: LinearPlan,
                quantized: QuantizedWeight, bias: np.ndarray) -> tuple[relax.Expr, int]:
    """x2 [M, K] float32 -> [M, N_padded]: per-token int8 codes x weight codes summed exactly, then both scales
    and b, in one kernel. AMX: `amx_kernels.linear` (int8 tiles); x86 SIMD + ternary/binary: `quad_kernels.linear`
    (u8 x s8 multiply-adds, int32); otherwise `gemm_kernels.int_linear` (float panels over integer values)."""
    make = _panel_linear if p.kernel == "projection" else _int32_linear
    return make(bb, add_func, x2, rows_n, p, quantized, bias)


def reference_int8(x2: np.ndarray, codes: np.ndarray, scale: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """numpy reference of `int8_linear` for x2 [M, K] float32 and codes [K, N]: the same arithmetic, int32 sums."""
    x2 = np.asarray(x2, np.float32)
    peak = np.abs(x2).max(axis=1, keepdims=True)
    xs = np.where(peak == 0, np.float32(1), peak / np.float32(ACT_MAX)).astype(np.float32)
    q = np.clip(np.rint(x2 / xs), -ACT_MAX, ACT_MAX).astype(np.int32)
    acc = q @ codes.astype(np.int32)
    return (acc.astype(np.float32) * xs) * scale.astype(np.float32) + bias.astype(np.float32)


def lower_linear(ctx: LowerContext, node: Node, x_name: str, weight: np.ndarray, quantized: Optional[QuantizedWeight],
                 bias: np.ndarray) -> Optional[relax.Expr]:
    """y = x W + bias for x [..., K] float32 and a constant W [K, N] on the scheduled kernels; None when the
    operands are not a Linear layer's (then the caller emits Relax's matmul)."""
    x_type = ctx.type(x_name)
    k, n = weight.shape
    if relax_dtype(x_type.dtype) != "float32" or x_type.rank < 2 or x_type.shape[-1] != k:
        return None
    lead = ctx.shape(TensorType(x_type.shape[:-1], x_type.dtype))
    m = reduce(operator.mul, lead, 1)
    x2 = ctx.emit(relax.op.reshape(ctx.expr(x_name), (m, k)))
    p = plan(weight, quantized, ctx.weights, ctx.int8_activations, ctx.simd)
    if p.int8:
        assert quantized is not None
        y, nbytes = int8_linear(ctx.bb, ctx.prim_func, x2, m, p, quantized, bias)
    else:
        y, nbytes = float_linear(ctx.bb, ctx.prim_func, x2, m, p, weight, quantized, bias)
    if int(y.ty.shape.values[1]) != n:
        y = ctx.emit(relax.op.strided_slice(y, [1], [0], [n]))
    ctx.linears.append(LinearKernel(node.name, k, n, p.kind, "int8" if p.int8 else "f32", p.kernel, nbytes, p.simd))
    return relax.op.reshape(y, [*lead, n])
