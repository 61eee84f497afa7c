"""Run a board build on a real board: `run_on_board(folder, port, x) -> BoardRun` (`hwgen run --device`).

The folder is what `hwgen.fpga.build` wrote (fpga.json, model.npz, weights.npy for SPRAM);
weights are uploaded when they sit in SPRAM, each sequence is run, and the outputs are
compared with the integer reference, so a board that disagrees is never reported as working.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from hwgen.errors import HwgenError
from hwgen.model.integer_model import IntegerModel


@dataclass(frozen=True, eq=False)
class BoardRun:
    """Outputs [N, K] from the board, the reference's, and the cycles each sequence took."""

    outputs: np.ndarray
    expected: np.ndarray
    cycles: tuple[int, ...]
    steps: int

    @property
    def bit_exact(self) -> bool:
        return bool(np.array_equal(self.outputs, self.expected.reshape(self.outputs.shape)))

    @property
    def cycles_per_step(self) -> float:
        return float(np.mean([c / self.steps for c in self.cycles]))


def load_build(folder: Union[str, Path]) -> dict:
    """The board build's manifest (fpga.json), or a HwgenError saying how to make one."""
    manifest = Path(folder) / "fpga.json"
    if not manifest.exists():
        raise HwgenError(f"{folder}: not an FPGA build folder (no fpga.json); "
                         f"make one with `hwgen build model.onnx --target fpga --board ... -o {folder}`")
    return json.loads(manifest.read_text())


def input_codes(model: IntegerModel, x: np.ndarray) -> np.ndarray:
    """Integer inputs as they are (int arrays) or quantised from floats."""
    return x.astype(np.int64) if np.issubdtype(x.dtype, np.integer) else model.quantize_input(x)


def run_on_board(folder: Union[str, Path], port: str, x: np.ndarray, baud: Optional[int] = None,
                 timeout: float = 30.0) -> BoardRun:
    """Run [T, X] or [N, T, X] inputs on the board at `port` built into `folder`; compare with the reference."""
    from hwgen.fpga.driver import Device

    folder = Path(folder)
    meta = load_build(folder)
    model = IntegerModel.load(folder / meta["model"])
    codes = input_codes(model, x)
    if codes.ndim == 2:
        codes = codes[None]
    if codes.ndim != 3 or codes.shape[-1] != model.input_size:
        raise HwgenError(f"inputs of shape {list(x.shape)}: the board takes [T, {model.input_size}] or "
                         f"[N, T, {model.input_size}]")
    outs, cycles = [], []
    with Device(port, baud=baud or meta["baud"], timeout=timeout) as dev:
        info, expected_info = dev.info(), meta["device_info"]
        if info.in_width != expected_info["in_width"] or info.out_width != expected_info["out_width"]:
            raise HwgenError(f"{port}: the board runs a different design ({info}) than {folder} ({expected_info})")
        if meta.get("weights"):
            dev.write_weights(np.load(folder / meta["weights"]))
        for seq in codes:
            y, result = dev.infer(seq)
            outs.append(y)
            cycles.append(result.cycles)
    return BoardRun(np.stack(outs), model.run(codes), tuple(cycles), codes.shape[1])
