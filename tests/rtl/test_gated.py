"""The surprisal-gated pair in hardware: build from an exported pair, Verilator bit-exact against the integer gate.

One tiny pair (5 symbols, small H=4 ternary, big H=8 binary; untrained, perturbed by their seeds) is
exported with its gate, built once (one Verilator build, cached by content) and checked on sequences
chosen from the reference so that every case the gating unit handles occurs: skipped steps inside a
sequence, a sequence whose last step is skipped (the big accelerator is reset) followed by another,
a one-step sequence, and a sequence where the big model runs every step.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.quant.model import ModelConfig, QuantLSTMModel
from hwgen.quant.surprisal_gating import export_pair, integer_pair
from hwgen.rtl.gated import load_gated

VOCAB = 5


def _charlm(hidden: int, seed: int, weights: str, vocab: int = VOCAB) -> QuantLSTMModel:
    torch.manual_seed(seed)
    return QuantLSTMModel(ModelConfig("charlm", vocab, hidden, 1, vocab, weights, True)).eval()


@pytest.fixture(scope="module")
def pair_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("gated")
    small, big = _charlm(4, 0, "ternary"), _charlm(8, 1, "binary")
    pair = integer_pair(small, big)
    margins = pair.run(np.random.default_rng(0).integers(0, VOCAB, (8, 12)), always_big=True).margins[:, 1:]
    threshold = int(np.quantile(margins, 0.4))  # a gate that skips some steps and runs others
    s_path, b_path = export_pair(small, big, pair.with_threshold(threshold), root)
    return root, s_path, b_path, pair.with_threshold(threshold)


@pytest.fixture(scope="module")
def built(pair_files):
    root, s_path, b_path, _ = pair_files
    out = root / "out"
    assert main(["build", str(s_path), "--gated-with", str(b_path), "--target", "rtl", "-o", str(out),
                 "--lanes", "4", "--test-vectors", "2", "--test-steps", "6"]) == 0
    return out


def _cases(pair) -> list[np.ndarray]:
    """Sequences [T, 1] drawn until each case occurs (the reference decides, so the cases are certain)."""
    rng = np.random.default_rng(1)
    found: dict[str, np.ndarray] = {"one step": np.array([3])}
    while len(found) < 4:
        ids = rng.integers(0, VOCAB, int(rng.integers(4, 10)))
        ran = pair.run(ids).big_ran[0]
        if not ran[-1] and ran[1:-1].any():
            found.setdefault("skipped end", ids)
        elif ran.all():
            found.setdefault("all big", ids)
        elif (~ran).sum() >= 2:
            found.setdefault("skips inside", ids)
    order = ("skips inside", "skipped end", "one step", "all big")  # a sequence follows the skipped end
    return [found[k][:, None] for k in order]


def test_the_threshold_and_both_models_come_from_the_pair(built, pair_files):
    _, _, _, pair = pair_files
    art = load_gated(built)
    assert art.config.threshold == pair.threshold
    assert np.array_equal(art.config.small.model.head.weights, pair.small.head.weights)
    assert np.array_equal(art.config.big.model.head.weights, pair.big.head.weights)
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["kind"] == "surprisal_gated" and manifest["output"]["per_step"] == 1 + 2 * VOCAB
    ids = art.inputs()[..., 0]
    run = pair.run(ids)
    assert np.array_equal(np.load(built / "vectors" / "decisions.npy"), run.big_ran)
    assert manifest["cycles"]["per_sequence"] == [art.config.expected_cycles(d) for d in run.big_ran]


def test_the_library_builds_a_pair_with_the_threshold_overridden(pair_files, tmp_path):
    import hwgen

    _, s_path, b_path, pair = pair_files
    art = hwgen.compile(str(s_path), "rtl", tmp_path / "lib", gated_with=str(b_path), gate_threshold=pair.threshold + 7,
                        lanes=4, test_vectors=1, test_steps=3)
    assert art.config.threshold == pair.threshold + 7 and load_gated(tmp_path / "lib").config.threshold == pair.threshold + 7
    assert json.loads((tmp_path / "lib" / "manifest.json").read_text())["gate"]["threshold_from"] == "option"
    assert "threshold" in art.summary() and art.verilog.is_file()


def test_verilator_matches_the_integer_gate_and_its_cycles(built, pair_files, tmp_path, capsys):
    """Every beat bit-exact (decisions, used logits, small logits) and each isolated sequence takes exactly
    expected_cycles(its decisions); the big logits where it ran are the held-state reference's."""
    from hwgen.sim.gated_model import design_from_gated
    from hwgen.sim.verify import verify

    _, _, _, pair = pair_files
    cases = _cases(pair)
    design, model = design_from_gated(built)
    result = verify(design, cases, model=model, isolate=True)
    assert result.passed and result.cycles_match and result.cycles_compared == len(cases)
    config = model.artifact.config
    for seq, got, cycles in zip(cases, result.run.outputs, result.measured_cycles):
        run = pair.run(seq[:, 0])
        beats = got.reshape(len(seq), 1 + 2 * VOCAB)
        assert np.array_equal(beats[:, 0], run.big_ran[0])
        assert np.array_equal(beats[:, 1 + VOCAB:], run.small[0])
        ran = run.big_ran[0]
        assert np.array_equal(beats[ran, 1:1 + VOCAB], run.big[0][ran])
        assert np.array_equal(beats[~ran, 1:1 + VOCAB], run.small[0][~ran])
        assert cycles == config.expected_cycles(ran)
    # back to back, with random back-pressure on both streams: still bit-exact
    from hwgen.sim.cpp import Stalls

    assert verify(design, cases * 2, model=model, stalls=Stalls(300, 300, 7)).passed
    np.save(tmp_path / "ids.npy", np.stack([cases[0][:4], cases[3][:4]]))
    assert main(["sim", str(built), "--input", str(tmp_path / "ids.npy"), "--isolate"]) == 0
    assert "bit-exact" in capsys.readouterr().out


