"""RUN/ of a transformer classifier: the LSTM layout (checkpoint.pt, config.json, metrics.json) plus tokenizer/.

    RUN/checkpoint.pt   format hwgen.quant.transformer: `ModelSpec` + state dict, written atomically
    RUN/tokenizer/      the tokenizer (HF files), so export and distillation need no model folder
    RUN/config.json     the training configuration
    RUN/metrics.json    history, test accuracy / ECE, the TF-IDF + LR baseline

`ModelSpec` is everything that rebuilds the module tree before the weights load: the HF
encoder config, the class names, the (pruned) shape and the quantization kinds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import torch

from hwgen.quant.checkpoint import CHECKPOINT, load_checkpoint
from hwgen.quant.errors import CheckpointError
from hwgen.quant.transformer_model import (EncoderShape, TextClassifier, encoder_from_config, load_tokenizer,
                                           reshape_encoder)
from hwgen.quant.transformer_quant import QuantLinear, quantize_encoder

FORMAT = "hwgen.quant.transformer"
VERSION = 1
TOKENIZER = "tokenizer"


@dataclass(frozen=True)
class ModelSpec:
    hf_config: str  # the encoder's HF config as JSON
    classes: tuple[str, ...]
    shape: EncoderShape
    weights: str = "float"
    quantizer: str = "deterministic"
    embeddings: str = "float"
    max_len: int = 64

    def to_dict(self) -> dict[str, Any]:
        return {"hf_config": self.hf_config, "classes": list(self.classes), "shape": self.shape.to_dict(),
                "weights": self.weights, "quantizer": self.quantizer, "embeddings": self.embeddings,
                "max_len": self.max_len}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "ModelSpec":
        shape = EncoderShape(tuple(d["shape"]["heads"]), tuple(d["shape"]["ffn"]))
        return ModelSpec(d["hf_config"], tuple(d["classes"]), shape, d["weights"], d["quantizer"], d["embeddings"],
                         int(d["max_len"]))


def build_model(spec: ModelSpec) -> TextClassifier:
    """The module tree of `spec` with random weights (a checkpoint's state dict fills them)."""
    model = TextClassifier(encoder_from_config(spec.hf_config), len(spec.classes))
    reshape_encoder(model, spec.shape)
    quantize_encoder(model.encoder, spec.weights, spec.quantizer == "stochastic", spec.embeddings)
    return model


@dataclass(frozen=True)
class TransformerCheckpoint:
    model: TextClassifier
    spec: ModelSpec
    tokenizer: Any
    step: int
    train_config: dict[str, Any]


def save_transformer(run: Path, model: TextClassifier, spec: ModelSpec, tokenizer: Any, step: int,
                     train_config: dict[str, Any]) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    if not (run / TOKENIZER).exists():
        tokenizer.save_pretrained(str(run / TOKENIZER))
    path, tmp = run / CHECKPOINT, run / (CHECKPOINT + ".tmp")
    torch.save({"format": FORMAT, "version": VERSION, "spec": spec.to_dict(), "train_config": train_config,
                "step": step, "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, tmp)
    os.replace(tmp, path)
    return path


def checkpoint_format(run: Union[str, os.PathLike]) -> str:
    """The format named in RUN/checkpoint.pt ("" when unreadable: the LSTM loader then says why)."""
    path = Path(run) / CHECKPOINT if Path(run).is_dir() else Path(run)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return ""
    return str(blob.get("format", "")) if isinstance(blob, dict) else ""


def is_transformer_run(run: Union[str, os.PathLike]) -> bool:
    return checkpoint_format(run) == FORMAT


def load_transformer(run: Union[str, os.PathLike]) -> TransformerCheckpoint:
    """A transformer RUN/ back to an eval-mode model and its tokenizer, with one-line errors."""
    run = Path(run)
    path = run / CHECKPOINT
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint (train one with `hwgen train transformer ... -o {run}`)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable hwgen checkpoint ({type(err).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        if isinstance(blob, dict) and blob.get("format"):
            load_checkpoint(run)  # an LSTM run: its loader names the problem, if any
        raise CheckpointError(f"{path}: not a hwgen transformer checkpoint (expected format {FORMAT!r})")
    if blob.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {blob.get('version')} is not supported (this hwgen reads {VERSION})")
    try:
        spec = ModelSpec.from_dict(blob["spec"])
        json.loads(spec.hf_config)
        model = build_model(spec)
        for name, m in model.named_modules():  # pruned layers carry a mask
            if isinstance(m, QuantLinear) and f"{name}.mask" in blob["state_dict"]:
                m.ensure_mask()
        model.load_state_dict(blob["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: checkpoint does not match its model spec ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:200] if str(err) else ''})") from None
    model.eval()
    tokenizer = load_tokenizer(run / TOKENIZER)
    return TransformerCheckpoint(model, spec, tokenizer, int(blob.get("step", 0)), dict(blob.get("train_config", {})))
