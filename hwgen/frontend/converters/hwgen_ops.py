"""hwgen's own ONNX ops → IR.

`hwgen.BNLSTM` is the batch-normalised LSTM layer that `hwgen export` writes as a
model-local function (see hwgen/quant/onnx_function.py): the inputs of ONNX LSTM plus
`cell_scale`, `cell_shift`, with h = o * tanh(cell_scale * c + cell_shift). That is
exactly the IR LSTM with its cell affine, so the node maps one to one; W and R arrive
as Dequantize outputs of Binary/Ternary codes through the QCDQ converter.
"""

from __future__ import annotations

import onnx

from hwgen.frontend.context import ConversionError, ConvertContext, describe, input_name
from hwgen.frontend.registry import HWGEN_DOMAIN, converter
from hwgen.ir import ops

_NAMES = ("X", "W", "R", "B", "initial_h", "initial_c", "cell_scale", "cell_shift")


@converter("BNLSTM", since=1, domains=(HWGEN_DOMAIN,))
def bnlstm(ctx: ConvertContext, node: onnx.NodeProto) -> None:
    where = f"{ctx.path}: {describe(node)}"
    inputs = [input_name(node, k) for k in range(len(_NAMES))]
    missing = [_NAMES[k] for k in (0, 1, 2, 6, 7) if not inputs[k]]
    if missing:
        raise ConversionError(f"{where}: missing input(s) {', '.join(missing)}; BNLSTM takes {', '.join(_NAMES)}")
    if inputs[4] or inputs[5]:
        raise ConversionError(f"{where}: initial_h/initial_c are not supported on BNLSTM "
                              "(hwgen's export starts every sequence from a zero state; leave them empty)")
    if len(node.input) > len(_NAMES) or len(node.output) > 3:
        raise ConversionError(f"{where}: BNLSTM takes {len(_NAMES)} inputs and gives Y, Y_h, Y_c; "
                              f"got {len(node.input)} inputs, {len(node.output)} outputs")
    r = ctx.type(inputs[2])
    if r.rank != 3 or not isinstance(r.shape[2], int):
        raise ConversionError(f"{where}: R must be [1, 4H, H] with a static H, got {r}")
    outs = [node.output[i] if i < len(node.output) else "" for i in range(3)]
    ctx.emit(ops.LSTMAttrs(hidden=int(r.shape[2])), inputs, outs, node.name, node)
