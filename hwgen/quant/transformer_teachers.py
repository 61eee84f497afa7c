"""Teachers for distillation: trained transformer RUNs, run frozen on the student's training texts.

Each teacher keeps its own tokenizer (a teacher assistant may come from another model
folder), so the training texts are encoded once per teacher. Teachers are ordered by size
(`model_bytes`: the encoder Linears as stored — int8 1 byte, ternary 2 bits, binary 1 bit —
plus every other parameter in float32), smallest first; CES-KD's curriculum relies on
that order, KD and BD-KD use the one teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F

from hwgen.quant.errors import CheckpointError, QuantConfigError
from hwgen.quant.text_data import TextSplits
from hwgen.quant.transformer_model import TextClassifier, parameter_count
from hwgen.quant.transformer_quant import encoder_weight_bytes, quant_linears


def encode(tokenizer: Any, texts: Sequence[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids, attention mask), int64 [N, max_len], truncated and padded to `max_len`."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_len, padding="max_length", return_tensors="pt")
    return enc["input_ids"].to(torch.int64), enc["attention_mask"].to(torch.int64)


def model_bytes(model: TextClassifier) -> int:
    stored, _ = encoder_weight_bytes(model)
    linear = sum(m.weight.numel() for m in quant_linears(model))
    return stored + 4 * (parameter_count(model) - linear)


@dataclass
class Teachers:
    models: list[TextClassifier]  # smallest first
    ids: list[torch.Tensor]
    masks: list[torch.Tensor]
    runs: list[str]
    _cache: Optional[tuple[torch.Tensor, torch.Tensor]] = None  # (idx, logits of the largest teacher)

    def __len__(self) -> int:
        return len(self.models)

    @torch.no_grad()
    def logits(self, k: int, idx: torch.Tensor) -> torch.Tensor:
        if k == len(self.models) - 1 and self._cache is not None and torch.equal(self._cache[0], idx):
            return self._cache[1]
        m = self.masks[k][idx]
        width = max(1, int(m.sum(1).max()))
        device = next(self.models[k].parameters()).device
        return self.models[k](self.ids[k][idx][:, :width].to(device), m[:, :width].to(device))

    @torch.no_grad()
    def difficulty(self, idx: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The largest teacher's cross-entropy per sample (its logits are kept for `logits_by_choice`)."""
        top = self.logits(len(self.models) - 1, idx)
        self._cache = (idx, top)
        return F.cross_entropy(top, labels, reduction="none")

    @torch.no_grad()
    def logits_by_choice(self, idx: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
        """Logits of teacher choice[i] for sample idx[i]; each teacher runs on its own samples only."""
        out: Optional[torch.Tensor] = None
        for k in torch.unique(choice).tolist():
            sel = choice == k  # on the teachers' device, as `choice`; idx indexes the CPU-held texts
            rows = self.logits(k, idx)[sel] if k == len(self.models) - 1 else self.logits(k, idx[sel.cpu()])
            if out is None:
                out = rows.new_zeros(len(idx), rows.shape[1])
            out[sel] = rows
        assert out is not None
        return out


def load_teachers(runs: Sequence[str], splits: TextSplits, max_len: int,
                  device: torch.device = torch.device("cpu")) -> Teachers:
    """Load teacher RUNs (eval mode) onto `device`, check their classes and position tables, encode the training
    texts (kept on the CPU: each batch is moved as it is used)."""
    from hwgen.quant.transformer_checkpoint import load_transformer

    loaded = []
    for run in runs:
        ckpt = load_transformer(run)
        if ckpt.spec.classes != splits.classes:
            raise CheckpointError(f"teacher {run} was trained on classes {', '.join(ckpt.spec.classes)}, "
                                  f"not this data's {', '.join(splits.classes)}")
        if max_len > ckpt.model.max_positions:
            raise QuantConfigError(f"--max-len {max_len} is beyond teacher {run}'s position table "
                                   f"({ckpt.model.max_positions})")
        for p in ckpt.model.parameters():
            p.requires_grad_(False)
        ids, mask = encode(ckpt.tokenizer, splits.train.texts, max_len)
        loaded.append((model_bytes(ckpt.model), len(loaded), ckpt.model.to(device), ids, mask, str(run)))
    loaded.sort(key=lambda t: (t[0], t[1]))
    return Teachers([t[2] for t in loaded], [t[3] for t in loaded], [t[4] for t in loaded], [t[5] for t in loaded])