def test_bad_pairs_are_refused(pair_files, tmp_path, capsys):
    _, s_path, b_path, _ = pair_files

    def build(small, big, *extra):
        code = main(["build", str(small), "--gated-with", str(big), "--target", "rtl", "-o", str(tmp_path / "x"), *extra])
        return code, capsys.readouterr().err

    plain = tmp_path / "plain.onnx"
    proto = onnx.load(b_path)
    del proto.metadata_props[:]
    onnx.save(proto, plain)
    code, err = build(s_path, plain)
    assert code == 2 and "not one of a surprisal-gated pair" in err
    code, err = build(b_path, s_path)
    assert code == 2 and "is the big model of its pair, expected the small one" in err
    other = integer_pair(_charlm(4, 0, "ternary", VOCAB + 1), _charlm(8, 1, "binary", VOCAB + 1))
    other_s, other_b = export_pair(_charlm(4, 0, "ternary", VOCAB + 1), _charlm(8, 1, "binary", VOCAB + 1), other,
                                   tmp_path / "other")
    code, err = build(other_s, b_path)
    assert code == 2 and "not one pair" in err
    from hwgen.frontend import load_graph
    from hwgen.rtl.api import build as rtl_build
    from hwgen.rtl.options import AccelOptions, GateOptions

    with pytest.raises(HwgenError, match="vocabularies differ"):  # the library takes a graph: no file check first
        rtl_build(load_graph(s_path), tmp_path / "v", AccelOptions(), GateOptions(other_b))
    code, err = build(s_path, b_path, "--weight-memory", "spram")
    assert code == 2 and "SPRAM" in err
    code = main(["build", str(s_path), "--gate-threshold", "3", "--target", "rtl", "-o", str(tmp_path / "y")])
    assert code == 2 and "gate_threshold needs gated_with" in capsys.readouterr().err
    code = main(["build", str(s_path), "--gated-with", str(b_path), "--target", "tvm", "-o", str(tmp_path / "z")])
    assert code == 2 and "--gated-with is an option of --target rtl" in capsys.readouterr().err


def test_a_gru_in_the_pair_is_refused(pair_files, tmp_path):
    """The gating unit holds an LSTM's h and c over skipped steps: a GRU char-LM is refused by name."""
    from hwgen.frontend import load_graph
    from hwgen.hw.synthetic import write_onnx
    from hwgen.rtl.api import build as rtl_build
    from hwgen.rtl.options import AccelOptions, GateOptions

    _, s_path, b_path, _ = pair_files
    gru = write_onnx(tmp_path / "gru.onnx", 8, VOCAB, classes=VOCAB, cell="gru", head="every_step_matmul")
    proto = onnx.load(gru)
    proto.metadata_props.extend(onnx.load(b_path).metadata_props)
    onnx.save(proto, gru)
    with pytest.raises(HwgenError, match="is a GRU; the gating unit pairs LSTM"):
        rtl_build(load_graph(s_path), tmp_path / "g", AccelOptions(), GateOptions(str(gru)))
