"""Transformer tests: a tiny randomly initialised BERT folder and a few hundred fabricated texts.

Nothing here needs all-MiniLM-L6-v2 or apt's lists: the model folder is written with
transformers' own save_pretrained (config, safetensors, a word-level vocab.txt tokenizer),
and the texts are three topics drawn from small word lists with a fixed seed.
"""

from __future__ import annotations

import json
import random

import pytest
import torch

TOPICS = {
    "games": "play player level score arcade puzzle board chess card strategy quest dungeon race shooter multiplayer",
    "science": "physics chemistry molecule protein simulation statistics astronomy data equation numerical plot lab genome matrix model",
    "net": "network server client http proxy dns socket protocol packet router tcp email web firewall download",
}
SHARED = ("the a of and for with this package provides tool small fast simple library program files support "
          "version based free open source using command line interface").split()


def fabricated_rows(n_per_class: int = 100, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for label, words in TOPICS.items():
        topical = words.split()
        for _ in range(n_per_class):
            n = rng.randint(8, 20)
            text = " ".join(rng.choice(topical) if rng.random() < 0.4 else rng.choice(SHARED) for _ in range(n))
            rows.append({"text": text, "label": label})
    rng.shuffle(rows)
    return rows


def write_tiny_bert(folder, hidden: int = 32, layers: int = 2, heads: int = 4, max_positions: int = 48, seed: int = 0):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    words = sorted({w for ws in TOPICS.values() for w in ws.split()} | set(SHARED))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    tok = BertTokenizerFast(vocab={w: k for k, w in enumerate(vocab)}, do_lower_case=True)
    tok.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(words) + 5, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=2 * hidden, max_position_embeddings=max_positions)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("tiny_bert") / "model")


@pytest.fixture(scope="session")
def topics_jsonl(tmp_path_factory):
    path = tmp_path_factory.mktemp("texts") / "topics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in fabricated_rows()))
    return path


def tiny_train_config(model, data, **kw):
    from hwgen.quant.transformer_train import TransformerTrainConfig

    base = dict(model=str(model), data=str(data), steps=12, batch_size=16, lr=1e-3, max_len=24, threads=1, progress=False)
    base.update(kw)
    return TransformerTrainConfig(**base)


@pytest.fixture(scope="session")
def tiny_runs(tiny_bert, topics_jsonl, tmp_path_factory):
    """Tiny trained runs: float (the teacher), ternary from it, int8 + int8 embeddings + magnitude pruning,
    binary (stochastic), structured 50 % + KD, ternary BD-KD, ternary CES-KD over {pruned, float}."""
    from hwgen.quant.transformer_train import train_transformer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("transformer_runs")
    f = str(root / "float")
    configs = {
        "float": tiny_train_config(tiny_bert, topics_jsonl, steps=40),
        "ternary": tiny_train_config(tiny_bert, topics_jsonl, weights="ternary", init=f),
        "int8": tiny_train_config(tiny_bert, topics_jsonl, weights="int8", embeddings="int8", prune="magnitude",
                                  sparsity=0.5, init=f),
        "binary": tiny_train_config(tiny_bert, topics_jsonl, weights="binary", quantizer="stochastic", init=f),
        "pruned": tiny_train_config(tiny_bert, topics_jsonl, prune="structured", sparsity=0.5, distill="kd",
                                    teachers=(f,), init=f),
        "bdkd": tiny_train_config(tiny_bert, topics_jsonl, weights="ternary", distill="bdkd", teachers=(f,), init=f),
        "ceskd": tiny_train_config(tiny_bert, topics_jsonl, weights="ternary", distill="ceskd",
                                   teachers=(f, str(root / "pruned")), init=f),
    }
    return {name: train_transformer(cfg, root / name) for name, cfg in configs.items()}
