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
from typing import Optional

import numpy as np
import tvm
from tvm import relax

from hwgen.model.integer_model import IntegerModel
from hwgen.tvm_backend import integer_kernels, packing, quad_kernels
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.lower import LSTMKernel

INPUT_NAME = "x_int"


@dataclass(frozen=True, eq=False)
class LoweredInteger:
    module: tvm.IRModule
    model: IntegerModel
    batch: int
    steps: int
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
    from hwgen.tvm_backend.build import llvm_target

    eight = model.hidden_format.bits <= 8 and all(layer.input_format.bits <= 8 for layer in model.layers)
    return (model.weights_kind in ("ternary", "binary") and eight and quad_kernels.exact_in_float64(model)
            and quad_kernels.available(llvm_target(cpu)))


def lower_integer(model: IntegerModel, batch: int, steps: int, cpu: str = "host", simd: Optional[bool] = None) -> LoweredInteger:
    """Relax module main(x_int[N, T, X] int32) -> int64 outputs of `model.run` for fixed N, T.
    `simd`: use the AVX2 kernels (None: whenever `simd_fits`)."""
    fits = simd_fits(model, cpu)
    if simd and not fits:
        raise TVMUnsupportedError(f"integer model {model.name!r}: the AVX2 int8 kernels need ternary/binary weights, "
                                  f"8-bit activations integer intermediates below 2**53 and an AVX2 CPU (weights {model.weights_kind}, hidden "
                                  f"{model.hidden_format.bits} bits, --cpu {cpu})")
    simd = fits if simd is None else simd
    if model.output_steps != "last":
        raise TVMUnsupportedError(f"integer model {model.name!r} outputs every step (a character-level LM); the TVM "
                                  "int8-activation variant computes the last step's outputs only; use "
                                  "--tvm-activations float (the float kernels run the whole ONNX graph)")
    if model.accumulator_bits() > 31:
        raise TVMUnsupportedError(f"integer model {model.name!r}: accumulators need {model.accumulator_bits()} bits; "
                                  "the TVM integer kernels accumulate in int32")
    kind = model.weights_kind
    bb = relax.BlockBuilder()
    x = relax.Var(INPUT_NAME, relax.TensorType((batch, steps, model.input_size), "int32"))
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
                    proj_func = quad_kernels.projection(wq, steps * batch)
                    rec_func = quad_kernels.recurrence(model, layer, steps, batch, rq)
                else:
                    wp, rp = _panels(layer.w_codes, kind), _panels(layer.r_codes, kind)
                    wdata, rdata, nbytes = wp.data, rp.data, wp.nbytes + rp.nbytes
                    proj_func = integer_kernels.int_projection(rows, size, steps * batch, kind)
                    rec_func = integer_kernels.int_recurrence(model, layer, steps, batch, rows, kind)
                proj = bb.add_func(proj_func.with_attr("global_symbol", f"int_projection_{i}"), f"int_projection_{i}")
                flat = bb.emit(relax.op.reshape(seq, (steps * batch, size)))
                accx = bb.emit(relax.call_tir(proj, [flat, relax.const(wdata)], relax.TensorType((steps * batch, rows), "int32")))
                accx = bb.emit(relax.op.reshape(accx, (steps, batch, rows)))
                rec = bb.add_func(rec_func.with_attr("global_symbol", f"int_recurrence_{i}"), f"int_recurrence_{i}")
                g = layer.gate
                # the AVX2 step holds the integers exactly in float64 lanes (cell affine padded to whole vectors)
                dtype, units = ("float64", -(-hid // quad_kernels.LANES) * quad_kernels.LANES) if simd else ("int64", hid)
                args = [accx, relax.const(rdata), _pad(g.mult_x, rows, dtype), _pad(g.mult_h, rows, dtype), _pad(g.bias, rows, dtype),
                        _pad(np.asarray(layer.cell.mult), units, dtype), _pad(np.asarray(layer.cell.bias), units, dtype),
                        relax.const(np.asarray(model.sigmoid.values, np.int64), "int64"), relax.const(np.asarray(model.tanh.values, np.int64), "int64")]
                out = bb.emit(relax.call_tir(rec, args, [relax.TensorType((steps, batch, hid), "int32"),
                                                         relax.TensorType((batch, hid), "int32")]))
                seq = bb.emit(relax.TupleGetItem(out, 0))
                h_last = bb.emit(relax.TupleGetItem(out, 1))
                kernels.append(LSTMKernel(f"layer{i}", "forward", steps, batch, size, hid, kind, kind, nbytes))
            assert h_last is not None
            result = relax.op.astype(h_last, "int64")
            if model.head is not None:
                wd = relax.const(np.ascontiguousarray(model.head.weights.T.astype(np.int64)), "int64")
                result = relax.op.add(relax.op.matmul(result, wd), relax.const(model.head.bias.astype(np.int64), "int64"))
            output = bb.emit_output(result)
        bb.emit_func_output(output)
    return LoweredInteger(bb.get(), model, batch, steps, tuple(kernels), "avx2" if simd else "portable")
