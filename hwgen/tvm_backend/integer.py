"""The int8-activation variant: an `IntegerModel` (the RTL path's fixed-point spec) -> Relax.

Input: integer codes x[N, T, X] (int32, in the model's input format; `quantize_input` makes
them). Output: what `IntegerModel.run` returns, int64 [N, K] logits (or [N, H] last hidden
codes), bit for bit. Each layer is the packed integer projection of all steps, then the
integer recurrence; the dense head is an int64 Relax matmul. Kernels: the AVX2 u8 x s8
multiply-add kernels of `quad_kernels` when the target has AVX2, the weights are
ternary/binary and the activations fit int8 (the default 8-bit formats), else the portable
int32 kernels of `integer_kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import tvm
from tvm import relax

from hwgen.ir.types import Dim
from hwgen.model.integer_model import IntegerModel
from hwgen.tvm_backend import integer_kernels, packing, quad_kernels
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.relax_context import LSTMKernel

INPUT_NAME = "x_int"


@dataclass(frozen=True, eq=False)
class LoweredInteger:
    module: tvm.IRModule
    model: IntegerModel
    batch: Dim  # a size, or the name of a symbolic dim
    steps: Dim
    kernels: tuple[LSTMKernel, ...]
    #: "avx2" (quad_kernels) or "portable" (integer_kernels)
    kernel_set: str = "portable"

    @property
    def variant(self) -> str:
        return f"{self.model.weights_kind}-int{self.model.hidden_format.bits}act"

    @property
    def output_name(self) -> str:
        return self.model.output


def _panels(codes: np.ndarray, kind: str) -> packing.Panels:
    if kind == "int8":
        return packing.pack_int8(codes.astype(np.int8))
    return packing.pack_codes(codes.astype(np.int8), np.ones(codes.shape[0], np.float32), kind)  # type: ignore[arg-type]


def _pad(values: np.ndarray, rows: int, dtype: str = "int64") -> relax.Constant:
    out = np.zeros(rows, dtype)
    out[: values.shape[0]] = values
    return relax.const(out, dtype)


def simd_fits(model: IntegerModel, cpu: str) -> bool:
    """Whether the AVX2 int8 kernels serve `model` on `cpu`: packed weights, 8-bit activations, an AVX2 target."""
    from hwgen.tvm_backend.llvm import llvm_target

    eight = model.hidden_format.bits <= 8 and all(layer.input_format.bits <= 8 for layer in model.layers)
    return (model.weights_kind in ("ternary", "binary") and eight and quad_kernels.exact_in_float64(model)
            and quad_kernels.available(llvm_target(cpu)))


def _size(d: Union[Dim, None], default: str) -> tuple[Optional[int], Union[int, tvm.tirx.Var], Dim]:
    """(size or None for the kernels, the Relax dim, the manifest dim) of a static or symbolic dim."""
    if isinstance(d, int):
        return d, d, d
    name = d or default
    return None, tvm.tirx.Var(name, "int64"), name


def _check(model: IntegerModel, cpu: str, simd: Optional[bool]) -> bool:
    fits = simd_fits(model, cpu)
    if simd and not fits:
        raise TVMUnsupportedError(f"integer model {model.name!r}: the AVX2 int8 kernels need ternary/binary weights, "
                                  f"8-bit activations integer intermediates below 2**53 and an AVX2 CPU (weights {model.weights_kind}, hidden "
                                  f"{model.hidden_format.bits} bits, --cpu {cpu})")
    if model.output_steps != "last":
        raise TVMUnsupportedError(f"integer model {model.name!r} outputs every step (a character-level LM); the TVM "
                                  "int8-activation variant computes the last step's outputs only; use "
                                  "--tvm-activations f32 (the float kernels run the whole ONNX graph)")
    if model.accumulator_bits() > 31:
        raise TVMUnsupportedError(f"integer model {model.name!r}: accumulators need {model.accumulator_bits()} bits; "
                                  "the TVM integer kernels accumulate in int32")
    return fits if simd is None else simd


def lower_integer(model: IntegerModel, batch: Union[Dim, None], steps: Union[Dim, None], cpu: str = "host",
                  simd: Optional[bool] = None) -> LoweredInteger:
    """Relax module main(x_int[N, T, X] int32) -> int64 outputs of `model.run`. `batch`/`steps`: a size, or a
    symbolic dim's name (None: "batch"/"steps"): one library for any N / T. `simd`: use the AVX2 kernels
    (None: whenever `simd_fits`)."""
    simd = _check(model, cpu, simd)
    kind = model.weights_kind
    (b_k, n, b_name), (t_k, t, t_name) = _size(batch, "batch"), _size(steps, "steps")
    n_k = b_k * t_k if b_k is not None and t_k is not None else None
    bb = relax.BlockBuilder()
    x = relax.Var(INPUT_NAME, relax.TensorType((n, t, model.input_size), "int32"))
    kernels: list[LSTMKernel] = []
    with bb.function("main", [x]):
        with bb.dataflow():
            seq = bb.emit(relax.op.permute_dims(x, [1, 0, 2]))  # [T, N, X]: the kernels' time-major layout
            h_last = None
            for i, layer in enumerate(model.layers):
                hid, size = layer.hidden, layer.input_size
                rows = packing.padded_rows(4 * hid)
                if simd:
                    wq, rq = packing.pack_quads(layer.w_codes, kind), packing.pack_quads(layer.r_codes, kind)  # type: ignore[arg-type]
                    rows = rq.rows_padded
                    wdata, rdata, nbytes = wq.data, rq.data, wq.nbytes + rq.nbytes
                    proj_func = quad_kernels.projection(wq, n_k)
                    rec_func = quad_kernels.recurrence(model, layer, t_k, b_k, rq)
                else:
                    wp, rp = _panels(layer.w_codes, kind), _panels(layer.r_codes, kind)
                    wdata, rdata, nbytes = wp.data, rp.data, wp.nbytes + rp.nbytes
                    proj_func = integer_kernels.int_projection(rows, size, n_k, kind)
                    rec_func = integer_kernels.int_recurrence(model, layer, t_k, b_k, rows, kind)
                proj = bb.add_func(proj_func.with_attr("global_symbol", f"int_projection_{i}"), f"int_projection_{i}")
                flat = bb.emit(relax.op.reshape(seq, (t * n, size)))
                accx = bb.emit(relax.call_tir(proj, [flat, relax.const(wdata)], relax.TensorType((t * n, rows), "int32")))
                accx = bb.emit(relax.op.reshape(accx, (t, n, rows)))
                rec = bb.add_func(rec_func.with_attr("global_symbol", f"int_recurrence_{i}"), f"int_recurrence_{i}")
                out = bb.emit(relax.call_tir(rec, [accx, relax.const(rdata), *_step_constants(model, layer, rows, simd)],
                                             [relax.TensorType((t, n, hid), "int32"), relax.TensorType((n, hid), "int32")]))
                seq = bb.emit(relax.TupleGetItem(out, 0))
                h_last = bb.emit(relax.TupleGetItem(out, 1))
                kernels.append(LSTMKernel(f"layer{i}", "forward", t_name, b_name, size, hid, kind, kind, nbytes))
            assert h_last is not None
            output = bb.emit_output(_head(model, h_last))
        bb.emit_func_output(output)
    return LoweredInteger(bb.get(), model, b_name, t_name, tuple(kernels), "avx2" if simd else "portable")


def _step_constants(model: IntegerModel, layer, rows: int, simd: bool) -> list[relax.Constant]:
    """The recurrence's constant operands: gate affine [rows_p], cell affine [H], sigmoid and tanh tables.
    The AVX2 step holds the integers exactly in float64 lanes (cell affine padded to whole vectors)."""
    g, hid = layer.gate, layer.hidden
    dtype, units = ("float64", -(-hid // quad_kernels.LANES) * quad_kernels.LANES) if simd else ("int64", hid)
    return [_pad(g.mult_x, rows, dtype), _pad(g.mult_h, rows, dtype), _pad(g.bias, rows, dtype),
            _pad(np.asarray(layer.cell.mult), units, dtype), _pad(np.asarray(layer.cell.bias), units, dtype),
            relax.const(np.asarray(model.sigmoid.values, np.int64), "int64"),
            relax.const(np.asarray(model.tanh.values, np.int64), "int64")]


def _head(model: IntegerModel, h_last: relax.Expr) -> relax.Expr:
    result = relax.op.astype(h_last, "int64")
    if model.head is None:
        return result
    wd = relax.const(np.ascontiguousarray(model.head.weights.T.astype(np.int64)), "int64")
    return relax.op.add(relax.op.matmul(result, wd), relax.const(model.head.bias.astype(np.int64), "int64"))
