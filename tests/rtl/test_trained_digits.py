"""End to end with a trained model: hwgen.quant (BN-LSTM, ternary) → ONNX → build --target rtl → amaranth.sim.

The fast test exports an untrained (perturbed) model in the trained models' format; the slow one
trains the default digits model and checks the integer accuracy against the float (within 0.5 points).
"""

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.frontend import load_graph
from hwgen.hw.amaranth_sim import simulate
from hwgen.quant.data import digits_dataset
from hwgen.reference import run
from hwgen.rtl.artifact import load
from tests.rtl.exported import export_perturbed


def _build(tmp_path, hidden, epochs, lanes):
    from hwgen.quant.pipeline import train_and_export_digits

    onnx_path = train_and_export_digits(tmp_path / "train", weights="ternary", hidden=hidden, epochs=epochs)
    data = digits_dataset(0)
    np.save(tmp_path / "calib.npy", data.x_train)
    out = tmp_path / "rtl"
    assert main(["build", str(onnx_path), "--target", "rtl", "-o", str(out), "--lanes", str(lanes),
                 "--calibrate", str(tmp_path / "calib.npy"), "--test-vectors", "2"]) == 0
    art = load(out)
    graph = load_graph(onnx_path)
    float_logits = run(graph, {"x": data.x_test})["logits"]
    int_logits = art.model.run(art.model.quantize_input(data.x_test))
    return art, data, float_logits, int_logits


def test_exported_bn_lstm_runs_bit_exact_in_the_accelerator(tmp_path):
    """hwgen.quant's own export (BNLSTM function with cell_scale/shift, Transpose, Squeeze, Gemm), 2 layers,
    perturbed from its initialisation so every BN affine differs per row; no training needed for the format."""
    path = export_perturbed(tmp_path / "bn.onnx", "digits", 8, hidden=8, layers=2, outputs=10)
    data = digits_dataset(0)
    np.save(tmp_path / "calib.npy", data.x_train)
    out = tmp_path / "rtl"
    assert main(["build", str(path), "--target", "rtl", "-o", str(out), "--lanes", "4",
                 "--calibrate", str(tmp_path / "calib.npy"), "--test-vectors", "2"]) == 0
    art = load(out)
    layer = art.model.layers[0]
    assert art.model.weights_kind == "ternary" and art.config.layers == 2 and art.config.outputs == 10
    assert len(set(layer.cell.mult.tolist())) > 1 and len(set(layer.gate.mult_h.tolist())) > 1
    float_logits = run(load_graph(path), {"x": data.x_test[:50]})["logits"]
    int_logits = art.model.run_real(data.x_test[:50])
    assert np.abs(int_logits - float_logits).max() <= 0.1 * np.abs(float_logits).max()
    seq = art.model.quantize_input(data.x_test[0])
    result = simulate(art.config, [seq])
    np.testing.assert_array_equal(result.outputs[0], art.model.run(seq))
    assert result.cycles[0] == art.config.expected_cycles(8)


@pytest.mark.slow
def test_integer_digits_accuracy_within_half_a_point_of_float(tmp_path):
    art, data, float_logits, int_logits = _build(tmp_path, hidden=32, epochs=20, lanes=8)
    acc_float = 100 * np.mean(float_logits.argmax(1) == data.y_test)
    acc_int = 100 * np.mean(int_logits.argmax(1) == data.y_test)
    assert acc_float > 90
    assert abs(acc_float - acc_int) <= 0.5, (acc_float, acc_int)
