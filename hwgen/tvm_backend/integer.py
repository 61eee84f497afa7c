"""The int8-activation variant: an `IntegerModel` (the RTL path's fixed-point spec) -> Relax.

Input: integer codes x[N, T, X] (int32, in the model's input format; `quantize_input` makes
them). Output: what `IntegerModel.run` returns, int64 [N, K] logits (or [N, H] last hidden
codes), bit for bit. Each layer is the packed integer projection of all steps, then the
integer recurrence (`integer_kernels`); the dense head is an int64 Relax matmul.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tvm
from tvm import relax

from hwgen.passes.integer_model import IntegerModel
from hwgen.tvm_backend import integer_kernels, packing
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


def _pad(values: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros(rows, np.int64)
    out[: values.shape[0]] = values
    return out


def lower_integer(model: IntegerModel, batch: int, steps: int) -> LoweredInteger:
    """Relax module main(x_int[N, T, X] int32) -> int64 outputs of `model.run` for fixed N, T."""
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
                wp, rp = _panels(layer.w_codes, kind), _panels(layer.r_codes, kind)
                proj = bb.add_func(integer_kernels.int_projection(rows, size, steps * batch, kind)
                                   .with_attr("global_symbol", f"int_projection_{i}"), f"int_projection_{i}")
                flat = bb.emit(relax.op.reshape(seq, (steps * batch, size)))
                accx = bb.emit(relax.call_tir(proj, [flat, relax.const(wp.data)], relax.TensorType((steps * batch, rows), "int32")))
                accx = bb.emit(relax.op.reshape(accx, (steps, batch, rows)))
                rec = bb.add_func(integer_kernels.int_recurrence(model, layer, steps, batch, rows, kind)
                                  .with_attr("global_symbol", f"int_recurrence_{i}"), f"int_recurrence_{i}")
                g = layer.gate
                args = [accx, relax.const(rp.data), relax.const(_pad(g.mult_x, rows), "int64"), relax.const(_pad(g.mult_h, rows), "int64"),
                        relax.const(_pad(g.bias, rows), "int64"), relax.const(np.asarray(layer.cell.mult, np.int64), "int64"),
                        relax.const(np.asarray(layer.cell.bias, np.int64), "int64"),
                        relax.const(np.asarray(model.sigmoid.values, np.int64), "int64"), relax.const(np.asarray(model.tanh.values, np.int64), "int64")]
                out = bb.emit(relax.call_tir(rec, args, [relax.TensorType((steps, batch, hid), "int32"),
                                                         relax.TensorType((batch, hid), "int32")]))
                seq = bb.emit(relax.TupleGetItem(out, 0))
                h_last = bb.emit(relax.TupleGetItem(out, 1))
                kernels.append(LSTMKernel(f"layer{i}", "forward", steps, batch, size, hid, kind, kind, wp.nbytes + rp.nbytes))
            assert h_last is not None
            result = relax.op.astype(h_last, "int64")
            if model.head is not None:
                wd = relax.const(np.ascontiguousarray(model.head.weights.T.astype(np.int64)), "int64")
                result = relax.op.add(relax.op.matmul(result, wd), relax.const(model.head.bias.astype(np.int64), "int64"))
            output = bb.emit_output(result)
        bb.emit_func_output(output)
    return LoweredInteger(bb.get(), model, batch, steps, tuple(kernels))
