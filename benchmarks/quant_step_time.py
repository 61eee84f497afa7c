"""Training-step time of hwgen's quantized LSTMs against nn.LSTM fp32, measured side by side in one run.

A step is forward + cross-entropy + backward + Adam (+ shadow-weight clipping for the
quantized models), on CPU, one thread by default. Variants are timed interleaved, round
by round, and the median is reported, so a busy machine slows every variant alike.
Two clocks: wall time, and the process's CPU time, which leaves out the time the step
waits for a core on a shared machine (the ratio the issue asks for is the wall one; the
CPU one says whether a change is real when other jobs load the machine).

    .venv/bin/python benchmarks/quant_step_time.py [--rounds 15] [--threads 1] [--quick]

Targets from issue 3: <= 1.3x nn.LSTM without batch norm, <= 2x with batch norm.
The "python loop" row is the same BN cell written as plain autograd ops over time
(what the fused recurrence replaces), for reference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from hwgen.quant.model import ModelConfig, QuantLSTMModel
from hwgen.quant.recurrence import bn_lstm_reference

SIZES = {  # name: (input X, hidden H, steps T, batch B, classes)
    "digits  X=8 H=32 T=8 B=64": (8, 32, 8, 64, 10),
    "digits  X=8 H=128 T=8 B=64": (8, 128, 8, 64, 10),
    "charlm  X=96 H=256 T=100 B=32": (96, 256, 100, 32, 96),
}


def _step_fn(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
        opt.step()
        if hasattr(model, "clip_shadow_weights"):
            model.clip_shadow_weights()

    return step


class _Baseline(torch.nn.Module):
    """nn.LSTM fp32 + Linear head, the same shapes as QuantLSTMModel."""

    def __init__(self, x: int, h: int, out: int, every_step: bool) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(x, h, batch_first=True)
        self.head = torch.nn.Linear(h, out)
        self.every_step = every_step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lstm(x)[0]
        return self.head(y if self.every_step else y[:, -1])


class _PythonLoopBN(torch.nn.Module):
    """The BN-LSTM cell as plain autograd ops per time step (no fused recurrence)."""

    def __init__(self, model: QuantLSTMModel) -> None:
        super().__init__()
        self.inner = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.inner.layers[0]
        w, r = layer.quantized_weights()
        xs = x.transpose(0, 1)
        z = xs @ w.t()
        var, mean = torch.var_mean(z, (0, 1), unbiased=False, keepdim=True)
        xg = layer.gamma_x * (z - mean) * torch.rsqrt(var + 1e-5)
        y = bn_lstm_reference(xg, r, layer.gamma_h, layer.beta_h, layer.gamma_c, layer.beta_c)
        head = self.inner.head
        return head(y[-1]) if self.inner.config.task == "digits" else head(y).transpose(0, 1)

    def clip_shadow_weights(self) -> None:
        self.inner.clip_shadow_weights()


def measure(name: str, size: tuple[int, int, int, int, int], rounds: int) -> list[tuple[str, float, float]]:
    xdim, h, t, b, out = size
    task = "digits" if name.startswith("digits") else "charlm"
    torch.manual_seed(0)
    x = torch.randn(b, t, xdim)
    y = torch.randint(0, out, (b,) if task == "digits" else (b, t))

    def ours(weights: str, bn: bool) -> QuantLSTMModel:
        return QuantLSTMModel(ModelConfig(task, xdim, h, 1, out, weights, bn, steps=t)).train()

    variants: dict[str, Callable[[], None]] = {
        "nn.LSTM fp32 (baseline)": _step_fn(_Baseline(xdim, h, out, task == "charlm"), x, y),
        "hwgen float (nn.LSTM kernel)": _step_fn(ours("float", False), x, y),
        "hwgen binary, no BN": _step_fn(ours("binary", False), x, y),
        "hwgen ternary, no BN": _step_fn(ours("ternary", False), x, y),
        "hwgen ternary + BN (fused)": _step_fn(ours("ternary", True), x, y),
        "hwgen ternary + BN (python loop)": _step_fn(_PythonLoopBN(ours("ternary", True)), x, y),
    }
    for fn in variants.values():  # warm-up
        fn()
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for key, fn in variants.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpu[key].append(time.process_time() - c0)
            wall[key].append(time.perf_counter() - t0)
    return [(k, statistics.median(wall[k]), statistics.median(cpu[k])) for k in variants]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="digits sizes only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"training step time, CPU, {args.threads} thread(s), median of {args.rounds} interleaved rounds")
    for name, size in SIZES.items():
        if args.quick and not name.startswith("digits"):
            continue
        rows = measure(name, size, args.rounds)
        base, base_cpu = rows[0][1], rows[0][2]
        print(f"\n{name}")
        print(f"  {'variant':36s} {'wall ms':>9s} {'vs nn.LSTM':>10s} {'CPU ms':>9s} {'vs nn.LSTM':>10s}")
        for key, sec, cpu_sec in rows:
            print(f"  {key:36s} {sec * 1e3:9.2f} {sec / base:9.2f}x {cpu_sec * 1e3:9.2f} {cpu_sec / base_cpu:9.2f}x")


if __name__ == "__main__":
    main()
