"""Describe an `hwgen build --target rtl` output folder as a :class:`~hwgen.sim.design.Design`.

The artefact (docs/accelerator-interface.md) carries the Verilog, memory images, the
manifest and the IntegerModel; `hwgen.rtl.artifact.load(out)` gives `.config` (an
AccelConfig), `.model` and `.manifest`. Port widths are read from the Verilog itself,
since that is what the simulator sees, and checked against the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwgen.errors import HwgenError
from hwgen.sim.design import PORTS, Design, ModelSpec

_PORT = re.compile(r"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?(\\?\w+)\s*;", re.M)


def port_widths(verilog: str, top: str) -> dict[str, int]:
    """Widths of the ports of module `top` in a Verilog text (Amaranth's non-ANSI style)."""
    match = re.search(rf"^module\s+\\?{re.escape(top)}\s*\(", verilog, re.M)
    if match is None:
        raise HwgenError(f"the Verilog has no module {top!r}")
    end = verilog.find("endmodule", match.end())
    body = verilog[match.end():end if end >= 0 else None]
    return {m.group(4).lstrip("\\"): (int(m.group(2)) - int(m.group(3)) + 1 if m.group(2) else 1)
            for m in _PORT.finditer(body)}


@dataclass(frozen=True)
class ArtifactModel:
    """The artefact's AccelConfig + IntegerModel as a SequenceModel."""

    artifact: Any

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.artifact.config.reference(self.artifact.model, x), dtype=np.int64)

    def expected_cycles(self, steps: int) -> int:
        return int(self.artifact.config.expected_cycles(steps))

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        return self.artifact.model.quantize_input(x)


def _load_artifact(out: Path) -> Any:
    try:
        from hwgen.rtl.artifact import load
    except ImportError as err:
        raise HwgenError(f"this installation has no RTL artefact loader (hwgen.rtl.artifact): {err}") from None
    if not (out / "manifest.json").exists():
        raise HwgenError(f"{out}: no manifest.json; this is not an `hwgen build --target rtl -o {out}` folder")
    return load(out)


def load_model(argument: str) -> ArtifactModel:
    """ModelSpec entry point (also used inside the cocotb simulator process)."""
    return ArtifactModel(_load_artifact(Path(argument)))


def design_from_artifact(out: Path) -> tuple[Design, ArtifactModel]:
    """The Design of an RTL artefact folder and its model."""
    out = Path(out).resolve()
    model = load_model(str(out))
    artifact = model.artifact
    config = artifact.config
    top = str(getattr(config, "top", None) or artifact.manifest.get("top"))
    if getattr(config, "weight_memory", "") == "spram":
        raise HwgenError(f"{out}: weights in SPRAM arrive over the wmem_* ports at start-up; `hwgen sim` simulates "
                         "designs whose weights are in the bitstream (weight_memory 'ebr' or 'registers')")
    named = out / str(artifact.manifest.get("verilog", ""))
    sources = (named,) if named.is_file() else tuple(sorted(out.glob("*.v")))
    if not sources:
        raise HwgenError(f"{out}: no Verilog (*.v) files")
    text = next((p.read_text() for p in sources if re.search(rf"^module\s+\\?{re.escape(top)}\b", p.read_text(), re.M)),
                None)
    if text is None:
        raise HwgenError(f"{out}: no Verilog file defines the top module {top!r} named by the manifest")
    widths = port_widths(text, top)
    missing = [p for p in PORTS if p not in widths]
    if missing:
        raise HwgenError(f"{out}: top module {top!r} lacks the contract ports {', '.join(missing)}")
    if hasattr(config, "act_bits") and widths["in_data"] != config.act_bits:
        raise HwgenError(f"{out}: in_data is {widths['in_data']} bits in the Verilog but act_bits={config.act_bits}")
    design = Design(top=top, verilog=sources, workdir=out, in_width=widths["in_data"], out_width=widths["out_data"],
                    step_elements=int(artifact.model.input_size), model=ModelSpec(__name__, str(out)),
                    output_mode="final", outputs_per_step=0)
    return design, model
