"""Verilator: the dense head beside the next step (`hwgen.hw.head_unit`) for an every-step model whose logits
outlast a step (24 outputs × 4 chunks and the wait for the last h write > the 96-cycle step: every step's end
HOLDs for the head), bit-exact against the integer model with cycles == expected_cycles."""

from __future__ import annotations

import numpy as np

from hwgen.frontend import load_graph
from hwgen.hw.synthetic import write_onnx
from hwgen.rtl.api import build
from hwgen.rtl.options import AccelOptions
from hwgen.sim.artifact_model import design_from_artifact
from hwgen.sim.design import as_sequences
from hwgen.sim.verify import verify


def test_head_longer_than_a_step_is_bit_exact_and_takes_expected_cycles_in_verilator(tmp_path):
    path = write_onnx(tmp_path / "m.onnx", 4, 2, steps=4, classes=24, head="every_step_matmul", seed=3)
    out = tmp_path / "rtl"
    art = build(load_graph(path), out, AccelOptions(lanes=1, weight_memory="registers", test_vectors=3))
    sched = art.config.schedule()
    assert sched.head is not None and sched.head.period > sched.issue_cycles + sched.gaps[0]  # head-bound
    design, model = design_from_artifact(out)
    sequences = as_sequences(np.load(out / "vectors" / "inputs.npy"), design.step_elements)
    result = verify(design, sequences, model=model, isolate=True)
    assert result.passed, result.mismatch and result.mismatch.describe()
    assert result.cycles_match
