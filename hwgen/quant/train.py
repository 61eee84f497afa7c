"""Training loop for binary/ternary LSTMs and GRUs (Adam on float shadow weights, straight-through).

`train(TrainConfig(...), run_dir)` is what `hwgen train lstm` calls. Runs are
deterministic on CPU for a given seed and thread count (seeded generators,
`torch.use_deterministic_algorithms`). A checkpoint is written before the first step
and after every epoch, with metrics.json (the learning curve so far); if the loss becomes
NaN/inf training stops with a TrainingError and the last good checkpoint stays in place.

Task defaults: digits trains at Adam lr 5e-3, constant; the char-LM at the paper's
2e-3 with a cosine decay to `LR_FLOOR`·lr over all steps (a fixed-budget CPU run ends
at a low learning rate instead of wherever a constant one leaves it). Fold epochs
(training with the time-shared BN statistics the export uses) default to a quarter of the
epochs for digits, where per-step and pooled statistics differ over T=8 steps, and to none
for the char-LM: over T=100 steps the pooled statistics already match (valid BPC with them
≈ train loss), and a fold epoch at the end of the H=256 benchmark run raised ternary valid
BPC from 2.52 to 3.15.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hwgen.quant.checkpoint import CONFIG, METRICS, save_checkpoint, write_json
from hwgen.quant.data import CharCorpus, DigitsData, build_corpus, corpus_from_bytes, digits_dataset
from hwgen.quant.errors import QuantConfigError, TrainingError
from hwgen.quant.evaluate import bits_per_char, digits_accuracy, one_hot
from hwgen.quant.choices import LR_SCHEDULES, check_choices
from hwgen.quant.model import ModelConfig, QuantLSTMModel

DIGITS_CLASSES = 10
#: Per task: (Adam learning rate, schedule) when the config leaves them unset.
TASK_LR = {"digits": (5e-3, "constant"), "charlm": (2e-3, "cosine")}
#: The cosine schedule ends at this fraction of the initial learning rate.
LR_FLOOR = 0.05


@dataclass(frozen=True)
class TrainConfig:
    task: str = "digits"
    weights: str = "ternary"
    hidden: int = 32
    layers: int = 1
    bn: Optional[bool] = None  # None: batch norm for binary/ternary, none for float (the nn.LSTM baseline)
    quantizer: str = "deterministic"
    epochs: int = 30
    batch_size: int = 64
    lr: Optional[float] = None  # None: TASK_LR (5e-3 digits, 2e-3 charlm)
    lr_schedule: Optional[str] = None  # "constant" or "cosine"; None: TASK_LR (constant digits, cosine charlm)
    grad_clip: float = 5.0
    seed: int = 0
    threads: int = 1  # more threads only pay off for large hidden sizes (and hurt on a busy machine)
    bn_x: str = "shared"  # training statistics of BN(Wx·x): "shared" over batch and time, or "per_step"
    seq_len: int = 100  # char-LM only
    corpus: tuple[str, ...] = ()  # char-LM files/folders; empty: Linux source if installed, else Python stdlib
    corpus_bytes: int = 2_000_000
    steps_per_epoch: Optional[int] = None  # char-LM; None: one pass over the training text
    fold_epochs: Optional[int] = None  # final epochs trained with time-shared BN statistics; None: digits epochs // 4, charlm 0
    cell: str = "lstm"  # "gru": the GRU (linear_before_reset=1) with the same recipe
    progress: bool = True

    def __post_init__(self) -> None:
        check_choices(self.task, self.weights, self.quantizer, self.cell)
        if self.fold_epochs is not None and self.fold_epochs < 0:
            raise QuantConfigError(f"fold_epochs must be >= 0, got {self.fold_epochs}")
        for name in ("hidden", "layers", "epochs", "batch_size", "threads", "seq_len", "corpus_bytes"):
            if getattr(self, name) < 1:
                raise QuantConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.use_bn and self.batch_size < 2:
            raise QuantConfigError("batch norm needs --batch-size >= 2")
        if self.lr is not None and not self.lr > 0:
            raise QuantConfigError(f"learning rate must be > 0, got {self.lr}")
        if self.lr_schedule is not None and self.lr_schedule not in LR_SCHEDULES:
            raise QuantConfigError(f"unknown learning-rate schedule {self.lr_schedule!r}; "
                                   f"choose one of {', '.join(LR_SCHEDULES)}")

    @property
    def lr_used(self) -> float:
        return TASK_LR[self.task][0] if self.lr is None else self.lr

    @property
    def lr_schedule_used(self) -> str:
        return TASK_LR[self.task][1] if self.lr_schedule is None else self.lr_schedule

    def lr_at(self, step: int, total: int) -> float:
        """Learning rate for 0-based `step` of `total`.

        >>> c = TrainConfig(task="charlm")
        >>> [round(c.lr_at(s, 3), 6) for s in range(3)], TrainConfig().lr_at(2, 3)
        ([0.002, 0.00105, 0.0001], 0.005)
        """
        if self.lr_schedule_used == "constant" or total <= 1:
            return self.lr_used
        floor = LR_FLOOR * self.lr_used
        return floor + (self.lr_used - floor) * 0.5 * (1 + math.cos(math.pi * step / (total - 1)))

    @property
    def fold_epochs_used(self) -> int:
        if not self.use_bn:
            return 0
        if self.fold_epochs is None:  # digits (T=8) needs them; the char-LM (T=100) measured worse with them
            return self.epochs // 4 if self.task == "digits" else 0
        return min(self.epochs, self.fold_epochs)

    @property
    def use_bn(self) -> bool:
        return self.weights != "float" if self.bn is None else self.bn

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["corpus"] = list(self.corpus)
        d["bn"] = self.use_bn
        d["fold_epochs"] = self.fold_epochs_used
        d["lr"], d["lr_schedule"] = self.lr_used, self.lr_schedule_used
        return d


@dataclass
class TrainResult:
    run: Path
    model: QuantLSTMModel
    metrics: dict[str, Any] = field(default_factory=dict)


def set_determinism(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def make_progress(enabled: bool) -> Progress:
    """The training progress bar of every `hwgen train` family: description, bar, steps, mean loss, time left."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn(), disable=not enabled)


