"""`finetune(FinetuneConfig(...), RUN)`: one efficient fine-tuning method on top of `train_transformer`.

Every method is `train_transformer` with `TrainHooks` (nothing of the loop is copied):

    full           the plain run, observed
    far, learner   a priming run (full fine-tune, `prime_steps`) into RUN/prime, then the main run
                   from it (`--init`) for the remaining steps with the method's modules
    lora, ia3      peft's modules in the frozen encoder
    select, topk   the chosen layers trainable, the encoder cut after the attach layer
    ticket         a full run that records success statistics (RUN/full), one run per candidate
                   subset (RUN/subsets/N), the winning ticket copied to RUN

RUN/metrics.json gets a "finetune" entry: the method, its options, trained parameters and
the `StepObserver` figures (wall time, peak training memory, memory-op time, learning curve).
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from hwgen.finetune.choices import METHODS, TICKET_STEPS
from hwgen.finetune.data_prune import SuccessStats, candidate_subsets, winning_ticket
from hwgen.finetune.errors import MethodError
from hwgen.finetune.far import FarOptions, check_ffn, merge, reconfigure, unit_change
from hwgen.finetune.layer_select import apply_choice, layer_features, select_layers, top_layers, variability_ratio
from hwgen.finetune.learners import LearnerOptions, attach_learners, check_learners, merge_learners
from hwgen.finetune.measure import StepObserver, accuracy_of
from hwgen.finetune.peft_baselines import attach_peft, merge_peft
from hwgen.quant.checkpoint import METRICS, write_json
from hwgen.quant.text_data import TextSplits
from hwgen.quant.transformer_model import TextClassifier, load_pretrained
from hwgen.quant.transformer_quant import quantize_encoder
from hwgen.quant.transformer_teachers import encode
from hwgen.quant.transformer_train import (Prepared, TrainHooks, TransformerResult, TransformerTrainConfig, load_splits,
                                           predict_probs, prepare, train_transformer)

SELECT_TEXTS = 512  # training texts whose hidden states rank the layers


@dataclass(frozen=True)
class FinetuneConfig:
    train: TransformerTrainConfig
    method: str = "full"
    prime_steps: int = 4  # far, learner: full fine-tuning steps before freezing
    prime_lr: Optional[float] = None  # far, learner: the priming's peak learning rate (None: train.lr)
    far: FarOptions = field(default_factory=FarOptions)
    learner: LearnerOptions = field(default_factory=LearnerOptions)
    k: int = 2  # select, topk: layers adapted
    eval_every: int = 0  # learning curve on `eval_texts` validation texts (0: none)
    eval_texts: int = 128
    profile_steps: int = 0  # steps under torch.profiler (memory-op time)
    eval_limit: Optional[int] = None  # valid/test texts kept (a seeded subset; a budget run)
    tolerance: float = 0.3  # ticket: accuracy points a subset may lose
    max_subsets: int = 3
    ticket_steps: str = "proportional"  # ticket: a subset's steps, `TICKET_STEPS`

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise MethodError(f"unknown --method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.train.device != "cpu":
            raise MethodError(f"--method {self.method} measures the CPU (peak resident memory, torch.profiler's CPU "
                              f"events): it runs with --device cpu, not {self.train.device}")
        if self.method != "full" and self.train.steps == 0:
            raise MethodError(f"--method {self.method} trains: --steps 0 (post-training quantisation) takes --method full")
        if self.method in ("far", "learner"):
            steps = self.train.steps
            if steps is not None and not 1 <= self.prime_steps < steps:
                raise MethodError(f"--prime-steps {self.prime_steps} is out of range: with --steps {steps} choose 1..{steps - 1}")
            if self.train.weights != "float" or self.train.prune != "none":
                raise MethodError(f"--method {self.method} fine-tunes float weights without pruning "
                                  f"(got --weights {self.train.weights}, --prune {self.train.prune})")
        if self.k < 1:
            raise MethodError(f"--layers-k must be >= 1, got {self.k}")
        if self.ticket_steps not in TICKET_STEPS:
            raise MethodError(f"unknown --ticket-steps {self.ticket_steps!r}; choose one of {', '.join(TICKET_STEPS)}")
        if self.eval_limit is not None and self.eval_limit < 2:
            raise MethodError(f"--eval-limit must be >= 2, got {self.eval_limit}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("train")
        return d


@dataclass
class FinetuneResult:
    run: Path
    model: TextClassifier
    metrics: dict[str, Any]


def _seeded_take(table, n: Optional[int], seed: int):
    if n is None or n >= len(table):
        return table
    return table.take(np.sort(np.random.default_rng(seed + 2).permutation(len(table))[:n]).tolist())


def _eval_splits(config: FinetuneConfig, subset: Optional[np.ndarray] = None) -> Callable[[TextSplits], TextSplits]:
    def edit(splits: TextSplits) -> TextSplits:
        train = splits.train.take(subset.tolist()) if subset is not None else splits.train
        seed = config.train.seed
        return TextSplits(train, _seeded_take(splits.valid, config.eval_limit, seed),
                          _seeded_take(splits.test, config.eval_limit, seed))
    return edit


def evaluation_splits(config: FinetuneConfig) -> TextSplits:
    """The train/valid/test texts a run of `config` trains and is scored on (the --eval-limit subsets)."""
    return _eval_splits(config)(load_splits(config.train))


class _Run:
    """The hooks of one observed `train_transformer` call; the method adds its adapt/finalize."""

    def __init__(self, config: FinetuneConfig, adapt: Optional[Callable[[Prepared], dict]] = None,
                 finalize: Optional[Callable[[TextClassifier], None]] = None, extra: tuple = ()) -> None:
        self.config, self.adapt_fn, self.finalize_fn = config, adapt, finalize
        self.prep: Optional[Prepared] = None
        self.info: dict[str, Any] = {}
        self.observer = StepObserver(self._evaluate, config.eval_every, config.profile_steps, list(extra))

    def _adapt(self, prep: Prepared) -> None:
        self.prep = prep
        if self.config.eval_every:
            self._eval = encode(prep.tokenizer, prep.splits.valid.texts[:self.config.eval_texts], self.config.train.max_len)
        if self.adapt_fn is not None:
            self.info.update(self.adapt_fn(prep) or {})
        self.observer.start()

    def _finalize(self, model: TextClassifier) -> None:
        self.observer.finish()
        if self.finalize_fn is not None:
            self.finalize_fn(model)

    def _evaluate(self) -> float:
        ids, mask = self._eval
        acc = accuracy_of(lambda: predict_probs(self.prep.model, ids, mask), self.prep.splits.valid.labels[:len(ids)])
        self.prep.model.train()
        return acc

    def train(self, train_config: TransformerTrainConfig, run: Path,
              splits: Optional[Callable[[TextSplits], TextSplits]] = None) -> TransformerResult:
        hooks = TrainHooks(splits=splits or _eval_splits(self.config), adapt=self._adapt,
                           observe=self.observer.observe, finalize=self._finalize)
        return train_transformer(train_config, run, hooks)

    def report(self, result: TransformerResult, method: str, **more: Any) -> dict[str, Any]:
        """Add the "finetune" entry to the run's metrics.json; returns the metrics."""
        m = result.metrics
        m["finetune"] = {"method": method, "options": self.config.to_dict(), **self.info,
                         **self.observer.summary(), **more}
        write_json(result.run / METRICS, m)
        return m


