"""Study for issue 20 (not a feature): does a big char-LM that also reads the small model's h keep always-big BPC
under the surprisal gate when both models are *ternary* (hwgen's recipe: straight-through estimator, in-cell BN)?

An earlier float check found that a big LSTM of H=224 whose input is the one-hot character plus the small model's
whole h_t (after the small model has read x_t), gated on the top-two gap of the small model's logits s_t, matched an
always-big H=256 model at 80 % big steps. Nothing in hwgen builds that pair yet (the big model's second input would
have to go through export, lowering and the gating unit), so this script answers only the accuracy question, in
the QAT models (ternary weights, float activations; h rounded to 8-bit codes as the integer small model gives it):

* small: H=--small-hidden, one-hot input, trained by `hwgen.quant.train.train` (the benchmark's recipe);
* baseline: always big, H=--big-hidden, one-hot input, the same recipe and batches;
* h-input: H=--h-hidden, input [one-hot x_t, --h-scale · h_small(t)], trained on every step (`independent`) and, with
  --gate-aware, under the gate (skipped steps hold its state and leave the loss, a per-sequence skip fraction
  drawn from --skip-range);
* gated: at step t the small model runs first; where its top-two logit gap is at least the threshold the big
  model's step is skipped (state held) and the small model's logits predict x_{t+1}. The threshold for each big
  fraction is the quantile of the gaps on the validation windows, applied to the test windows.

    PYTHONPATH=. .venv/bin/python benchmarks/tools/gating_h_input.py --steps 1600 --out runs/gating_h
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from hwgen.quant.checkpoint import load_checkpoint
from hwgen.quant.data import CharCorpus, build_corpus, corpus_from_bytes
from hwgen.quant.evaluate import lm_windows, one_hot
from hwgen.quant.model import QuantLSTMModel
from hwgen.quant.train import TrainConfig, model_config_for, set_determinism, train

H_LEVELS = 127  # the small model's h as 8-bit codes


@torch.no_grad()
def small_features(small: QuantLSTMModel, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(h [B, T, H] rounded to 8-bit codes, logits [B, T, V]) of the small model on one-hot x [B, T, V]."""
    small.eval()
    y = x.transpose(0, 1)
    for layer in small.layers:
        y = layer(y)
    h = torch.round(y.clamp(-1, 1) * H_LEVELS) / H_LEVELS
    return h.transpose(0, 1), small.head(y).transpose(0, 1)


def top_gap(logits: torch.Tensor) -> torch.Tensor:
    top2 = logits.topk(2, dim=-1).values
    return top2[..., 0] - top2[..., 1]


