"""The surprisal gate's integer spec: decisions, held state, outputs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwgen.errors import HwgenError
from hwgen.model.surprisal_gate import SurprisalGatedPair
from hwgen.quant.model import ModelConfig, QuantLSTMModel
from hwgen.quant.surprisal_gating import (GatePoint, candidate_thresholds, choose_threshold, integer_charlm,
                                          integer_pair, measure, sweep, windows)

VOCAB = 11


def _charlm(hidden: int, seed: int, weights: str = "ternary", vocab: int = VOCAB) -> QuantLSTMModel:
    torch.manual_seed(seed)
    return QuantLSTMModel(ModelConfig("charlm", vocab, hidden, 1, vocab, weights, True)).eval()


@pytest.fixture(scope="module")
def pair() -> SurprisalGatedPair:
    return integer_pair(_charlm(12, 0), _charlm(24, 1, "binary"), threshold=0)


@pytest.fixture(scope="module")
def text() -> np.ndarray:
    return np.random.default_rng(3).integers(0, VOCAB, (5, 17))


def _onehot(model, ids):
    return model.quantize_input(np.eye(model.input_size)[ids])


def test_always_big_runs_both_models_unchanged(pair, text):
    run = pair.run(text, always_big=True)
    assert run.big_ran.all() and run.big_fraction == 1.0
    assert np.array_equal(run.small, pair.small.run(_onehot(pair.small, text)))
    assert np.array_equal(run.big, pair.big.run(_onehot(pair.big, text)))


def _loop_reference(pair: SurprisalGatedPair, ids: np.ndarray):
    """One sequence, one step at a time, with a plain `if` (the hardware's view of the rule)."""
    small_state, big_state = pair.small.initial_state(1), pair.big.initial_state(1)
    prev, decisions, used = None, [], []
    big_logits = None
    for t, c in enumerate(ids):
        x = _onehot(pair.small, np.array([[c]]))[:, 0]
        go = t == 0 or int(prev.max() - prev[c]) > pair.threshold
        small_state = pair.small.step_state(small_state, x)
        prev = pair.small.head_output(small_state[-1][0])[0]
        if go:
            big_state = pair.big.step_state(big_state, x)
            big_logits = pair.big.head_output(big_state[-1][0])[0]
        decisions.append(go)
        used.append(big_logits * pair.big.output_scale if go else prev * pair.small.output_scale)
    return np.array(decisions), np.array(used)


@pytest.mark.parametrize("quantile", [0.2, 0.5, 0.8])
def test_gate_matches_a_step_by_step_loop(pair, text, quantile):
    margins = pair.run(text, always_big=True).margins[:, 1:]
    gated = pair.with_threshold(int(np.quantile(margins, quantile)))
    run = gated.run(text)
    assert 0 < run.big_fraction < 1
    for n, ids in enumerate(text):
        decisions, used = _loop_reference(gated, ids)
        assert np.array_equal(run.big_ran[n], decisions)
        assert np.array_equal(run.real_outputs()[n], used)


def test_a_skipped_character_never_enters_the_big_model(pair, text):
    """The big model's state holds over skipped steps: where it ran, its logits equal a plain run of the big
    model over only the characters it saw."""
    margins = pair.run(text, always_big=True).margins[:, 1:]
    run = pair.with_threshold(int(np.median(margins))).run(text)
    for n, ids in enumerate(text):
        seen = ids[run.big_ran[n]]
        alone = pair.big.run(_onehot(pair.big, seen))
        assert np.array_equal(run.big[n][run.big_ran[n]], alone)


def test_huge_threshold_runs_the_big_model_once(pair, text):
    run = pair.with_threshold(1 << 40).run(text)
    assert run.big_ran[:, 0].all() and not run.big_ran[:, 1:].any()
    assert (run.big == run.big[:, :1]).all()


def test_threshold_choice_on_the_trade_off(pair, text):
    win = windows(text.reshape(-1), 8, limit=100)
    base = measure(pair, win, always_big=True)
    points = sweep(pair, win, candidate_thresholds(pair, win))
    assert len({p.big_fraction for p in points}) > 2
    chosen = choose_threshold(points, base.bpc, tolerance=0.05)
    assert all(p.big_fraction >= chosen.big_fraction for p in points if p.bpc <= base.bpc + 0.05)
    made_up = [GatePoint(1, 0.3, 2.5), GatePoint(2, 0.2, 2.62), GatePoint(3, 0.5, 2.49)]
    assert choose_threshold(made_up, 2.5, 0.01).threshold == 1
    assert choose_threshold(made_up, 2.0, 0.01).threshold == 3  # none within: the most accurate


def test_bad_input_is_refused(pair):
    with pytest.raises(HwgenError, match=r"ids must lie in \[0, 11\)"):
        pair.run(np.array([[0, 11]]))
    with pytest.raises(HwgenError, match="threshold must be >= 0"):
        pair.with_threshold(-3)
    with pytest.raises(HwgenError, match="vocabularies differ"):
        SurprisalGatedPair(pair.small, integer_charlm(_charlm(8, 2, vocab=VOCAB + 1)), 0)
    torch.manual_seed(0)
    digits = integer_charlm(QuantLSTMModel(ModelConfig("digits", VOCAB, 8, 1, VOCAB, "ternary", True)).eval())
    with pytest.raises(HwgenError, match="must be a char-LM"):
        SurprisalGatedPair(pair.small, digits, 0)
    with pytest.raises(HwgenError, match="fewer than one window"):
        windows(np.arange(5), 8, limit=3)


def test_a_pair_trains_on_one_corpus_and_gates(tmp_path):
    from hwgen.quant.surprisal_gating import train_pair
    from hwgen.quant.train import TrainConfig

    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 200)
    common = dict(task="charlm", weights="ternary", epochs=1, seq_len=20, batch_size=8, steps_per_epoch=3,
                  corpus=(str(text),), progress=False)
    small, big = train_pair(TrainConfig(hidden=8, **common), TrainConfig(hidden=16, **common), tmp_path / "pair",
                            gate_aware=False)
    assert (tmp_path / "pair" / "small" / "metrics.json").exists() and (tmp_path / "pair" / "big" / "metrics.json").exists()
    gated = integer_pair(small.model, big.model)
    ids = np.frombuffer(b"the lazy dog jumps", np.uint8)
    vocab = bytes(sorted(set(text.read_bytes())))
    run = gated.run(np.searchsorted(np.frombuffer(vocab, np.uint8), ids))
    assert run.small.shape == (1, len(ids), len(vocab))
    with pytest.raises(HwgenError, match="same corpus"):
        train_pair(TrainConfig(hidden=8, **common), TrainConfig(hidden=16, **{**common, "seq_len": 30}), tmp_path / "x")


