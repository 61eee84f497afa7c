"""Write the RTL artifact of the contract: Verilog, memory images, manifest, model, vectors.

A build plan is data (`RtlBuild`); `emit(build, out)` executes it. Files:
    out/<top>.v               the whole accelerator (amaranth.back.verilog)
    out/mem/*.hex             memory images ($readmemh: one hex word per line)
    out/manifest.json         config, formats, ports, output mode, cycles, memories, files
    out/model.npz             the IntegerModel (hwgen.rtl.artifact.load reads it back)
    out/vectors/inputs.npy    integer input codes [N, T, X]
    out/vectors/expected.npy  bit-exact expected outputs [N, K] ([N, T, K] when outputs come every step)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from hwgen.hw import images
from hwgen.hw.activation import table_image
from hwgen.hw.config import AccelConfig
from hwgen.model.gru import IntegerGRUModel
from hwgen.model.saved import RecurrentModel

MANIFEST_VERSION = 1


@dataclass(frozen=True, eq=False)
class RtlBuild:
    config: AccelConfig
    model: RecurrentModel
    inputs: np.ndarray  # [N, T, X] integer test vectors


def config_dict(config: AccelConfig) -> dict[str, object]:
    return {f.name: getattr(config, f.name) for f in fields(config) if f.name != "model"}


def _hex(path: Path, words: list[int], bits: int) -> None:
    digits = max(1, (bits + 3) // 4)
    mask = (1 << bits) - 1
    path.write_text("".join(f"{w & mask:0{digits}x}\n" for w in words))


def port_list(config: AccelConfig) -> list[dict[str, object]]:
    ports = [("clk", "in", 1, False), ("rst", "in", 1, False), ("in_valid", "in", 1, False), ("in_ready", "out", 1, False),
             ("in_data", "in", config.act_bits, True), ("in_last", "in", 1, False), ("out_valid", "out", 1, False),
             ("out_ready", "in", 1, False), ("out_data", "out", config.out_bits, True), ("out_last", "out", 1, False)]
    if config.weight_memory == "spram":
        from hwgen.hw.pipeline import clog2

        ports += [("wmem_we", "in", 1, False), ("wmem_addr", "in", clog2(config.weight_words), False),
                  ("wmem_data", "in", config.word_bits, False)]
    return [{"name": n, "dir": d, "width": w, "signed": s} for n, d, w, s in ports]


def verilog(config: AccelConfig) -> str:
    from amaranth.back import verilog as back

    top = config.create()
    return back.convert(top, name=config.top, emit_src=False)


def emit(build: RtlBuild, out: Path) -> dict[str, object]:
    """Write every file; returns the manifest."""
    cfg, model = build.config, build.model
    out.mkdir(parents=True, exist_ok=True)
    (out / "mem").mkdir(exist_ok=True)
    (out / "vectors").mkdir(exist_ok=True)
    files: list[str] = []

    vfile = f"{cfg.top}.v"
    (out / vfile).write_text(verilog(cfg))
    files.append(vfile)

    mems = []
    rows = images.row_params(model)
    mb, bb = cfg.mult_bits, cfg.bias_bits
    gru = isinstance(model, IntegerGRUModel)
    plan = [
        ("weights", images.weight_words(cfg, model), cfg.word_bits, cfg.weight_memory != "spram",
         "weight codes, one word per chunk of lanes codes of gate_rows rows (see hwgen.hw.images)"),
        ("row_params", images.row_words(rows, mb, bb), 2 * mb + bb * (2 if gru else 1), True,
         "per-row mult_x | mult_h << mult_bits | bias << 2*mult_bits"
         + (" | reset_bias << 2*mult_bits+bias_bits (GRU n rows; 0 on z, r)" if gru else "")),
    ]
    if not gru:
        plan.append(("cell_params", [(c & ((1 << mb) - 1)) | ((b & ((1 << bb) - 1)) << mb) for c, b in images.cell_params(model)],
                     mb + bb, True, "per-unit cell mult | bias << mult_bits"))
    plan += [
        ("act_tables", table_image(model.sigmoid, model.tanh), cfg.act_bits, True, ("sigmoid table then tanh table, whole (the Verilog ROMs hold only their k >= 0 "
                                                                           "halves, hwgen.hw.activation.rom_image)")),
    ]
    if model.head is not None:
        plan.append(("head_weights", images.head_words(cfg, model), 8 * cfg.head_products, True,
                     "dense weights, one word per head_products int8 codes of one output row (see hwgen.hw.images)"))
        plan.append(("head_bias", [int(b) for b in model.head.bias], cfg.out_bits, True, "dense bias [K]"))
    for name, words, bits, preloaded, what in plan:
        _hex(out / "mem" / f"{name}.hex", words, bits)
        files.append(f"mem/{name}.hex")
        mems.append({"name": name, "file": f"mem/{name}.hex", "width": bits, "depth": len(words),
                     "preloaded": preloaded, "contents": what,
                     **({} if preloaded else {"upload": "write word i to wmem_addr=i with wmem_we=1 before the first sequence"})})

    model.save(out / "model.npz")
    files.append("model.npz")
    inputs = np.asarray(build.inputs, np.int64)
    expected = model.run(inputs)
    np.save(out / "vectors" / "inputs.npy", inputs)
    np.save(out / "vectors" / "expected.npy", expected)
    files += ["vectors/inputs.npy", "vectors/expected.npy"]

    sched = cfg.schedule()
    steps = int(inputs.shape[1])
    fmt = lambda f: {"bits": f.bits, "frac": f.frac}  # noqa: E731
    manifest: dict[str, object] = {
        "version": MANIFEST_VERSION,
        "top": cfg.top,
        "verilog": vfile,
        "config": config_dict(cfg),
        "cell": cfg.cell,
        "formats": {"input": fmt(model.input_format), "hidden": fmt(model.hidden_format), "gate": fmt(model.gate_format),
                    **({} if gru else {"cell": fmt(model.cell_format)})},
        "output": {"mode": model.output, "size": model.output_size, "bits": cfg.out_bits, "scale": model.output_scale,
                   "steps": cfg.output_steps,
                   "when": ("after every step: size values per step, steps in order, out_last on the sequence's last value"
                            if cfg.output_steps == "every_step" else "after the last step of each sequence (in_last)")},
        "input": {"size": cfg.input, "padded": cfg.padded_input(), "beats_per_step": cfg.input,
                  "padding": ("none" if cfg.padded_input() == cfg.input else
                              f"layer 0 reads {cfg.x_chunks(0)} chunks of {cfg.lanes}: the last chunk's "
                              f"{cfg.padded_input() - cfg.input} pad slots are never written and read 0; the stream is unchanged")},
        "ports": port_list(cfg),
        "clock": {"domain": "sync", "reset": "synchronous, active high"},
        "cycles": {"per_step": sched.cycles_per_step, "ideal_per_step": cfg.ideal_cycles_per_step(),
                   "utilisation": cfg.utilisation(), "steps": steps, "per_sequence": cfg.expected_cycles(steps),
                   "definition": "first input beat to last output beat inclusive, inputs always valid, output always ready"},
        "schedule": asdict(sched),
        "saturation": str(model.saturation()),
        "notes": list(model.notes),
        "memories": mems,
        "vectors": {"inputs": "vectors/inputs.npy", "expected": "vectors/expected.npy", "shape": list(inputs.shape)},
        "files": files + ["manifest.json"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