def train_big(config: TrainConfig, corpus: CharCorpus, inputs: Callable[[torch.Tensor], torch.Tensor], width: int,
              mask: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> QuantLSTMModel:
    """`hwgen.quant.train.train`'s char-LM loop (one epoch of config.steps_per_epoch batches, cosine rate, Adam,
    gradient clipping, shadow-weight clipping) for a model whose input is inputs(one-hot) of `width` columns."""
    set_determinism(config.seed, config.threads)
    model = QuantLSTMModel(dataclasses.replace(model_config_for(config, corpus), input_size=width))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr_used)
    gen = torch.Generator().manual_seed(config.seed)
    ids = torch.from_numpy(np.asarray(corpus.train))
    offsets = torch.arange(config.seq_len + 1)
    total = config.steps_per_epoch
    model.train()
    for step in range(total):
        for group in opt.param_groups:
            group["lr"] = config.lr_at(step, total)
        starts = torch.randint(0, len(ids) - config.seq_len - 1, (config.batch_size,), generator=gen)
        window = ids[starts[:, None] + offsets]
        x1, y = one_hot(window[:, :-1], corpus.vocab_size), window[:, 1:]
        run = mask(x1) if mask is not None else None
        logits = model(inputs(x1), run)
        each = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        keep = torch.ones_like(each) if run is None else run.reshape(-1).to(each.dtype)
        loss = (each * keep).sum() / keep.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        model.clip_shadow_weights()
        if (step + 1) % max(1, total // 8) == 0:
            print(f"  step {step + 1}/{total} loss {float(loss):.3f}", flush=True)
    return model.eval()


@torch.no_grad()
def gated_bpc(small: QuantLSTMModel, big: QuantLSTMModel, inputs: Callable[[torch.Tensor], torch.Tensor],
              ids: np.ndarray, seq: int, windows: int, threshold: float) -> tuple[float, float]:
    """(BPC, big fraction) of the gate at `threshold` (inf: the big model on every step) over test windows."""
    x, y = lm_windows(ids, seq)
    x, y = x[:windows], y[:windows]
    x1 = one_hot(x, small.config.input_size)
    _, s = small_features(small, x1)
    run = top_gap(s) < threshold
    b = big(inputs(x1), run)
    logits = torch.where(run[..., None], b, s)
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return float(nll) / math.log(2), float(run.float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/gating_h_input"))
    ap.add_argument("--weights", default="ternary", choices=("binary", "ternary", "float"))
    ap.add_argument("--small-hidden", type=int, default=64)
    ap.add_argument("--big-hidden", type=int, default=256)
    ap.add_argument("--h-hidden", type=int, default=224)
    ap.add_argument("--bytes", type=int, default=3_000_000)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--windows", type=int, default=200, help="validation and test windows of --seq characters")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.9, 0.8, 0.7])
    ap.add_argument("--gate-aware", action="store_true", help="also train the h-input model under the gate")
    ap.add_argument("--skip-range", type=float, nargs=2, default=[0.1, 0.3])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=("baseline", "h"), default=None, help="train one big model (two processes)")
    ap.add_argument("--h-scale", type=float, default=1.0,
                    help="multiply the small model's h by this before the big model reads it (a power of two is a shift)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    text, source = build_corpus(args.bytes)
    corpus = corpus_from_bytes(text, args.seq, source)
    common = dict(task="charlm", weights=args.weights, seq_len=args.seq, batch_size=args.batch, epochs=1,
                  steps_per_epoch=args.steps, corpus_bytes=args.bytes, seed=args.seed, progress=False)
    t0 = time.perf_counter()
    small_run = args.out / "small"
    small_config = TrainConfig(hidden=args.small_hidden, **common)
    if (small_run / "metrics.json").exists() and json.loads((small_run / "metrics.json").read_text())["status"] == "done" \
            and json.loads((small_run / "config.json").read_text()) == json.loads(json.dumps(small_config.to_dict())):
        small = load_checkpoint(small_run).model.eval()  # trained before with the same config
        print(f"small H={args.small_hidden} loaded from {small_run}", flush=True)
    else:
        small = train(small_config, small_run, corpus).model
        print(f"small H={args.small_hidden} trained ({time.perf_counter() - t0:.0f} s)", flush=True)
    vocab, hs = corpus.vocab_size, args.small_hidden

    def with_h(x1: torch.Tensor) -> torch.Tensor:
        return torch.cat([x1, args.h_scale * small_features(small, x1)[0]], -1)

    def gate_mask(x1: torch.Tensor) -> torch.Tensor:
        gap = top_gap(small_features(small, x1)[1])
        lo, hi = args.skip_range
        q = lo + (hi - lo) * torch.rand(x1.shape[0])
        thresholds = torch.quantile(gap.reshape(-1), 1 - q)  # skip the q most confident steps of the batch
        return gap < thresholds[:, None]

    models = {"baseline": (args.big_hidden, lambda x1: x1, vocab, None),
              "h-input": (args.h_hidden, with_h, vocab + hs, None)}
    if args.gate_aware:
        models["h-input gate-aware"] = (args.h_hidden, with_h, vocab + hs, gate_mask)
    if args.only:
        models = {k: v for k, v in models.items() if k.startswith(args.only)}
    valid_x, _ = lm_windows(np.asarray(corpus.valid), args.seq)
    _, s_valid = small_features(small, one_hot(valid_x[:args.windows], vocab))
    gaps = top_gap(s_valid).reshape(-1)
    thresholds = {f: float(torch.quantile(gaps, f)) for f in args.fractions}
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "thresholds": thresholds}
    test = np.asarray(corpus.test)
    for name, (hidden, inputs, width, mask) in models.items():
        t = time.perf_counter()
        big = train_big(TrainConfig(hidden=hidden, **common), corpus, inputs, width, mask)
        row = {"hidden": hidden, "input": width, "train_s": round(time.perf_counter() - t),
               "always_big": gated_bpc(small, big, inputs, test, args.seq, args.windows, math.inf)[0]}
        for f, th in thresholds.items():
            row[f"gated@{f}"] = gated_bpc(small, big, inputs, test, args.seq, args.windows, th)
        results[name] = row
        print(f"{name}: {json.dumps(row)}", flush=True)
    small_bpc = gated_bpc(small, small, lambda x1: x1, test, args.seq, args.windows, -math.inf)[0]
    results["small"] = small_bpc
    print(f"small alone: {small_bpc:.3f} BPC", flush=True)
    (args.out / f"summary{'-' + args.only if args.only else ''}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
