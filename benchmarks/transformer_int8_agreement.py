"""Issue 17 item 2: do hwgen's int8-activation TVM builds predict what the PyTorch compressed model predicts?
Target: identical predictions for >= 99.5 % of the Debian topics test split.

The models: a tiny BERT (2 layers, hidden 128, 4 heads, FFN 512, all-MiniLM-L6-v2's tokenizer, randomly
initialised with seed 0) trained from scratch on Debian topics by `hwgen.quant.transformer_train` with
quantization-aware ternary / int8 weights and int8 embeddings (a quick-trained stand-in: a MiniLM fine-tune
step takes ~2-17 s on this shared 2-core machine, the tiny one ~50 ms). Each trained run is exported by hwgen's
exporter and built with `hwgen build --target tvm --tvm-activations int8` (per-token int8 activations x the
weight codes, int32 sums); the PyTorch model keeps float activations. Every test text runs alone (batch 1,
its own length, symbolic sequence) through both; the table counts the texts whose argmax agrees.

    PYTHONPATH=. .venv/bin/python benchmarks/transformer_int8_agreement.py [--steps 400] [--kinds ternary int8]
"""

from __future__ import annotations

import os

os.environ.setdefault("TVM_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch

from hwgen.frontend import load_graph
from hwgen.quant.transformer_checkpoint import load_transformer
from hwgen.quant.transformer_export import to_onnx
from hwgen.quant.transformer_model import default_model_path, load_tokenizer
from hwgen.quant.transformer_teachers import encode
from hwgen.quant.transformer_train import (
    TransformerTrainConfig,
    load_splits,
    train_transformer,
)
from hwgen.tvm_backend import TvmOptions, build, runner

TARGET = 0.995
MAX_LEN = 64


def tiny_bert_folder(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT with all-MiniLM-L6-v2's tokenizer, saved as a HF folder."""
    from transformers import BertConfig, BertModel

    tokenizer = load_tokenizer(default_model_path())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=128, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=512, max_position_embeddings=128)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def agreement(kind: str, folder: Path, tmp: Path, steps: int) -> dict[str, float]:
    config = TransformerTrainConfig(weights=kind, embeddings="int8", model=str(folder), steps=steps, epochs=100,
                                    lr=5e-4, threads=1, valid_each_epoch=False, progress=False)
    start = time.perf_counter()
    result = train_transformer(config, tmp / f"run_{kind}")
    train_s = time.perf_counter() - start
    ckpt = load_transformer(result.run)
    onnx.save(to_onnx(ckpt.model), tmp / f"{kind}.onnx")
    compiled = runner.load(build(load_graph(tmp / f"{kind}.onnx"), tmp / f"tvm_{kind}",
                                 TvmOptions(activations="int8")).out)
    test = load_splits(config).test
    ids, mask = encode(ckpt.tokenizer, test.texts, MAX_LEN)
    same, right_torch, right_tvm, worst = 0, 0, 0, 0.0
    for i in range(len(test.texts)):
        n = max(1, int(mask[i].sum()))
        x, m = ids[i:i + 1, :n], mask[i:i + 1, :n]
        with torch.no_grad():
            want = ckpt.model(x, m).numpy()[0]
        got = compiled({"input_ids": x.numpy(), "attention_mask": m.numpy()})["logits"][0]
        same += int(np.argmax(got) == np.argmax(want))
        right_torch += int(np.argmax(want) == test.labels[i])
        right_tvm += int(np.argmax(got) == test.labels[i])
        worst = max(worst, float(np.abs(got - want).max()))
    count = len(test.texts)
    return {"texts": count, "same": same, "agree": same / count, "acc_torch": right_torch / count,
            "acc_tvm": right_tvm / count, "worst": worst, "train_s": train_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="training steps per model (batch 32)")
    parser.add_argument("--kinds", nargs="+", default=["ternary", "int8"], choices=["ternary", "int8", "binary"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tiny_bert_folder(tmp / "tiny_bert")
        rows = {kind: agreement(kind, folder, tmp, args.steps) for kind in args.kinds}
    print(f"tiny BERT (2 x 128, 4 heads, FFN 512) trained {args.steps} steps (batch 32, {MAX_LEN} tokens) per row, "
          "int8 embeddings; Debian topics test split, one text per call at its own length\n")
    print("| weights | test texts | same prediction | agreement % | PyTorch acc % | hwgen-TVM int8-act acc % "
          "| max abs logit diff | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, r in rows.items():
        print(f"| {kind} | {r['texts']} | {r['same']} | {100 * r['agree']:.2f} | {100 * r['acc_torch']:.2f} | "
              f"{100 * r['acc_tvm']:.2f} | {r['worst']:.2e} | {r['train_s']:.0f} |")
    met = all(r["agree"] >= TARGET for r in rows.values())
    print(f"\ntarget: >= {100 * TARGET:.1f} % identical predictions -- {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
