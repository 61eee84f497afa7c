"""RUN/ directory layout and checkpoints.

    RUN/checkpoint.pt   model config + state dict (+ char vocabulary), written atomically
    RUN/config.json     the training configuration, as given
    RUN/metrics.json    per-epoch history and final test metrics

A checkpoint names its format and carries its `ModelConfig`; loading rebuilds the model
from that config and refuses files from other programs or other model shapes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from hwgen.quant.errors import CheckpointError, QuantConfigError
from hwgen.quant.model import ModelConfig, QuantLSTMModel

FORMAT = "hwgen.quant.lstm"
VERSION = 1
CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
METRICS = "metrics.json"


@dataclass(frozen=True)
class Checkpoint:
    model: QuantLSTMModel
    epoch: int
    vocab: Optional[bytes]  # char-LM id -> byte
    train_config: dict[str, Any]


def save_checkpoint(run: Path, model: QuantLSTMModel, epoch: int, train_config: dict[str, Any],
                    vocab: Optional[bytes] = None) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    path = run / CHECKPOINT
    tmp = run / (CHECKPOINT + ".tmp")
    torch.save({"format": FORMAT, "version": VERSION, "model_config": model.config.to_dict(),
                "train_config": train_config, "epoch": epoch,
                "vocab": list(vocab) if vocab is not None else None,
                "state_dict": model.state_dict()}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(run: os.PathLike | str) -> Checkpoint:
    """A run directory (or its checkpoint.pt) back to an eval-mode model, with clear errors."""
    run = Path(run)
    path = run / CHECKPOINT if run.is_dir() else run
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint (train one with `hwgen train lstm ... -o {run}`)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable hwgen checkpoint ({type(err).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a hwgen quantized-LSTM checkpoint (expected format {FORMAT!r}); "
                              "it comes from another program or model")
    if blob.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {blob.get('version')} is not supported (this hwgen reads {VERSION})")
    try:
        config = ModelConfig.from_dict(blob["model_config"])
    except (TypeError, KeyError, QuantConfigError) as err:
        raise CheckpointError(f"{path}: checkpoint model config is invalid: {err}") from None
    model = QuantLSTMModel(config)
    state = blob.get("state_dict", {})
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or extra or wrong:
        detail = "; ".join(f"{what}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
                           for what, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)) if keys)
        raise CheckpointError(f"{path}: checkpoint weights do not match its model config "
                              f"({config.weights} {config.cell.upper()}, hidden {config.hidden}, {config.layers} layer(s)): {detail}")
    model.load_state_dict(state)
    model.eval()
    vocab = bytes(blob["vocab"]) if blob.get("vocab") is not None else None
    return Checkpoint(model, int(blob.get("epoch", 0)), vocab, dict(blob.get("train_config", {})))


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