def test_an_exported_pair_carries_the_gate(tmp_path):
    from hwgen.frontend.importer import import_onnx, load_onnx
    from hwgen.passes.pipeline import lower_for_accelerator
    from hwgen.quant.surprisal_gating import export_pair, read_gate

    small, big = _charlm(8, 0), _charlm(16, 1)
    pair = integer_pair(small, big, threshold=1234)
    s_path, b_path = export_pair(small, big, pair, tmp_path)
    gate = read_gate(b_path)
    assert gate["hwgen.gate.role"] == "big" and read_gate(s_path)["hwgen.gate.role"] == "small"
    assert int(gate["hwgen.gate.threshold_codes"]) == 1234
    assert float(gate["hwgen.gate.threshold_logit"]) == pytest.approx(1234 * pair.small.output_scale)
    # each file stays a plain char-LM: it imports and lowers to the same integer model as before export
    graph = import_onnx(load_onnx(s_path), path=str(s_path))
    again = lower_for_accelerator(graph, np.eye(VOCAB))
    assert np.array_equal(again.head.weights, pair.small.head.weights)
    assert all(np.array_equal(a.w_codes, b.w_codes) and np.array_equal(a.r_codes, b.r_codes)
               for a, b in zip(again.layers, pair.small.layers))
    plain = tmp_path / "plain.onnx"
    import onnx
    onnx.save(onnx.load(s_path), plain)
    proto = onnx.load(plain)
    del proto.metadata_props[:]
    onnx.save(proto, plain)
    with pytest.raises(HwgenError, match="not one of a surprisal-gated pair"):
        read_gate(plain)


def test_a_gate_aware_pair_trains_lowers_and_gates(tmp_path):
    """Gate-aware training (train_pair's default): the big model's metrics record the mask; the pair lowers
    and its integer gate still matches the step-by-step loop."""
    import json

    from hwgen.quant.surprisal_gating import train_pair
    from hwgen.quant.train import TrainConfig

    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 200)
    common = dict(task="charlm", weights="ternary", epochs=1, seq_len=20, batch_size=8, steps_per_epoch=3,
                  corpus=(str(text),), progress=False)
    small, big = train_pair(TrainConfig(hidden=8, **common), TrainConfig(hidden=16, **common), tmp_path / "pair",
                            skip_range=(0.2, 0.6))
    metrics = json.loads((tmp_path / "pair" / "big" / "metrics.json").read_text())
    assert metrics["step_mask"]["skip_range"] == [0.2, 0.6] and 0 < metrics["step_mask_run_fraction"] < 1
    assert "step_mask" not in json.loads((tmp_path / "pair" / "small" / "metrics.json").read_text())
    vocab = np.frombuffer(bytes(sorted(set(text.read_bytes()))), np.uint8)
    ids = np.searchsorted(vocab, np.frombuffer(b"the lazy dog jumps over", np.uint8))
    pair = integer_pair(small.model, big.model)
    margins = pair.run(ids, always_big=True).margins[0, 1:]
    gated = pair.with_threshold(int(np.median(margins)))
    run = gated.run(ids)
    decisions, used = _loop_reference(gated, ids)
    assert np.array_equal(run.big_ran[0], decisions) and np.array_equal(run.real_outputs()[0], used)
