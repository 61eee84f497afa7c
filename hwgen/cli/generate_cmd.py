"""`hwgen generate OUT/ --prompt "..." --chars N [--device PORT] [--temperature T --seed S] [--vocab RUN/]`.

Samples text from a character-level LM built with `hwgen build --target fpga`, feeding each
character back as the next input: on a board (--device), else in the Verilator host simulation of
the whole board top. Exit codes: 0 the board's every step matched the integer reference, 1 it
did not, 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="sample text from a char-LM board build (a board, or its host simulation)",
                       description="Generate text with a character-level LM built by `hwgen build --target fpga`: "
                                   "the prompt, then each sampled character, go through the board one step at a "
                                   "time (without --device: the Verilator simulation of the whole board top). "
                                   "Every step is checked against the integer reference. Exit 0: bit-exact; "
                                   "1: the board disagrees; 2: bad input.")
    p.add_argument("out", type=Path, help="the folder written by `hwgen build --target fpga -o OUT`")
    p.add_argument("--prompt", required=True, help="text to start from (characters of the model's vocabulary)")
    p.add_argument("--chars", type=int, required=True, metavar="N", help="characters to generate (>= 1)")
    p.add_argument("--device", metavar="PORT", default=None,
                   help="the board's serial port (e.g. /dev/ttyUSB0); default: the host simulation")
    p.add_argument("--temperature", type=float, default=0.0,
                   help="0 (default): the most likely character; > 0: sample from softmax(logits / T) "
                        "(needs a --stream logits build)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0)")
    p.add_argument("--vocab", metavar="RUN_OR_JSON", default=None,
                   help="the vocabulary: the `hwgen train lstm --task charlm` run folder or a vocab.json "
                        "(default OUT/vocab.json; the ONNX model does not carry it)")
    p.add_argument("--baud", type=int, default=None, help="with --device: serial baud rate (default: the build's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwgen.fpga.generate import Sampling, generate

    result = generate(args.out, args.prompt, args.chars, sampling=Sampling(args.temperature, args.seed),
                      port=args.device, vocab=args.vocab, baud=args.baud)
    print(result.prompt + result.text)
    where = args.device or "the host simulation"
    print(f"{len(result.outputs)} steps on {where}: "
          f"{'bit-exact with' if result.bit_exact else 'DIFFERENT from'} the integer reference")
    return 0 if result.bit_exact else 1
