"""Read back what `hwgen build --target rtl` wrote: `load(out) -> Artifact(config, model, manifest)`."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Union

import numpy as np

from hwgen.errors import HwgenError
from hwgen.hw.config import AccelConfig
from hwgen.model.integer_model import IntegerModel


@dataclass(frozen=True, eq=False)
class Artifact:
    config: AccelConfig  # with .model set: .create() rebuilds the same hardware
    model: IntegerModel
    manifest: dict
    root: Path

    @property
    def verilog(self) -> Path:
        return self.root / self.manifest["verilog"]

    def inputs(self) -> np.ndarray:
        return np.load(self.root / self.manifest["vectors"]["inputs"])

    def expected(self) -> np.ndarray:
        return np.load(self.root / self.manifest["vectors"]["expected"])


def load(out: Union[str, Path]) -> Artifact:
    root = Path(out)
    mpath = root / "manifest.json"
    if not mpath.exists():
        raise HwgenError(f"{root}: no manifest.json (not an output directory of `hwgen build --target rtl`)")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as err:
        raise HwgenError(f"{mpath}: not valid JSON ({err})") from None
    model = IntegerModel.load(root / "model.npz")
    names = {f.name for f in fields(AccelConfig)} - {"model"}
    unknown = set(manifest["config"]) - names
    if unknown:
        raise HwgenError(f"{mpath}: unknown config fields {sorted(unknown)} (written by a newer hwgen?)")
    config = AccelConfig(**manifest["config"], model=model)
    return Artifact(config, model, manifest, root)
