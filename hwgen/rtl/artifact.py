"""What `hwgen.rtl.build` returns and `load(out)` reads back: `RtlArtifact(config, model, manifest, root)`."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Union

import numpy as np

from hwgen.errors import HwgenError
from hwgen.hw.config import AccelConfig
from hwgen.model.saved import RecurrentModel, load_model


class BuildFolder:
    """What every accelerator build folder has (a single model's or a gated pair's): the Verilog and the test
    vectors its manifest names."""

    manifest: dict
    root: Path

    @property
    def verilog(self) -> Path:
        return self.root / self.manifest["verilog"]

    def inputs(self) -> np.ndarray:
        return np.load(self.root / self.manifest["vectors"]["inputs"])

    def expected(self) -> np.ndarray:
        return np.load(self.root / self.manifest["vectors"]["expected"])


@dataclass(frozen=True, eq=False)
class RtlArtifact(BuildFolder):
    config: AccelConfig  # with .model set: .create() rebuilds the same hardware
    model: RecurrentModel
    manifest: dict
    root: Path

    def summary(self) -> str:
        """One line: what was written and how fast it runs."""
        cfg, cyc = self.config, self.manifest["cycles"]
        steps = self.inputs().shape[1]
        return (f"wrote {self.verilog}: {cfg.weights_kind} {cfg.cell.upper()} {cfg.input}->{cfg.hidden} x{cfg.layers}, {cfg.lanes} lanes"
                f"{f' × {cfg.gate_rows} gate rows' if cfg.gate_rows > 1 else ''}, "
                f"{cfg.weight_memory} weights{f' ({cfg.ebr_target} block RAM budget)' if cfg.ebr_target else ''}; "
                f"{cyc['per_step']} cycles/step (utilisation {cyc['utilisation']:.3f}), {cyc['per_sequence']} cycles per "
                f"{steps}-step sequence")


def load(out: Union[str, Path]) -> RtlArtifact:
    root = Path(out)
    mpath = root / "manifest.json"
    if not mpath.exists():
        raise HwgenError(f"{root}: no manifest.json (not an output directory of `hwgen build --target rtl`)")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as err:
        raise HwgenError(f"{mpath}: not valid JSON ({err})") from None
    model = load_model(root / "model.npz")
    names = {f.name for f in fields(AccelConfig)} - {"model"}
    unknown = set(manifest["config"]) - names
    if unknown:
        raise HwgenError(f"{mpath}: unknown config fields {sorted(unknown)} (written by a newer hwgen?)")
    config = AccelConfig(**manifest["config"], model=model)
    return RtlArtifact(config, model, manifest, root)
