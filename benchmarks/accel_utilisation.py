"""Accelerator utilisation: ideal cycles 4H(X+H)/lanes ÷ cycles per step, at H = 64 and 128, and with every-step
logits (a char-LM) the dense head's K·H/lanes beside it.

The cycles per step come from `AccelConfig.cycles_per_step()` (the controller's schedule);
this script first validates that count against amaranth.sim at small sizes — measured
cycles per step = cycles(T+1 steps) − cycles(T steps) of whole sequences — then prints the
utilisation table side by side with a no-overlap baseline (the state update of a step's
last units finishing before the next step starts: + write_offset cycles per pass).

    .venv/bin/python benchmarks/accel_utilisation.py
"""

from __future__ import annotations

import time

import numpy as np

from hwgen.hw.amaranth_sim import simulate
from hwgen.hw.config import AccelConfig
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import lower_stack


def measured_cycles_per_step(hidden: int, input_size: int, lanes: int, layers: int = 1, classes: int = 4,
                             every_step: bool = False) -> tuple[int, int]:
    model = lower_stack(random_stack(hidden, input_size, layers, classes, seed=0, every_step=every_step))
    config = AccelConfig.for_model(model, lanes=lanes)
    rng = np.random.default_rng(0)
    counts = []
    for steps in (2, 3):
        seq = model.quantize_input(rng.uniform(-1, 1, (steps, input_size)))
        result = simulate(config, [seq])
        assert np.array_equal(result.outputs[0], model.run(seq)), "simulation is not bit-exact"
        counts.append(result.cycles[0])
    return counts[1] - counts[0], config.cycles_per_step()


def main() -> None:
    print("validation in amaranth.sim (cycles per step: measured vs expected_cycles)")
    print(f"{'H':>4} {'X':>4} {'L':>2} {'lanes':>5} {'measured':>9} {'expected':>9} {'sim s':>6}")
    for h, x, lanes, layers in ((8, 8, 2, 1), (8, 8, 4, 1), (16, 8, 8, 1), (8, 4, 4, 2)):
        t0 = time.time()
        got, want = measured_cycles_per_step(h, x, lanes, layers)
        print(f"{h:4d} {x:4d} {layers:2d} {lanes:5d} {got:9d} {want:9d} {time.time() - t0:6.1f}" + ("" if got == want else "  MISMATCH"))
    print()
    print("utilisation = 4H(X+H)/lanes / cycles per step (overlapped schedule vs no-overlap baseline)")
    print(f"{'H':>4} {'X':>4} {'lanes':>5} {'ideal':>7} {'cycles':>7} {'util':>6} {'no-overlap':>10} {'util':>6} {'ratio':>6}")
    for h in (64, 128):
        for x in (h, 16, 99):  # 99: a char-LM vocabulary, zero-padded to whole chunks
            for lanes in (8, 16, 32, 64):
                if h % lanes:
                    continue
                # The schedule does not depend on the weight memory; ECP5 EBR holds every size here (UP5K SPRAM
                # words are at most 64 bits wide, too narrow for 64 ternary lanes).
                cfg = AccelConfig(hidden=h, input=x, lanes=lanes, outputs=10, weight_memory="ebr", ebr_target="ecp5")
                sched = cfg.schedule()
                base = sum(sched.pass_cycles) + sched.write_offset + 1
                ideal = cfg.ideal_cycles_per_step()
                print(f"{h:4d} {x:4d} {lanes:5d} {ideal:7.0f} {sched.cycles_per_step:7d} {ideal / sched.cycles_per_step:6.3f} "
                      f"{base:10d} {ideal / base:6.3f} {base / sched.cycles_per_step:6.3f}")
    every_step_table()
    board_lanes()


#: Issue 19's char-LM shape: H = 128, a vocabulary of ~100 characters in (one-hot) and out (logits every step).
CHARLM_VOCAB = 104


def serial_head_cycles_per_step(cfg: AccelConfig) -> int:
    """The every-step schedule before the head had lanes (main at 7d89f0b): drain, then the burst on the row affine's
    one multiplier — 1 + K·(H + 7) cycles (H products, 6 pipeline cycles, the handshake) — then one WAIT cycle."""
    sched = cfg.schedule()
    return sched.issue_cycles + sched.write_offset + 1 + cfg.outputs * (cfg.hidden + 7) + 1


