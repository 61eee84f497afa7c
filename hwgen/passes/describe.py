"""Readable summaries of the lowering's intermediate results (for --dump-ir and reports)."""

from __future__ import annotations

import numpy as np

from hwgen.model.gru import GRUFloatLayer, GRUStack, IntegerGRUModel
from hwgen.model.integer_model import IntegerModel
from hwgen.model.lstm_stack import LSTMStack


def describe_stack(stack: LSTMStack | GRUStack) -> str:
    lines = [f"{'gru' if isinstance(stack, GRUStack) else 'lstm'}_stack {stack.name}: input {stack.input_name!r} ({'batch' if stack.batch_first else 'seq'}-first), "
             f"output {stack.output_name!r}{' (softmax dropped: argmax unchanged)' if stack.final_softmax else ''}"]
    for i, layer in enumerate(stack.layers):
        zeros = float(np.mean(layer.w_codes == 0)), float(np.mean(layer.r_codes == 0))
        kept = (f"linear_before_reset {int(layer.linear_before_reset)}" if isinstance(layer, GRUFloatLayer) else
                f"cell affine {'yes' if np.any(layer.cell_scale != 1) or np.any(layer.cell_shift) else 'identity'}")
        lines.append(f"  layer {i}: {'GRU' if isinstance(layer, GRUFloatLayer) else 'LSTM'} {layer.input_size} -> "
                     f"{layer.hidden}, {layer.kind} weights "
                     f"(zeros W {zeros[0]:.0%}, R {zeros[1]:.0%}), W scale [{layer.w_scale.min():.4g}, {layer.w_scale.max():.4g}], "
                     f"R scale [{layer.r_scale.min():.4g}, {layer.r_scale.max():.4g}], {kept}")
    if stack.head is not None:
        lines.append(f"  head: dense {stack.head.weight.shape[1]} -> {stack.head.weight.shape[0]}")
    lines.append("  output: every step ([" + ("batch, T" if stack.output_batch_first else "T, batch") + ", K])"
                 if stack.every_step else "  output: last step")
    return "\n".join(lines) + "\n"


def describe_model(model: IntegerModel | IntegerGRUModel) -> str:
    gru = isinstance(model, IntegerGRUModel)
    lines = [f"integer_{'gru' if gru else 'model'} {model.name}: {model.weights_kind} weights, output {model.output} [{model.output_size}] "
             f"{'after every step' if model.output_steps == 'every_step' else 'after the last step'} "
             f"({model.output_bits} bits, scale {model.output_scale:.6g})",
             f"  formats: input {model.input_format}, hidden {model.hidden_format}, gate {model.gate_format}"
             + ("" if gru else f", cell {model.cell_format}"),
             f"  tables: sigmoid/tanh {len(model.sigmoid.values)} entries, index = gate >> {model.sigmoid.index_shift}, "
             f"one sample per {1 << model.sigmoid.sample_shift}/{1 << model.tanh.sample_shift} entries",
             f"  widths: accumulator {model.accumulator_bits()} bits, affine sum {model.affine_bits()} bits, "
             f"multiplier {model.multiplier_bits()} bits",
             f"  {model.saturation()}"]
    for i, layer in enumerate(model.layers):
        bx, bh = layer.acc_bounds(model.hidden_format)
        lines.append(f"  layer {i}: |acc_x| <= {bx}, |acc_h| <= {bh}, gate shift {layer.gate.shift}, "
                     + (f"reset bias max |{int(abs(layer.reset_bias).max(initial=0))}|" if gru else f"cell shift {layer.cell.shift}")
                     + f", input {layer.input_format}")
    lines += [f"  note: {n}" for n in model.notes]
    return "\n".join(lines) + "\n"