def _pretrained(config: TransformerTrainConfig, classes: int) -> TextClassifier:
    """The model the primed run started from (float QuantLinears, as `prepare` builds it)."""
    encoder, _, _ = load_pretrained(config.model)
    model = TextClassifier(encoder, classes)
    quantize_encoder(model.encoder, "float")
    return model


def _primed(config: FinetuneConfig, run: Path, method: str, check: Callable[[TextClassifier], None],
            adapt: Callable[[Prepared, TextClassifier], dict], finalize: Callable[[TextClassifier], None]) -> dict[str, Any]:
    """far / learner: full fine-tune for `prime_steps` into RUN/prime, then the method from it for the rest.

    `check` sees the model before anything is written, so a method that does not apply leaves no RUN/.
    """
    prime = _Run(replace(config, profile_steps=0), lambda prep: check(prep.model))  # profile the method's phase only
    primed = prime.train(replace(config.train, steps=config.prime_steps, valid_each_epoch=False,
                                 lr=config.prime_lr or config.train.lr), run / "prime")
    pretrained = _pretrained(config.train, len(primed.metrics["classes"]))
    rest = config.train.steps - config.prime_steps if config.train.steps is not None else None
    main = _Run(config, lambda prep: adapt(prep, pretrained), finalize)
    result = main.train(replace(config.train, init=str(run / "prime"), steps=rest), run)
    p = prime.observer.summary()
    return main.report(result, method, prime={"steps": p["steps"], "wall_seconds": p["wall_seconds"],
                                              "peak_training_bytes": p.get("peak_training_bytes")})


def _far_adapt(options: FarOptions) -> Callable[[Prepared, TextClassifier], dict]:
    def adapt(prep: Prepared, pretrained: TextClassifier) -> dict:
        frozen = reconfigure(prep.model, unit_change(pretrained, prep.model), options)
        return {"frozen_ffn_parameters": frozen}
    return adapt


def _learner_adapt(options: LearnerOptions) -> Callable[[Prepared, TextClassifier], dict]:
    def adapt(prep: Prepared, pretrained: TextClassifier) -> dict:
        return {"learner_parameters": attach_learners(prep.model, pretrained, options)}
    return adapt


def _layer_adapt(config: FinetuneConfig, method: str) -> Callable[[Prepared], dict]:
    def adapt(prep: Prepared) -> dict:
        layers = len(prep.model.layers)
        if method == "topk":
            choice = top_layers(layers, config.k)
        else:
            train = prep.splits.train
            n = min(len(train), SELECT_TEXTS)
            feats = layer_features(prep.model, prep.tokenizer, train.texts[:n], config.train.max_len)
            choice = select_layers([variability_ratio(f, train.labels[:n]) for f in feats], config.k)
        apply_choice(prep.model, choice)
        return {"layers": choice.to_dict()}
    return adapt


