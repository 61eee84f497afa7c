"""A candidate's model quality as its accelerator computes it: train, export, lower to integers, score.

Training (`hwgen.quant.train`, what ``hwgen train lstm`` runs) has no activation width: its model is the float-side
one (fake-quantised weights, float activations). The activation width enters at the lowering to the integer model
(`hwgen.passes.lower_fixed_point`, ``LoweringOptions.act_bits``: inputs and hidden state as act_bits-bit codes),
the bit-exact spec of the accelerator. Scoring the float-side model would give every act_bits the same quality and
let the search pick the narrowest activations for free, so the quality here is the integer model's
(`IntegerModel.run_real`), lowered with the candidate's act_bits (and int8 codes for int8 accelerators), calibrated
on training inputs as `hwgen compile` does. The float-side score stays in ``float_score`` for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from hwgen.explore.space import Point, Space

#: Short training of the cheap fidelity (FMAS-style): epochs, training examples and validation examples (digits);
#: batches, learning rate, corpus bytes and validation windows for the char-LM. At the trainer's default 2e-3 the
#: 60 batches leave every char-LM near the uniform 6.6 bits (binary H=64: 6.26 BPC, and every candidate of the
#: charlm-ecp5 preset within 6.0-6.3, no signal for the search); 2e-2 (cosine-decayed) reaches 3.77.
CHEAP_DIGITS = {"epochs": 4, "train": 900, "valid": 300}
CHEAP_CHARLM = {"epochs": 1, "steps": 60, "lr": 2e-2, "corpus_bytes": 300_000, "windows": 64}
#: Full fidelity: the tasks' default epochs (digits), a 2 MB corpus and one pass (char-LM).
FULL_DIGITS_EPOCHS = 30
FULL_CHARLM_BYTES = 2_000_000


@dataclass(frozen=True)
class Scoring:
    """What the integer model is scored on: calibration inputs (the input format), inputs and targets, the metric."""

    metric: str  # "accuracy" (%) | "bpc"
    calibration: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def score(self, logits: np.ndarray) -> float:
        from hwgen.quant.evaluate import bpc_of_logits

        if self.metric == "bpc":
            return round(bpc_of_logits(logits, self.y), 4)
        return round(float(100.0 * np.mean(logits.argmax(-1) == self.y)), 3)


def int8_lstm_weights(onnx_path: Path) -> None:
    """Rewrite the float LSTM weights of an exported float run as int8 codes with per-row scales behind
    DequantizeLinear (post-training quantisation): the form the front end takes as an int8 accelerator's weights
    (it refuses float LSTM weights)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(onnx_path)
    inits = {t.name: t for t in model.graph.initializer}
    for node in [n for n in model.graph.node if n.op_type == "LSTM"]:
        for name in node.input[1:3]:  # W [1, 4H, X], R [1, 4H, H]
            w = numpy_helper.to_array(inits[name]).astype(np.float64)
            scale = np.abs(w[0]).max(axis=1) / 127
            scale = np.where(scale > 0, scale, 1.0)
            codes = np.clip(np.rint(w / scale[None, :, None]), -127, 127).astype(np.int8)
            model.graph.initializer.remove(inits[name])
            model.graph.initializer.extend([numpy_helper.from_array(codes, f"{name}_codes"),
                                            numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale")])
            model.graph.node.insert(0, helper.make_node("DequantizeLinear", [f"{name}_codes", f"{name}_scale"],
                                                        [name], name=f"{name}_dequant", axis=1))
    onnx.save(model, onnx_path)


def integer_score(run: Path, onnx_path: Path, scoring: Scoring, act_bits: int, int8: bool) -> float:
    """Export `run` to `onnx_path` (its LSTM weights as int8 codes if `int8`: a float run), lower it with
    `act_bits`-bit activations and score the integer model."""
    from hwgen.frontend import load_graph
    from hwgen.passes.lower_fixed_point import LoweringOptions, lower_fixed_point
    from hwgen.quant.export import export_run

    export_run(run, onnx_path, evaluate_metric=False)
    if int8:
        int8_lstm_weights(onnx_path)
    options = LoweringOptions(act_bits=act_bits, weights="int8" if int8 else "auto")
    model = lower_fixed_point(load_graph(onnx_path), calibration=scoring.calibration, options=options)
    return scoring.score(model.run_real(scoring.x))


def _digits(point: Point, fidelity: str, weights: str) -> tuple[Any, Any, Scoring]:
    """(train config, data, scoring): cheap trains on a subset and scores on examples carved from the training
    split (the test split stays unseen); full trains on all of it and scores on the test split."""
    from hwgen.quant.data import DigitsData, digits_dataset
    from hwgen.quant.train import TrainConfig

    cheap = fidelity == "cheap"
    config = TrainConfig(task="digits", weights=weights, hidden=point.hidden, layers=point.layers,
                         epochs=CHEAP_DIGITS["epochs"] if cheap else FULL_DIGITS_EPOCHS, progress=False)
    data = digits_dataset(0)
    if cheap:
        n, v = CHEAP_DIGITS["train"], CHEAP_DIGITS["valid"]
        data = DigitsData(data.x_train[:n], data.y_train[:n], data.x_train[-v:], data.y_train[-v:])
    return config, data, Scoring("accuracy", data.x_train, data.x_test, data.y_test)


def _charlm(point: Point, fidelity: str, weights: str) -> tuple[Any, Any, Scoring]:
    """(train config, corpus, scoring): cheap scores on the first windows of the validation split, full on the
    whole test split."""
    from hwgen.quant.evaluate import lm_windows
    from hwgen.quant.train import TrainConfig, load_task_data

    cheap = fidelity == "cheap"
    config = TrainConfig(task="charlm", weights=weights, hidden=point.hidden, layers=point.layers, epochs=1,
                         progress=False, steps_per_epoch=CHEAP_CHARLM["steps"] if cheap else None,
                         lr=CHEAP_CHARLM["lr"] if cheap else None,
                         corpus_bytes=CHEAP_CHARLM["corpus_bytes"] if cheap else FULL_CHARLM_BYTES)
    corpus = load_task_data(config)
    ids, targets = (t.numpy() for t in lm_windows(corpus.valid if cheap else corpus.test, config.seq_len))
    if cheap:
        ids, targets = ids[:CHEAP_CHARLM["windows"]], targets[:CHEAP_CHARLM["windows"]]
    x = np.eye(corpus.vocab_size, dtype=np.float32)[ids]
    return config, corpus, Scoring("bpc", x[:16], x, targets)


@dataclass(frozen=True)
class Trained:
    """A trained candidate model: its run folder, what it is scored on and the trainer's float-side metric."""

    run: Path
    scoring: Scoring
    float_score: float

    def score(self, act_bits: int, int8: bool) -> float:
        """The integer model's score with `act_bits`-bit activations (exports next to the run)."""
        return integer_score(self.run, self.run.parent / f"model_a{act_bits}.onnx", self.scoring, act_bits, int8)


def train_model(space: Space, point: Point, fidelity: str, work_dir: Path) -> Trained:
    """Train the model of `point` (short on a subset for `cheap`, the task's defaults for `full`) in work_dir/run.

    int8 accelerators run float-trained models lowered to int8 codes, so they train float weights."""
    from hwgen.quant.train import train

    weights = "float" if point.weights == "int8" else point.weights
    config, data, scoring = (_digits if space.task == "digits" else _charlm)(point, fidelity, weights)
    result = train(config, work_dir / "run", data)
    return Trained(work_dir / "run", scoring, round(float(result.metrics["test"]), 4))


def train_quality(space: Space, point: Point, fidelity: str, work_dir: Path) -> dict[str, Union[float, str]]:
    """Train `point`'s model and score its integer model with the point's act_bits:
    ``{"accuracy" | "bpc": ..., "float_score": ..., "onnx": ..., "run": ...}``."""
    trained = train_model(space, point, fidelity, work_dir)
    score = trained.score(point.act_bits, point.weights == "int8")
    onnx_path = trained.run.parent / f"model_a{point.act_bits}.onnx"
    return {trained.scoring.metric: score, "float_score": trained.float_score, "onnx": str(onnx_path),
            "run": str(trained.run)}
