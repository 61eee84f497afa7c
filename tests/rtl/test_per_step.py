"""Per-step outputs (a character-level language model) through build --target rtl, Verilator and amaranth.sim.

The RTL test uses a synthetic ternary model in the form torch exports `nn.LSTM` + `nn.Linear`
(every step of Y → Squeeze → MatMul + Add); the integer-model test uses hwgen.quant's own
char-LM export (BNLSTM function, Transpose, MatMul + Add on every step) of an untrained,
perturbed model, so no training is needed for the format.
"""

import json

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.frontend import load_graph
from hwgen.hw.amaranth_sim import simulate
from hwgen.hw.config import AccelConfig
from hwgen.hw.synthetic import write_onnx
from hwgen.passes.lower_fixed_point import lower_fixed_point
from hwgen.passes.match_lstm_stack import match_lstm_stack
from hwgen.reference import run
from hwgen.rtl.artifact import load
from tests.rtl.exported import export_perturbed


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("perstep")
    onnx_path = write_onnx(root / "lm.onnx", hidden=4, input_size=4, steps=3, classes=3, seed=4, head="every_step_matmul")
    out = root / "out"
    assert main(["build", str(onnx_path), "--target", "rtl", "-o", str(out), "--lanes", "2", "--test-vectors", "3"]) == 0
    return out


def test_manifest_and_vectors_carry_the_every_step_mode(built):
    art = load(built)
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["output"]["steps"] == "every_step" and manifest["config"]["output_steps"] == "every_step"
    assert art.config.output_steps == art.model.output_steps == "every_step"
    assert art.expected().shape == (3, 3, 3)  # [N, T, K]
    np.testing.assert_array_equal(art.model.run(art.inputs()), art.expected())
    assert manifest["cycles"]["per_sequence"] == art.config.expected_cycles(3)


def test_verilator_compares_every_output_and_counts_cycles(built, capsys):
    """`hwgen sim`: the C++ harness checks all T·K outputs of each sequence, each isolated run takes
    exactly expected_cycles(T); a mismatch is located by step and output element."""
    assert main(["sim", str(built), "--isolate"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "bit-exact" in text and "yes, every sequence (isolated)" in text
    from hwgen.sim.artifact_model import design_from_artifact
    from hwgen.sim.design import as_sequences
    from hwgen.sim.verify import verify

    design, model = design_from_artifact(built)
    assert design.output_steps == "every_step" and design.outputs_per_step == 3
    assert design.locate(7, 3) == (2, 1)  # stream element 7 = step 2, logit 1
    sequences = as_sequences(np.load(built / "vectors" / "inputs.npy"), design.step_elements)
    result = verify(design, sequences, model=model)
    assert result.passed and result.outputs_checked == 3 * 3 * 3
    np.testing.assert_array_equal(np.stack(result.run.outputs).reshape(3, 3, 3), np.load(built / "vectors" / "expected.npy"))


def test_exported_char_lm_lowers_to_every_step_logits_and_runs_bit_exact(tmp_path):
    vocab = 6
    path = export_perturbed(tmp_path / "lm.onnx", "charlm", vocab, hidden=8, layers=1, outputs=vocab)
    graph = load_graph(path)
    stack = match_lstm_stack(graph)
    assert stack.every_step and stack.output_batch_first and stack.batch_first
    x = np.eye(vocab, dtype=np.float32)[np.random.default_rng(0).integers(0, vocab, (16, 12))]
    imodel = lower_fixed_point(graph, calibration=x)
    want = run(graph, {"x": x})["logits"]
    got = imodel.run_real(x)
    assert got.shape == want.shape == (16, 12, vocab)
    assert np.abs(got - want).max() <= 0.05 * np.abs(want).max()
    config = AccelConfig.for_model(imodel, lanes=2)
    seq = imodel.quantize_input(x[0, :3])
    result = simulate(config, [seq])
    np.testing.assert_array_equal(result.outputs[0], imodel.run(seq))
    assert result.cycles[0] == config.expected_cycles(3)


def test_gemm_per_step_form_is_matched_and_a_step_picked_by_slice_is_not_every_step(tmp_path):
    graph = load_graph(write_onnx(tmp_path / "g.onnx", hidden=4, input_size=4, steps=5, classes=3, head="every_step_gemm"))
    stack = match_lstm_stack(graph)
    assert stack.every_step
    x = np.random.default_rng(1).uniform(-1, 1, (5, 1, 4)).astype(np.float32)
    np.testing.assert_allclose(stack.run_float(x.transpose(1, 0, 2))[0], run(graph, {"x": x})["y"], atol=1e-4)
    assert not match_lstm_stack(load_graph(write_onnx(tmp_path / "c.onnx", hidden=4, input_size=4, steps=5, classes=3))).every_step


def test_sim_labels_of_a_per_step_model_are_one_per_step(built, tmp_path, capsys):
    """`hwgen sim --labels` scores each step's argmax for a per-step model; per-sequence labels are refused."""
    expected = np.load(built / "vectors" / "expected.npy")  # [N, T, K]
    labels = np.argmax(expected, axis=-1)
    labels[0, 0] = (labels[0, 0] + 1) % expected.shape[-1]  # one wrong step out of N·T
    np.save(tmp_path / "y.npy", labels)
    report = tmp_path / "report.json"
    assert main(["sim", str(built), "--labels", str(tmp_path / "y.npy"), "--report-json", str(report)]) == 0
    figures = json.loads(report.read_text())
    assert figures["accuracy"] == figures["reference_accuracy"] == pytest.approx(100 * (1 - 1 / labels.size))
    np.save(tmp_path / "y_seq.npy", labels[:, 0])
    assert main(["sim", str(built), "--labels", str(tmp_path / "y_seq.npy")]) == 2
    assert "3 labels for 9 steps (a per-step model: labels [N, T])" in capsys.readouterr().err