def load_task_data(config: TrainConfig) -> Union[DigitsData, CharCorpus]:
    if config.task == "digits":
        return digits_dataset(config.seed)
    text, source = build_corpus(config.corpus_bytes, config.corpus)
    return corpus_from_bytes(text, config.seq_len, source)


def model_config_for(config: TrainConfig, data: Union[DigitsData, CharCorpus]) -> ModelConfig:
    if isinstance(data, DigitsData):
        return ModelConfig("digits", 8, config.hidden, config.layers, DIGITS_CLASSES, config.weights,
                           config.use_bn, config.quantizer, steps=8, bn_x=config.bn_x, cell=config.cell)
    return ModelConfig("charlm", data.vocab_size, config.hidden, config.layers, data.vocab_size, config.weights,
                       config.use_bn, config.quantizer, steps=config.seq_len, bn_x=config.bn_x,
                       cell=config.cell)


def steps_per_epoch(config: TrainConfig, data: Union[DigitsData, CharCorpus]) -> int:
    if isinstance(data, DigitsData):
        return len(data.x_train) // config.batch_size
    return config.steps_per_epoch or max(1, len(data.train) // (config.seq_len * config.batch_size))


def _batches(config: TrainConfig, data: Union[DigitsData, CharCorpus], gen: torch.Generator):
    """(inputs, targets) batches for one epoch."""
    if isinstance(data, DigitsData):
        order = torch.randperm(len(data.x_train), generator=gen).numpy()
        for k in range(0, len(order) - config.batch_size + 1, config.batch_size):  # full batches only (BN)
            idx = order[k:k + config.batch_size]
            yield torch.from_numpy(data.x_train[idx]), torch.from_numpy(data.y_train[idx])
        return
    ids = torch.from_numpy(data.train)
    seq, batch = config.seq_len, config.batch_size
    steps = steps_per_epoch(config, data)
    offsets = torch.arange(seq + 1)
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - seq - 1, (batch,), generator=gen)
        window = ids[starts[:, None] + offsets]
        yield one_hot(window[:, :-1], data.vocab_size), window[:, 1:]


#: Per char-LM batch (one-hot inputs [B, T, V], targets [B, T]) the steps the model runs, [B, T] bool, or None for all.
StepMask = Callable[[torch.Tensor, torch.Tensor], Optional[torch.Tensor]]


