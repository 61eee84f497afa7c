"""Fine-tuning a compressed BERT classifier: weight QAT, pruning and distillation (`hwgen train transformer`).

`train_transformer(TransformerTrainConfig(...), run)` checks everything it can before
RUN/ is created (model folder, data, labels, sequence length, teachers), then trains with
AdamW (linear warm-up over `WARMUP` of the steps, linear decay to 0, gradient norm clip
1), seeded and deterministic on CPU for a seed and thread count, writing RUN/ as `train
lstm` does: checkpoint + config.json first, the checkpoint and metrics.json after every
epoch, and the final test accuracy, ECE and the TF-IDF + LR baseline at the end.
`--steps` caps optimizer steps (`--steps 0` with `init`: post-training quantisation, the init
run's weights rounded to the chosen kind and evaluated), `--limit` the training texts.

The student starts from `model` (a local HF BERT folder; default all-MiniLM-L6-v2) or
from a finished RUN (`init`, e.g. the float fine-tune, so QAT starts from a trained
classifier); structured pruning then cuts heads/FFN units, the Linears are wrapped for
QAT, and magnitude pruning masks weights along its schedule while training.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F

from hwgen.quant.calibration import scores
from hwgen.quant.checkpoint import CONFIG, METRICS, write_json
from hwgen.quant.choices import DISTILL_METHODS, EMBEDDING_KINDS, PRUNE_METHODS, QUANTIZERS, TRANSFORMER_WEIGHTS
from hwgen.quant.distill import ces_assign, distill_loss
from hwgen.quant.errors import QuantConfigError, TrainingError
from hwgen.quant.text_baseline import tfidf_baseline
from hwgen.quant.text_data import TextSplits, limit_train, load_table, split_texts
from hwgen.quant.train import make_progress, set_determinism
from hwgen.quant.transformer_checkpoint import ModelSpec, load_transformer, save_transformer
from hwgen.quant.transformer_model import DEFAULT_MODEL, TextClassifier, load_pretrained, parameter_count
from hwgen.quant.transformer_prune import MagnitudeSchedule, apply_magnitude, prune_structured
from hwgen.quant.transformer_quant import clip_shadow_weights, encoder_weight_bytes, quant_linears, quantize_encoder
from hwgen.quant.transformer_teachers import Teachers, encode, load_teachers

WARMUP = 0.1
EVAL_BATCH = 64


@dataclass(frozen=True)
class TransformerTrainConfig:
    weights: str = "float"
    quantizer: str = "deterministic"
    embeddings: str = "float"  # "int8": quantize the embedding tables too
    model: Optional[str] = None  # local HF BERT folder; None: all-MiniLM-L6-v2
    init: Optional[str] = None  # a transformer RUN/ to start from (weights, shape, tokenizer)
    data: Optional[str] = None  # .jsonl/.csv of (text, label); None: Debian topics
    prune: str = "none"
    sparsity: float = 0.5
    distill: str = "none"
    teachers: tuple[str, ...] = ()
    alpha: float = 0.5
    temperature: float = 2.0
    epochs: int = 3
    steps: Optional[int] = None
    limit: Optional[int] = None
    batch_size: int = 32
    max_len: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 2
    device: str = "cpu"  # "cuda" or "cuda:N": train and evaluate on a GPU (RUN/ is the same; CPU runs stay bit-reproducible)
    valid_each_epoch: bool = True  # False: skip the valid split (a budget run; test metrics are still measured)
    progress: bool = True

    def __post_init__(self) -> None:
        for what, value, allowed in (("weight kind", self.weights, TRANSFORMER_WEIGHTS),
                                     ("quantizer", self.quantizer, QUANTIZERS),
                                     ("embedding kind", self.embeddings, EMBEDDING_KINDS),
                                     ("pruning method", self.prune, PRUNE_METHODS),
                                     ("distillation method", self.distill, DISTILL_METHODS)):
            if value not in allowed:
                raise QuantConfigError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
        for name in ("epochs", "batch_size", "max_len", "threads"):
            if getattr(self, name) < 1:
                raise QuantConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise QuantConfigError(f"--limit must be >= 1, got {self.limit}")
        if self.steps is not None and self.steps < 0:
            raise QuantConfigError(f"--steps must be >= 0, got {self.steps}")
        if self.steps == 0 and (self.init is None or self.distill != "none" or self.prune == "magnitude"):
            raise QuantConfigError("--steps 0 quantises (and structurally prunes) an --init RUN without training: it "
                                   "needs --init and takes no --distill or magnitude pruning")
        if self.device != "cpu" and not re.fullmatch(r"cuda(:\d+)?", self.device):
            raise QuantConfigError(f"unknown --device {self.device!r}; choose cpu, cuda or cuda:N")
        if self.max_len < 3:
            raise QuantConfigError(f"max_len must be >= 3 (CLS, one token, SEP), got {self.max_len}")
        if self.prune != "none" and not 0 < self.sparsity < 1:
            raise QuantConfigError(f"--sparsity must be in (0, 1), got {self.sparsity}")
        if self.prune == "magnitude" and self.weights == "binary":
            raise QuantConfigError("binary weights have no zero code: magnitude pruning needs float, int8 or ternary")
        if self.distill != "none" and not self.teachers:
            raise QuantConfigError(f"--distill {self.distill} needs --teacher RUN (a fine-tuned transformer run)")
        if self.distill in ("kd", "bdkd") and len(self.teachers) != 1:
            raise QuantConfigError(f"--distill {self.distill} takes one --teacher, got {len(self.teachers)}")
        if self.distill == "none" and self.teachers:
            raise QuantConfigError("--teacher needs --distill kd, bdkd or ceskd")
        if not 0 <= self.alpha <= 1 or not self.temperature > 0 or not self.lr > 0:
            raise QuantConfigError("need 0 <= alpha <= 1, temperature > 0 and lr > 0")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["teachers"] = list(self.teachers)
        return d


@dataclass(frozen=True)
class TrainHooks:
    """Where a fine-tuning method (hwgen.finetune) changes this loop without copying it.

    `splits` edits the texts after loading (a training subset); `adapt` changes the prepared
    model (`Prepared`: model, tokenizer, texts) before the optimizer is built (freeze,
    reconfigure, insert modules: the optimizer holds only parameters that require grad); `observe(step, idx, logits, labels)` sees each
    step's batch after the update; `finalize` folds the model back into plain layers before the
    last checkpoint, so `load_transformer` reads it.
    """

    splits: Optional[Callable[[TextSplits], TextSplits]] = None
    adapt: Optional[Callable[["Prepared"], None]] = None
    observe: Optional[Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], None]] = None
    finalize: Optional[Callable[[TextClassifier], None]] = None


NO_HOOKS = TrainHooks()


def trained_parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass
class TransformerResult:
    run: Path
    model: TextClassifier
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    """Everything training needs, built and checked before RUN/ is touched."""

    model: TextClassifier
    spec: ModelSpec
    tokenizer: Any
    splits: TextSplits
    source: str
    teachers: Optional[Teachers]


def load_splits(config: TransformerTrainConfig, classes: Optional[tuple[str, ...]] = None) -> TextSplits:
    if config.data is None:
        from hwgen.quant.debian_topics import debian_topics

        table = debian_topics()
    else:
        table = load_table(config.data, classes)
    if classes is not None and table.classes != classes:
        raise QuantConfigError(f"the data's classes ({', '.join(table.classes)}) differ from the --init run's "
                               f"({', '.join(classes)})")
    return limit_train(split_texts(table, config.seed), config.limit, config.seed)


def _student(config: TransformerTrainConfig) -> tuple[TextClassifier, Any, str, Optional[tuple[str, ...]]]:
    """(model before QAT wrapping, tokenizer, description, classes fixed by --init)."""
    if config.init is not None:
        ckpt = load_transformer(config.init)
        return ckpt.model, ckpt.tokenizer, f"init {config.init}", ckpt.spec.classes
    encoder, tokenizer, folder = load_pretrained(config.model)
    return TextClassifier(encoder, 1), tokenizer, config.model or DEFAULT_MODEL, None


def check_device(device: str) -> torch.device:
    """The torch device for `device`, or a one-line error when this torch cannot reach it."""
    if device != "cpu":
        index = int(device.split(":")[1]) if ":" in device else 0
        if not torch.cuda.is_available():
            raise QuantConfigError(f"--device {device}: this torch ({torch.__version__}) sees no CUDA device; "
                                   "use --device cpu")
        if index >= torch.cuda.device_count():
            raise QuantConfigError(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s), "
                                   f"cuda:0..cuda:{torch.cuda.device_count() - 1}")
    return torch.device(device)


def prepare(config: TransformerTrainConfig) -> Prepared:
    device = check_device(config.device)
    model, tokenizer, source, classes = _student(config)
    if config.max_len > model.max_positions:
        raise QuantConfigError(f"--max-len {config.max_len} is beyond the model's position table "
                               f"({model.max_positions} positions)")
    splits = load_splits(config, classes)
    if classes is None:  # a fresh head for this task's classes
        model = TextClassifier(model.encoder, len(splits.classes))
    teachers = load_teachers(config.teachers, splits, config.max_len, device) if config.distill != "none" else None
    torch.manual_seed(config.seed)
    if config.prune == "structured":
        prune_structured(model, config.sparsity)
    quantize_encoder(model.encoder, config.weights, config.quantizer == "stochastic", config.embeddings)
    spec = ModelSpec(model.encoder.config.to_json_string(), splits.classes, model.shape(), config.weights,
                     config.quantizer, config.embeddings, config.max_len)
    return Prepared(model.to(device), spec, tokenizer, splits, source, teachers)


@torch.no_grad()
def predict_probs(model: TextClassifier, ids: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = []
    for k in range(0, len(ids), EVAL_BATCH):
        m = mask[k:k + EVAL_BATCH]
        width = max(1, int(m.sum(1).max()))
        logits = model(ids[k:k + EVAL_BATCH, :width].to(device), m[:, :width].to(device))
        out.append(torch.softmax(logits, -1).double().cpu().numpy())
    return np.concatenate(out)


def evaluate_split(model: TextClassifier, tokenizer: Any, texts, labels, max_len: int) -> dict[str, float]:
    ids, mask = encode(tokenizer, texts, max_len)
    return scores(predict_probs(model, ids, mask), labels)


def lr_at(step: int, total: int, lr: float) -> float:
    warm = max(1, int(WARMUP * total))
    return lr * step / warm if step < warm else lr * max(0.0, (total - step) / max(1, total - warm))


def batch_loss(prep: Prepared, config: TransformerTrainConfig, ids: torch.Tensor, mask: torch.Tensor,
                y: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, logits) of one batch; `idx` (the texts' positions) stays on the CPU, the rest is on the model's device."""
    width = max(1, int(mask.sum(1).max()))
    logits = prep.model(ids[:, :width], mask[:, :width])
    if prep.teachers is None:
        return F.cross_entropy(logits, y), logits
    if config.distill == "ceskd":
        difficulty = prep.teachers.difficulty(idx, y)
        teacher = prep.teachers.logits_by_choice(idx, ces_assign(difficulty, len(prep.teachers)))
    else:
        teacher = prep.teachers.logits(0, idx)
    return distill_loss(logits, teacher, y, config.distill, config.alpha, config.temperature), logits