def _peft_adapt(method: str) -> Callable[[Prepared], dict]:
    return lambda prep: {"adapter_parameters": attach_peft(prep.model, method)}


def _subset_training(config: FinetuneConfig, full_steps: int, full_size: int, size: int) -> TransformerTrainConfig:
    """A ticket candidate's training (`config.ticket_steps`): the full run's epochs, about proportionally fewer
    steps, or its steps ("same": as many epochs as those steps take)."""
    if config.ticket_steps == "same":
        epochs = max(config.train.epochs, math.ceil(full_steps / math.ceil(size / config.train.batch_size)))
        return replace(config.train, valid_each_epoch=True, steps=full_steps, epochs=epochs)
    return replace(config.train, valid_each_epoch=True, steps=max(1, math.ceil(full_steps * size / full_size)))


def _ticket(config: FinetuneConfig, run: Path) -> dict[str, Any]:
    """Full run with success statistics, one run per candidate subset, the winning ticket copied to RUN."""
    holder: dict[str, SuccessStats] = {}

    def track(prep: Prepared) -> None:
        holder["stats"] = SuccessStats(len(prep.splits.train))

    full = _Run(config, track, extra=(lambda *a: holder["stats"].observe(*a),))
    result = full.train(replace(config.train, valid_each_epoch=True), run / "full")
    stats, n = holder["stats"], int(result.metrics["train_texts"])
    labels = full.prep.splits.train.labels
    subsets = candidate_subsets(stats, labels, config.max_subsets)
    full_steps = result.metrics["steps"]
    results = [result] + [_Run(config).train(_subset_training(config, full_steps, n, len(s)),
                                             run / "subsets" / str(len(s)), _eval_splits(config, s))
                          for s in subsets[1:]]
    valid = [r.metrics["history"][-1]["valid_accuracy"] for r in results]
    ticket = winning_ticket([len(s) for s in subsets], valid, config.tolerance)
    shutil.copytree(results[ticket.chosen].run, run, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("full", "subsets", "prime"))
    entry = {"method": "ticket", "stats": stats.to_dict(), "sizes": list(ticket.sizes),
             "valid_accuracy": list(ticket.valid_accuracy),
             "test_accuracy": [r.metrics["test_accuracy"] for r in results],
             "steps": [r.metrics["steps"] for r in results], "chosen_size": ticket.size,
             "full": full.observer.summary()}
    m = dict(results[ticket.chosen].metrics, finetune=entry)
    write_json(run / METRICS, m)
    return m


def finetune(config: FinetuneConfig, run: Union[str, os.PathLike]) -> FinetuneResult:
    """Run `config.method` into `run` (see the module docstring)."""
    run = Path(run)
    method, train = config.method, config.train
    if method == "far":
        m = _primed(config, run, method, check_ffn, _far_adapt(config.far), merge)
    elif method == "learner":
        m = _primed(config, run, method, lambda model: check_learners(model, config.learner),
                    _learner_adapt(config.learner), merge_learners)
    elif method == "ticket":
        m = _ticket(config, run)
    else:
        finalize = merge_peft if method in ("lora", "ia3") else None
        r = _Run(config, _plain_adapt(config), finalize)
        m = r.report(r.train(train, run), method)
    return FinetuneResult(run, _load_model(run), m)


def _plain_adapt(config: FinetuneConfig) -> Callable[[Prepared], dict] | None:
    """The `adapt` of a method without priming (None: the model trains as prepared)."""
    method = config.method
    return {"full": None, "ticket": None, "lora": _peft_adapt("lora"), "ia3": _peft_adapt("ia3"),
            "select": _layer_adapt(config, "select"), "topk": _layer_adapt(config, "topk")}[method]


def prepared_for_timing(config: FinetuneConfig, run: str | os.PathLike) -> Prepared:
    """The model `config.method` trains in its main phase, built as `finetune` builds it, for `step_time`.

    far / learner start from the finished run's RUN/prime (the priming decides what is frozen);
    the ticket trains a full model (its subsets change the texts, not the step).
    """
    run, train = Path(run), config.train
    if config.method in ("far", "learner"):
        if not (run / "prime").is_dir():
            raise MethodError(f"timing --method {config.method} needs its priming run {run / 'prime'}; train it first")
        prep = prepare(replace(train, init=str(run / "prime")))
        adapt = _far_adapt(config.far) if config.method == "far" else _learner_adapt(config.learner)
        adapt(prep, _pretrained(train, len(prep.splits.classes)))
        return prep
    prep = prepare(train)
    plain = _plain_adapt(config)
    if plain is not None:
        plain(prep)
    return prep


def _load_model(run: Path) -> TextClassifier:
    from hwgen.quant.transformer_checkpoint import load_transformer

    return load_transformer(run).model