def _loss(model: QuantLSTMModel, x: torch.Tensor, y: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean cross entropy; with a step mask the model holds its state over the masked-off steps and the
    loss is the mean over the steps it ran (a held step's prediction is not the model's to make)."""
    if mask is None:
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    logits = model(x, mask)
    each = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
    keep = mask.reshape(-1).to(each.dtype)
    return (each * keep).sum() / keep.sum().clamp_min(1)


def evaluate(model: QuantLSTMModel, data: Union[DigitsData, CharCorpus], config: TrainConfig,
             split: str = "test", bn_stats: str = "shared") -> float:
    """Accuracy (%) for digits, BPC for char-LM, with time-shared or per-step BN statistics."""
    model.set_bn_stats(bn_stats)
    try:
        if isinstance(data, DigitsData):
            return digits_accuracy(model, data.x_test, data.y_test)
        return bits_per_char(model, data.test if split == "test" else data.valid, config.seq_len)
    finally:
        model.set_bn_stats("shared")


def final_metrics(model: QuantLSTMModel, data: Union[DigitsData, CharCorpus], config: TrainConfig) -> dict[str, Any]:
    name = "accuracy" if isinstance(data, DigitsData) else "bpc"
    out: dict[str, Any] = {"metric": name, "test": evaluate(model, data, config)}
    if model.config.bn:
        per_step = evaluate(model, data, config, bn_stats="per_step")
        out["test_per_step_bn"] = per_step
        out["shared_minus_per_step"] = out["test"] - per_step
    return out


def train(config: TrainConfig, run: Union[str, os.PathLike], data: Union[DigitsData, CharCorpus, None] = None,
          step_mask: Optional[StepMask] = None) -> TrainResult:
    """Train, checkpoint every epoch into `run`, and write metrics.json; returns the eval-mode model.

    `step_mask` (char-LM, LSTM) gives each batch's running steps: the model's state holds over the others,
    which the loss leaves out (gate-aware training of a surprisal-gated big model). Validation and test
    metrics run every step. Its `describe()`, if it has one, goes into metrics.json as "step_mask"."""
    if step_mask is not None and config.task != "charlm":
        raise QuantConfigError(f"a step mask trains a char-LM, not {config.task!r}")
    run = Path(run)
    set_determinism(config.seed, config.threads)
    data = data if data is not None else load_task_data(config)
    mconf = model_config_for(config, data)
    model = QuantLSTMModel(mconf)
    vocab = data.vocab if isinstance(data, CharCorpus) else None
    opt = torch.optim.Adam(model.parameters(), lr=config.lr_used)
    gen = torch.Generator().manual_seed(config.seed)
    run.mkdir(parents=True, exist_ok=True)
    write_json(run / CONFIG, config.to_dict())
    tconf = config.to_dict()
    save_checkpoint(run, model, 0, tconf, vocab)
    history: list[dict[str, Any]] = []
    metric_name = "accuracy" if isinstance(data, DigitsData) else "valid_bpc"
    metrics: dict[str, Any] = {"task": config.task, "cell": config.cell, "weights": config.weights, "bn": config.use_bn,
                               "hidden": config.hidden, "layers": config.layers, "status": "training",
                               "data": "sklearn digits" if vocab is None else data.source, "history": history}
    if step_mask is not None:
        describe = getattr(step_mask, "describe", None)
        metrics["step_mask"] = describe() if describe is not None else repr(step_mask)
    run_fraction: list[float] = []  # per batch: the fraction of steps the mask ran
    steps_done, t0 = 0, time.perf_counter()
    progress = make_progress(config.progress)
    with progress:
        per_epoch = steps_per_epoch(config, data)
        total_steps = config.epochs * per_epoch
        bar = progress.add_task(f"train {config.task} {config.weights}", total=total_steps,
                                loss=float("nan"))
        for epoch in range(1, config.epochs + 1):
            model.train()
            model.set_fold_bn(epoch > config.epochs - config.fold_epochs_used)
            total, count = 0.0, 0
            for step, (x, y) in enumerate(_batches(config, data, gen), 1):
                for group in opt.param_groups:
                    group["lr"] = config.lr_at(steps_done, total_steps)
                opt.zero_grad(set_to_none=True)
                mask = step_mask(x, y) if step_mask is not None else None
                if mask is not None:
                    run_fraction.append(float(mask.float().mean()))
                loss = _loss(model, x, y, mask)
                if not torch.isfinite(loss):
                    metrics.update(status="diverged", diverged_at={"epoch": epoch, "step": step})
                    write_json(run / METRICS, metrics)
                    raise TrainingError(
                        f"loss became {float(loss.detach())} at epoch {epoch}, step {step}; training stopped. "
                        f"The last good checkpoint (epoch {epoch - 1}) stays in {run / 'checkpoint.pt'}; "
                        f"try a smaller --lr (now {config.lr_used}) or --grad-clip")
                loss.backward()
                if config.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                opt.step()
                model.clip_shadow_weights()
                total += float(loss.detach())
                count += 1
                steps_done += 1
                progress.update(bar, advance=1, loss=total / count,
                                description=f"train {config.task} {config.weights} epoch {epoch}/{config.epochs}")
            model.eval()
            score = evaluate(model, data, config, split="valid")
            history.append({"epoch": epoch, "step": steps_done, "lr": opt.param_groups[0]["lr"],
                            "train_loss": total / max(count, 1), metric_name: score})
            save_checkpoint(run, model, epoch, tconf, vocab)
            write_json(run / METRICS, metrics)  # status "training": the learning curve so far
    seconds = time.perf_counter() - t0
    if run_fraction:
        metrics["step_mask_run_fraction"] = sum(run_fraction) / len(run_fraction)
    metrics.update(status="done", train_seconds=seconds, steps=steps_done,
                   step_ms=1000 * seconds / max(steps_done, 1), **final_metrics(model, data, config))
    if vocab is not None:
        metrics["vocab_size"] = len(vocab)
        metrics["train_chars"] = int(len(data.train))
    write_json(run / METRICS, metrics)
    if not math.isfinite(float(metrics["test"])):
        raise TrainingError(f"test metric is {metrics['test']}; the model in {run} is not usable")
    return TrainResult(run, model, metrics)