def make_optimizer(model: TextClassifier, config: TransformerTrainConfig) -> torch.optim.AdamW:
    """AdamW over the parameters that require grad; no weight decay on biases and LayerNorms."""
    no_decay = [p for p in model.parameters() if p.ndim < 2 and p.requires_grad]
    decay = [p for p in model.parameters() if p.ndim >= 2 and p.requires_grad]
    return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)


def optimizer_step(model: TextClassifier, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on `loss`: backward, gradient-norm clip at 1, step, shadow-weight clip."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    clip_shadow_weights(model)


def _metrics_head(config: TransformerTrainConfig, prep: Prepared, history: list) -> dict[str, Any]:
    return {"task": "text classification", "data": prep.splits.train.source, "model": prep.source,
            "classes": list(prep.splits.classes), "weights": config.weights, "embeddings": config.embeddings,
            "quantizer": config.quantizer, "prune": config.prune,
            "sparsity": config.sparsity if config.prune != "none" else 0.0,
            "distill": config.distill, "teachers": list(config.teachers), "train_texts": len(prep.splits.train),
            "valid_texts": len(prep.splits.valid), "test_texts": len(prep.splits.test),
            "shape": prep.spec.shape.to_dict(), "status": "training", "history": history}


def train_transformer(config: TransformerTrainConfig, run: Union[str, os.PathLike],
                      hooks: TrainHooks = NO_HOOKS) -> TransformerResult:
    """Train into `run` (see the module docstring); returns the eval-mode model and the final metrics."""
    run = Path(run)
    set_determinism(config.seed, config.threads)
    if config.device != "cpu":  # cuBLAS is deterministic only with a fixed workspace; some CUDA ops have no
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic kernel: warn, do not stop
        torch.use_deterministic_algorithms(True, warn_only=True)
    prep = prepare(config)
    if hooks.splits is not None:
        prep.splits = hooks.splits(prep.splits)
    if hooks.adapt is not None:
        hooks.adapt(prep)
        prep.model.to(config.device)  # modules the method added
    trained = trained_parameter_count(prep.model)  # before `finalize` folds the model back
    ids, mask = encode(prep.tokenizer, prep.splits.train.texts, config.max_len)
    labels = torch.from_numpy(prep.splits.train.labels)
    device = torch.device(config.device)
    per_epoch = max(1, math.ceil(len(ids) / config.batch_size))
    total = min(config.epochs * per_epoch if config.steps is None else config.steps, config.epochs * per_epoch)
    epochs = math.ceil(total / per_epoch)
    opt = make_optimizer(prep.model, config)
    schedule = MagnitudeSchedule(config.sparsity, total) if config.prune == "magnitude" else None
    gen = torch.Generator().manual_seed(config.seed)
    tconf = config.to_dict()
    history: list[dict[str, Any]] = []
    metrics = _metrics_head(config, prep, history)
    write_json_dir(run, tconf)
    save_transformer(run, prep.model, prep.spec, prep.tokenizer, 0, tconf)
    step, t0 = 0, time.perf_counter()
    with make_progress(config.progress) as progress:
        bar = progress.add_task(f"train transformer {config.weights}", total=total, loss=float("nan"))
        for epoch in range(1, epochs + 1):
            prep.model.train()
            order = torch.randperm(len(ids), generator=gen)
            loss_sum, count = 0.0, 0
            for k in range(0, len(order), config.batch_size):
                if step >= total:
                    break
                if schedule is not None and schedule.due(step):
                    apply_magnitude(prep.model, schedule.sparsity_at(step))
                for group in opt.param_groups:
                    group["lr"] = lr_at(step, total, config.lr)
                idx = order[k:k + config.batch_size]
                loss, logits = batch_loss(prep, config, ids[idx].to(device), mask[idx].to(device),
                                          labels[idx].to(device), idx)
                if not torch.isfinite(loss):
                    metrics.update(status="diverged", diverged_at={"epoch": epoch, "step": step + 1})
                    write_json(run / METRICS, metrics)
                    raise TrainingError(f"loss became {float(loss.detach())} at step {step + 1}; training stopped. The "
                                        f"last good checkpoint stays in {run / 'checkpoint.pt'}; try a smaller --lr")
                optimizer_step(prep.model, opt, loss)
                step += 1
                if hooks.observe is not None:
                    hooks.observe(step, idx, logits.detach().cpu(), labels[idx])
                loss_sum, count = loss_sum + float(loss.detach()), count + 1
                progress.update(bar, advance=1, loss=loss_sum / count,
                                description=f"train transformer {config.weights} epoch {epoch}/{epochs}")
            if schedule is not None:
                apply_magnitude(prep.model, schedule.sparsity_at(step))
            entry = {"epoch": epoch, "step": step, "train_loss": loss_sum / max(count, 1)}
            if config.valid_each_epoch:
                entry.update(_valid_figures(prep, config))
            history.append(entry)
            save_transformer(run, prep.model, prep.spec, prep.tokenizer, step, tconf)
            write_json(run / METRICS, metrics)
    if total == 0 and config.valid_each_epoch:  # post-training quantisation: its validation figure, as an epoch's
        history.append({"epoch": 0, "step": 0, **_valid_figures(prep, config)})
        write_json(run / METRICS, metrics)
    seconds = time.perf_counter() - t0
    if hooks.finalize is not None:
        hooks.finalize(prep.model)
        prep.spec = replace(prep.spec, hf_config=prep.model.encoder.config.to_json_string(), shape=prep.model.shape())
        save_transformer(run, prep.model, prep.spec, prep.tokenizer, step, tconf)
    return TransformerResult(run, prep.model, _finish(run, prep, config, metrics, step, seconds, trained))


def _valid_figures(prep: Prepared, config: TransformerTrainConfig) -> dict[str, float]:
    """The model's accuracy and ECE on the valid split, as a history entry records them."""
    valid = evaluate_split(prep.model, prep.tokenizer, prep.splits.valid.texts, prep.splits.valid.labels, config.max_len)
    return {"valid_accuracy": valid["accuracy"], "valid_ece": valid["ece"]}


def write_json_dir(run: Path, tconf: dict[str, Any]) -> None:
    run.mkdir(parents=True, exist_ok=True)
    write_json(run / CONFIG, tconf)


def _finish(run: Path, prep: Prepared, config: TransformerTrainConfig, metrics: dict[str, Any], steps: int,
            seconds: float, trained: int) -> dict[str, Any]:
    test = evaluate_split(prep.model, prep.tokenizer, prep.splits.test.texts, prep.splits.test.labels, config.max_len)
    stored, floats = encoder_weight_bytes(prep.model)
    metrics.update(status="done", steps=steps, train_seconds=seconds, step_ms=1000 * seconds / max(steps, 1),
                   test_accuracy=test["accuracy"], test_ece=test["ece"],
                   trained_parameters=trained, parameters=parameter_count(prep.model),
                   nonzero_encoder_weights=int(sum(int(m.masked_weight().count_nonzero())
                                                   for m in quant_linears(prep.model))),
                   encoder_weight_bytes=stored, encoder_weight_bytes_float32=floats,
                   baseline=tfidf_baseline(prep.splits, config.seed))
    write_json(run / METRICS, metrics)
    if not math.isfinite(test["accuracy"]):
        raise TrainingError(f"test accuracy is {test['accuracy']}; the model in {run} is not usable")
    return metrics

