"""Build one whole board design (host link + accelerator) of a random ternary char-LM-shaped LSTM — one-hot input of
--vocab characters, --vocab logits after every step — or, with --classes, a last-step classifier (input = hidden), and
print its LCs, EBR, DSP, Fmax and cycles per step: the board cost of the dense head's lanes (issue 19).

    .venv/bin/python benchmarks/tools/charlm_board.py --board icebreaker --hidden 64 --vocab 104 [--seed 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.fpga_boards import Row, _build_seeds
from hwgen.fpga.board_top import plan_clock
from hwgen.fpga.boards import get_board
from hwgen.fpga.flow import design_for
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import lower_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default="icebreaker")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=104)
    parser.add_argument("--classes", type=int, default=0, help="a last-step classifier with this many classes instead")
    parser.add_argument("--clock", type=float, default=48.0)
    parser.add_argument("--seed", type=int, default=1, help="nextpnr seed")
    parser.add_argument("--work", type=Path, default=Path("runs/charlm_board"))
    args = parser.parse_args()
    board = get_board(args.board)
    clock = plan_clock(board, args.clock)
    if args.classes:
        stack = random_stack(args.hidden, args.hidden, 1, args.classes, kind="ternary", seed=0)
    else:
        stack = random_stack(args.hidden, args.vocab, 1, args.vocab, kind="ternary", seed=0, every_step=True)
    design = design_for(lower_stack(stack), board, clock_mhz=args.clock)
    cfg = design.config
    name = f"H{args.hidden}_{'cls' if args.classes else 'charlm'}"
    row = _build_seeds(board, design.top, clock, args.work, Row(name), [args.seed])
    print(f"{name} on {board.name}: lanes {cfg.lanes}×{cfg.gate_rows}, head lanes {getattr(cfg, 'head_lanes', '-')}, "
          f"{cfg.cycles_per_step()} cycles/step; {row.lcs} LCs, {row.ebr} EBR, {row.spram} SPRAM, {row.dsp} DSP, "
          f"Fmax {row.fmax:.1f} MHz ({row.seconds:.0f} s){' ' + row.note if row.note else ''}")


if __name__ == "__main__":
    main()
