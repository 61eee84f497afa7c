"""`hwgen train lstm ... -o RUN/` and `hwgen train transformer --weights float|int8|ternary|binary ... -o RUN/`."""

from __future__ import annotations

import argparse
from pathlib import Path

from hwgen.finetune.choices import METHODS, TICKET_STEPS
from hwgen.quant.choices import (BN_X_MODES, CELLS, DISTILL_METHODS, EMBEDDING_KINDS, LR_SCHEDULES, PRUNE_METHODS, QUANTIZERS,
                                 TASKS, TRANSFORMER_WEIGHTS, WEIGHT_KINDS)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a binary/ternary model (RUN/ gets checkpoint + metrics.json)",
                       description="Train models with binary/ternary weights on data already on this machine.")
    kinds = p.add_subparsers(dest="family", metavar="FAMILY", required=True)
    q = kinds.add_parser("lstm", help="LSTM (or --cell gru) with binary/ternary weights and in-cell batch norm (Ardakani et al. 2019)",
                         description="Train an LSTM classifier (8x8 digits, rows as time steps) or a character-level "
                                     "language model; RUN/ holds checkpoint.pt, config.json and metrics.json.")
    q.add_argument("--task", choices=TASKS, default="digits", help="digits: sklearn 8x8 digits; charlm: char-level LM (BPC)")
    q.add_argument("--cell", choices=CELLS, default="lstm",
                   help="recurrent cell: lstm, or gru (nn.GRU's form, ONNX linear_before_reset=1; same recipe and flags)")
    q.add_argument("--weights", choices=WEIGHT_KINDS, default="ternary", help="recurrent weight kind (default ternary)")
    q.add_argument("--hidden", type=int, default=32, help="hidden units per layer (default 32)")
    q.add_argument("--layers", type=int, default=1, help="stacked LSTM layers (default 1)")
    q.add_argument("--epochs", type=int, default=30)
    q.add_argument("--batch-size", type=int, default=64)
    q.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 5e-3 digits, 2e-3 charlm)")
    q.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None,
                   help="constant, or cosine decay to 5%% of --lr over all steps (default constant digits, cosine charlm)")
    q.add_argument("--grad-clip", type=float, default=5.0, help="gradient norm clip (0: off)")
    q.add_argument("--bn", action=argparse.BooleanOptionalAction, default=None,
                   help="in-cell batch norm (default: on for binary/ternary, off for float = nn.LSTM)")
    q.add_argument("--bn-x", choices=BN_X_MODES, default="shared",
                   help="training statistics of BN(Wx.x): over batch and time (default) or per step")
    q.add_argument("--fold-epochs", type=int, default=None,
                   help="final epochs trained with the time-shared BN statistics the export uses "
                        "(default: epochs/4 digits, 0 charlm)")
    q.add_argument("--quantizer", choices=QUANTIZERS, default="deterministic")
    q.add_argument("--seq-len", type=int, default=100, help="charlm: characters per training sequence")
    q.add_argument("--corpus", action="append", default=[], metavar="PATH",
                   help="charlm: text file or folder (repeat); default: Linux kernel source from Debian's "
                        "linux-source-6.1 if installed, else this Python's standard library sources")
    q.add_argument("--corpus-bytes", type=int, default=2_000_000, help="charlm: corpus size cap in bytes")
    q.add_argument("--steps-per-epoch", type=int, default=None, help="charlm: batches per epoch (default: one pass)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int, default=1, help="CPU threads (results are deterministic per seed and thread count)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("-o", "--output", type=Path, required=True, metavar="RUN", help="run directory to write")
    q.set_defaults(func=run)
    add_transformer_parser(kinds)


def add_transformer_parser(kinds: argparse._SubParsersAction) -> None:
    t = kinds.add_parser("transformer", help="compressed BERT classifier: int8/ternary/binary QAT, pruning, distillation",
                         description="Fine-tune a BERT encoder (default all-MiniLM-L6-v2, offline) as a text classifier "
                                     "(default task: Debian package descriptions by section) with quantized encoder "
                                     "weights, optional pruning and distillation; RUN/ holds checkpoint.pt, config.json, "
                                     "metrics.json (test accuracy, ECE, TF-IDF + LR baseline) and tokenizer/.")
    t.add_argument("--weights", choices=TRANSFORMER_WEIGHTS, default="float", help="encoder Linear weights (default float)")
    t.add_argument("--quantizer", choices=QUANTIZERS, default="deterministic", help="binary/ternary: thresholds or sampling")
    t.add_argument("--embeddings", choices=EMBEDDING_KINDS, default="float", help="int8: quantize the embedding tables too")
    t.add_argument("--model", default=None, metavar="PATH", help="a local Hugging Face BERT folder (default all-MiniLM-L6-v2)")
    t.add_argument("--init", default=None, metavar="RUN", help="start from a trained transformer RUN (e.g. the float fine-tune)")
    t.add_argument("--data", default=None, metavar="FILE", help=".jsonl or .csv with 'text' and 'label' (default: Debian topics)")
    t.add_argument("--prune", choices=PRUNE_METHODS, default="none",
                   help="magnitude: unstructured, cubic sparsity schedule; structured: cut heads and FFN units")
    t.add_argument("--sparsity", type=float, default=0.5, help="target fraction pruned (default 0.5)")
    t.add_argument("--distill", choices=DISTILL_METHODS, default="none",
                   help="kd: Hinton KD; bdkd: entropy-balanced forward/reverse KL; ceskd: one teacher per sample by difficulty")
    t.add_argument("--teacher", action="append", default=[], metavar="RUN", help="teacher RUN (repeat for ceskd)")
    t.add_argument("--alpha", type=float, default=0.5, help="weight of the distillation term (default 0.5)")
    t.add_argument("--temperature", type=float, default=2.0)
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--steps", type=int, default=None, help="cap on optimizer steps; 0 with --init: post-training quantisation, no training")
    t.add_argument("--limit", type=int, default=None, help="cap on training texts (a seeded subset)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--max-len", type=int, default=64, help="tokens per text (truncated)")
    t.add_argument("--lr", type=float, default=1e-4, help="AdamW peak learning rate (10%% warm-up, linear decay)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--device", default="cpu", metavar="DEV",
                   help="cpu (default; deterministic per seed and thread count), cuda or cuda:N: train on a GPU "
                        "(--method full only)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("-o", "--output", type=Path, required=True, metavar="RUN", help="run directory to write")
    add_method_args(t)
    t.set_defaults(func=run_transformer)


def add_method_args(t: argparse.ArgumentParser) -> None:
    g = t.add_argument_group("efficient fine-tuning (docs/finetune.md)")
    g.add_argument("--method", choices=METHODS, default="full",
                   help="full (default); far: freeze and reconfigure FFN units; learner: primed low-rank learners; "
                        "lora, ia3: peft baselines; select / topk: adapt k layers chosen by class variability / the top k; "
                        "ticket: train on the winning-ticket subset of the texts")
    g.add_argument("--prime-steps", type=int, default=4, help="far, learner: full fine-tuning steps first (default 4)")
    g.add_argument("--prime-lr", type=float, default=None,
                   help="far, learner: the priming's peak learning rate (default: --lr), e.g. a full fine-tune's while "
                        "--lr is the learners'")
    g.add_argument("--far-fraction", type=float, default=0.6, help="far: share of each layer's FFN units frozen")
    g.add_argument("--rank", type=int, default=1, help="learner: rank of each learner (default 1)")
    g.add_argument("--layers-k", type=int, default=2, help="select, topk: layers adapted (default 2)")
    g.add_argument("--ticket-steps", choices=TICKET_STEPS, default="proportional",
                   help="ticket: a candidate subset's optimizer steps: proportional to its size (the full run's epochs; "
                        "default) or the same as the full run's (more epochs on fewer texts)")


def run_transformer(args: argparse.Namespace) -> int:
    from hwgen.quant.transformer_train import TransformerTrainConfig, train_transformer

    config = TransformerTrainConfig(weights=args.weights, quantizer=args.quantizer, embeddings=args.embeddings,
                                    model=args.model, init=args.init, data=args.data, prune=args.prune,
                                    sparsity=args.sparsity, distill=args.distill, teachers=tuple(args.teacher),
                                    alpha=args.alpha, temperature=args.temperature, epochs=args.epochs, steps=args.steps,
                                    limit=args.limit, batch_size=args.batch_size, max_len=args.max_len, lr=args.lr,
                                    seed=args.seed, threads=args.threads, device=args.device,
                                    progress=not args.quiet)
    if args.method != "full":
        return run_method(args, config)
    m = train_transformer(config, args.output).metrics
    b = m["baseline"]
    print(f"{config.weights} transformer ({m['trained_parameters']:,} parameters, {m['steps']} steps): "
          f"test accuracy {m['test_accuracy']:.2f} %, ECE {m['test_ece']:.2f} %; "
          f"TF-IDF + LR baseline {b['test_accuracy']:.2f} %, ECE {b['test_ece']:.2f} %")
    print(f"wrote {args.output}/checkpoint.pt, config.json, metrics.json, tokenizer/ ({m['train_seconds']:.1f} s)")
    return 0


def run_method(args: argparse.Namespace, train) -> int:
    from hwgen.finetune.far import FarOptions
    from hwgen.finetune.learners import LearnerOptions
    from hwgen.finetune.run import FinetuneConfig, finetune

    config = FinetuneConfig(train, method=args.method, prime_steps=args.prime_steps, prime_lr=args.prime_lr,
                            far=FarOptions(args.far_fraction),
                            learner=LearnerOptions(args.rank), k=args.layers_k, ticket_steps=args.ticket_steps)
    m = finetune(config, args.output).metrics
    print(f"{args.method} fine-tune ({m['trained_parameters']:,} trained parameters, {m['steps']} steps): "
          f"test accuracy {m['test_accuracy']:.2f} %; TF-IDF + LR baseline {m['baseline']['test_accuracy']:.2f} %")
    print(f"wrote {args.output}/checkpoint.pt, config.json, metrics.json (\"finetune\": the method's figures)")
    return 0


def run(args: argparse.Namespace) -> int:
    from hwgen.quant.train import TrainConfig, train

    config = TrainConfig(task=args.task, cell=args.cell, weights=args.weights, hidden=args.hidden, layers=args.layers, bn=args.bn,
                         quantizer=args.quantizer, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         lr_schedule=args.lr_schedule,
                         grad_clip=args.grad_clip, seed=args.seed, threads=args.threads, seq_len=args.seq_len,
                         corpus=tuple(args.corpus), corpus_bytes=args.corpus_bytes,
                         steps_per_epoch=args.steps_per_epoch, fold_epochs=args.fold_epochs, bn_x=args.bn_x,
                         progress=not args.quiet)
    m = train(config, args.output).metrics
    unit = "% accuracy" if m["metric"] == "accuracy" else " BPC"
    line = f"{config.task} {config.weights} {config.cell.upper()} (hidden {config.hidden}, {config.layers} layer(s)): test {m['test']:.3f}{unit}"
    if "test_per_step_bn" in m:
        line += f" with time-shared BN (per-step statistics: {m['test_per_step_bn']:.3f})"
    print(line)
    print(f"wrote {args.output}/checkpoint.pt, config.json, metrics.json ({m['train_seconds']:.1f} s, {m['step_ms']:.1f} ms/step)")
    return 0
