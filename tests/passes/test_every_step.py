"""Per-step outputs (a char-LM's logits every step): matched, lowered, run, saved; other forms refused by name."""

import numpy as np
import pytest

from hwgen.errors import UnsupportedError
from hwgen.model.integer_model import IntegerModel
from hwgen.passes.lower_fixed_point import lower_fixed_point
from hwgen.passes.match_lstm_stack import match_lstm_stack
from hwgen.reference import run
from hwgen.hw.synthetic import random_stack
from tests.passes.graphs import graph_of


@pytest.mark.parametrize("layout", ["seq_first", "batch_first"])
def test_every_step_head_is_matched_in_either_output_layout(layout):
    stack = random_stack(8, 4, 2, 5, cell_bn=True, seed=7)
    graph = graph_of(stack, steps=4, every_step=layout, batch=2)
    matched = match_lstm_stack(graph)
    assert matched.every_step and matched.output_batch_first == (layout == "batch_first")
    assert len(matched.layers) == 2 and matched.head is not None


def test_integer_model_gives_logits_every_step_tracking_the_graph(tmp_path):
    stack = random_stack(8, 4, 1, 5, cell_bn=True, seed=8)
    graph = graph_of(stack, steps=6, every_step="seq_first", batch=3)
    x = np.random.default_rng(2).uniform(-1, 1, (6, 3, 4)).astype(np.float32)
    model = lower_fixed_point(graph, calibration=x)
    assert model.output_steps == "every_step"
    want = run(graph, {"x": x})["y"].transpose(1, 0, 2)  # [batch, T, K]
    codes = model.run(model.quantize_input(x.transpose(1, 0, 2)))
    assert codes.shape == (3, 6, 5)
    got = model.dequantize_output(codes)
    assert np.abs(got - want).max() < 0.1 * np.abs(want).max()  # 8-bit h, 1/64 input steps
    # the last step of the every-step model is the last-step model's output, bit for bit
    last = lower_fixed_point(graph_of(stack, steps=6), calibration=x)
    q = model.quantize_input(x.transpose(1, 0, 2))
    np.testing.assert_array_equal(codes[:, -1], last.run(q))
    model.save(tmp_path / "m.npz")
    back = IntegerModel.load(tmp_path / "m.npz")
    assert back.output_steps == "every_step"
    np.testing.assert_array_equal(back.run(q), codes)


def test_a_step_picked_after_the_per_step_head_is_refused_naming_the_lstm():
    graph = graph_of(random_stack(4, 4, 1, 3, seed=9), steps=3, every_step="gather_after_head", batch=2)
    with pytest.raises(UnsupportedError, match=r"is not every step of LSTM 'lstm0'.s Y into the dense layer"):
        match_lstm_stack(graph)


@pytest.mark.slow
def test_trained_char_lm_integer_bpc_within_0_02_of_float(tmp_path):
    """Issue 4's char-LM target on a small trained ternary model (a few minutes single-threaded)."""

    from hwgen.frontend import load_graph
    from hwgen.quant.evaluate import bpc_of_logits, lm_windows
    from hwgen.quant.export import export_run
    from hwgen.quant.train import TrainConfig, load_task_data, train

    config = TrainConfig(task="charlm", weights="ternary", hidden=64, seq_len=50, batch_size=32, epochs=2,
                         steps_per_epoch=150, corpus_bytes=200_000, fold_epochs=1, progress=False)
    train(config, tmp_path / "run")
    path = export_run(tmp_path / "run", tmp_path / "lm.onnx", evaluate_metric=False).path
    graph = load_graph(path)
    data = load_task_data(config)
    ids, targets = (t.numpy() for t in lm_windows(data.test, config.seq_len))
    x = np.eye(data.vocab_size, dtype=np.float32)[ids]

    model = lower_fixed_point(graph, calibration=x[:8])
    float_bpc = bpc_of_logits(run(graph, {"x": x})["logits"], targets)
    int_bpc = bpc_of_logits(model.run_real(x), targets)
    assert int_bpc <= float_bpc + 0.02, (int_bpc, float_bpc)
