"""A stack of quantized LSTM (or GRU) layers and a float dense head, described by one `ModelConfig`.

The config is the model's identity: it is saved in every checkpoint and checked on load,
so a checkpoint from another model is refused with a clear message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

import torch
from torch import nn

from hwgen.quant.errors import QuantConfigError
from hwgen.quant.gru_layer import QuantGRULayer
from hwgen.quant.layer import BN_STATS, QuantLSTMLayer, QuantRecurrentLayer

#: digits: logits from the last step (sequence classification); charlm: logits every step.
from hwgen.quant.choices import check_choices  # noqa: E402


@dataclass(frozen=True)
class ModelConfig:
    task: str
    input_size: int
    hidden: int
    layers: int
    outputs: int
    weights: str = "float"
    bn: bool = False
    quantizer: str = "deterministic"
    steps: int = 8  # per-step BN statistics kept for this many steps
    bn_x: str = "shared"  # training statistics of BN(Wx·x): over batch and time, or per step
    cell: str = "lstm"  # "lstm" or "gru" (checkpoints from before GRUs have no cell: LSTM)

    def __post_init__(self) -> None:
        check_choices(self.task, self.weights, self.quantizer, self.cell)
        for name in ("input_size", "hidden", "layers", "outputs", "steps"):
            if getattr(self, name) < 1:
                raise QuantConfigError(f"{name} must be >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        return cls(**d)


#: The layer class of each cell.
LAYERS: dict[str, type[QuantRecurrentLayer]] = {"lstm": QuantLSTMLayer, "gru": QuantGRULayer}


class QuantLSTMModel(nn.Module):
    """The stacked recurrent model (named for its first cell; `config.cell` says which) and its head."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        sizes = [config.input_size] + [config.hidden] * config.layers
        layer = LAYERS[config.cell]
        self.layers = nn.ModuleList(
            layer(sizes[k], config.hidden, config.weights, config.bn, config.quantizer, config.steps, config.bn_x)
            for k in range(config.layers))
        self.head = nn.Linear(config.hidden, config.outputs)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x [B, T, X] -> logits [B, C] (digits) or [B, T, V] (charlm).

        `mask` [B, T] bool (LSTM only; True: the step runs): every layer's state holds over a sample's
        masked-off steps, whose logits are then the held ones (the surprisal gate's skipped big model)."""
        y = x.transpose(0, 1)
        if mask is not None:
            if self.config.cell != "lstm":
                raise QuantConfigError(f"a step mask needs the LSTM cell, this model is a {self.config.cell.upper()}")
            mask = mask.transpose(0, 1)
        for layer in self.layers:
            y = layer(y) if mask is None else layer(y, mask)
        if self.config.task == "digits":
            return self.head(y[-1])
        return self.head(y).transpose(0, 1)

    def set_bn_stats(self, mode: str) -> None:
        if mode not in BN_STATS:
            raise QuantConfigError(f"unknown BN statistics mode {mode!r}; choose one of {', '.join(BN_STATS)}")
        for layer in self.layers:
            layer.bn_stats = mode

    def set_fold_bn(self, on: bool) -> None:
        for layer in self.layers:
            layer.fold_bn = on

    def clip_shadow_weights(self) -> None:
        for layer in self.layers:
            layer.clip_shadow_weights()

    def freeze(self, stochastic: bool = False, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        for layer in self.layers:
            layer.freeze(stochastic, gen)
