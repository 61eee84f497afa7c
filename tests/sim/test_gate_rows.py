"""Verilator: four gate rows a weight word (`AccelConfig.gate_rows=4`, the UP5K board default) and two (i, f then
g, o), bit-exact against the integer model with cycles == expected_cycles, for a last-step classifier with its weights in SPRAM (uploaded
through the weight port) and a two-layer every-step model with an input that lanes do not divide, whose dense
head outlasts a step (the controller HOLDs for it)."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.frontend import load_graph
from hwgen.hw.synthetic import write_onnx
from hwgen.rtl.api import build
from hwgen.rtl.options import AccelOptions
from hwgen.sim.artifact_model import design_from_artifact
from hwgen.sim.design import as_sequences
from hwgen.sim.verify import verify


@pytest.mark.parametrize("rows, hidden, inputs, layers, head, memory, classes", [
    (4, 16, 16, 1, "last", "spram", 5),
    # 48 logits × 8 / 2 head cycles outlast the two-layer step: the dense head beside the next step HOLDs each step
    (4, 8, 13, 2, "every_step_matmul", "ebr", 48),
    # two rows a word (i, f then g, o) at its shortest unit: 2 + 2 chunks a row, 8 cycles a unit (the head HOLDs)
    (2, 4, 4, 1, "every_step_matmul", "ebr", 40),
    (2, 8, 5, 2, "last", "spram", 3),
])
def test_gate_rows_are_bit_exact_and_take_expected_cycles_in_verilator(tmp_path, rows, hidden, inputs, layers, head,
                                                                       memory, classes):
    path = write_onnx(tmp_path / "m.onnx", hidden, inputs, steps=3, layers=layers, classes=classes, head=head,
                      seed=hidden)
    out = tmp_path / "rtl"
    art = build(load_graph(path), out, AccelOptions(lanes=2, gate_rows=rows, weight_memory=memory, test_vectors=3))
    assert art.config.gate_rows == rows and art.config.word_bits == rows * 2 * 2
    sched = art.config.schedule()
    assert (sched.head.period > sched.issue_cycles + sched.gaps[0]) == (head != "last")
    design, model = design_from_artifact(out)
    sequences = as_sequences(np.load(out / "vectors" / "inputs.npy"), design.step_elements)
    result = verify(design, sequences, model=model, isolate=True)
    assert result.passed, result.mismatch and result.mismatch.describe()
    assert result.cycles_match