def every_step_table() -> None:
    """Every-step logits (a char-LM): the dense head on its own lanes beside the next step vs the serial burst."""
    print()
    print("every-step validation in amaranth.sim (dense head beside the next step; K=40 at H=2: the head-bound HOLD)")
    print(f"{'H':>4} {'X':>4} {'K':>4} {'L':>2} {'lanes':>5} {'measured':>9} {'expected':>9} {'sim s':>6}")
    for h, x, k, lanes, layers in ((8, 8, 10, 4, 1), (16, 12, 20, 8, 1), (8, 4, 6, 2, 2), (2, 1, 40, 1, 1)):
        t0 = time.time()
        got, want = measured_cycles_per_step(h, x, lanes, layers, classes=k, every_step=True)
        print(f"{h:4d} {x:4d} {k:4d} {layers:2d} {lanes:5d} {got:9d} {want:9d} {time.time() - t0:6.1f}"
              + ("" if got == want else "  MISMATCH"))
    print()
    print("every-step utilisation: util = max(gates 4H(X+H)/(lanes·rows), head K·H/lanes) / cycles per step;")
    print("util+ counts the head's K·H/lanes on top (as if it shared the gates' lanes); before: serial burst")
    print(f"{'H':>4} {'X':>4} {'K':>4} {'lanes×rows':>10} {'gates':>6} {'head':>5} {'cycles':>7} {'util':>6} {'util+':>6}"
          f" {'before':>7} {'util':>6} {'util+':>6} {'speed-up':>8}")
    for h in (64, 128):
        for lanes, rows in ((8, 1), (16, 1), (32, 1), (8, 4)):
            x = k = CHARLM_VOCAB
            cfg = AccelConfig(hidden=h, input=x, lanes=lanes, gate_rows=rows, outputs=k, output_steps="every_step",
                              weight_memory="ebr", ebr_target="ecp5")
            gates, head = cfg.gate_ideal_cycles_per_step(), cfg.head_ideal_cycles_per_step()
            now, before = cfg.cycles_per_step(), serial_head_cycles_per_step(cfg)
            print(f"{h:4d} {x:4d} {k:4d} {f'{lanes}×{rows}':>10} {gates:6.0f} {head:5.0f} {now:7d} {max(gates, head) / now:6.3f}"
                  f" {(gates + head) / now:6.3f} {before:7d} {max(gates, head) / before:6.3f} {(gates + head) / before:6.3f}"
                  f" {before / now:8.2f}")


#: Lanes the UP5K board build used before the bandwidth-matched preference (issue 19): PREFERRED_LANES = 4,
#: widened only where the SPRAM depth forced it (H=256: 8).
MAIN_BOARD_LANES = {64: 4, 128: 4, 256: 8}


def board_lanes() -> None:
    """The UP5K board fit's lanes against the SPRAM bound: 4 SPRAMs × 16 bits = 32 ternary codes a cycle, so a step
    needs at least 4H(X+H)/32 cycles (ternary, X = H, 10-class head, weights in SPRAM)."""
    from hwgen.fpga.flow import block_ram_uses, design_for

    print()
    print("UP5K board fit (icebreaker): lanes and cycles per step vs the SPRAM bound 4H(X+H)/32 (ternary, X = H)")
    print(f"{'H':>4} {'lanes×rows':>10} {'EBR':>4} {'cycles':>7} {'bound':>7} {'of bound':>8}   {'before':>6} {'cycles':>7} "
          f"{'of bound':>8}")
    for h in (64, 128, 256):
        design = design_for(lower_stack(random_stack(h, h, classes=10, kind="ternary")), "icebreaker")
        cfg = design.config
        bound = 4 * h * 2 * h / 32
        old = AccelConfig(hidden=h, input=h, lanes=MAIN_BOARD_LANES[h], outputs=10, weight_memory="spram", acc_bits=24)
        print(f"{h:4d} {f'{cfg.lanes}×{cfg.gate_rows}':>10} {sum(u.blocks for u in block_ram_uses(design)):4d} {cfg.cycles_per_step():7d} "
              f"{bound:7.0f} {bound / cfg.cycles_per_step():8.3f}   {old.lanes:6d} {old.cycles_per_step():7d} "
              f"{bound / old.cycles_per_step():8.3f}")


if __name__ == "__main__":
    main()
