"""`hwgen build small.onnx --gated-with big.onnx --target rtl -o OUT`: the surprisal-gated pair in one design.

Both models are lowered as a single-model build lowers them (`hwgen.rtl.lowering.lower`, the same options),
each gets its accelerator config (the same lanes policy), and `hwgen.hw.gated.GatedTop` puts them behind
the gating unit. The threshold comes from the big model's gate metadata (`hwgen.frontend.gate_metadata`),
converted to the codes of the small model as lowered here, unless `GateOptions.gate_threshold` gives it.

Files (docs/surprisal-gating.md, "The gating unit"):
    OUT/<top>.v                the gated top: both accelerators and the gating unit
    OUT/manifest.json          kind "surprisal_gated": both configs, the gate, the stream, cycles
    OUT/small.npz, OUT/big.npz the IntegerModels
    OUT/vectors/inputs.npy     character ids [N, T, 1]
    OUT/vectors/expected.npy   output beats [N, T, 1 + 2V] (decision, used logits, small logits)
    OUT/vectors/decisions.npy  the gate's decisions [N, T]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from hwgen.errors import HwgenError
from hwgen.hw.config import AccelConfig
from hwgen.hw.gated_config import GatedConfig
from hwgen.ir.graph import Graph
from hwgen.model.integer_model import IntegerModel
from hwgen.rtl.artifact import BuildFolder
from hwgen.rtl.emit import config_dict
from hwgen.rtl.lowering import accel_config, lower
from hwgen.rtl.options import AccelOptions, GateOptions

MANIFEST_KIND = "surprisal_gated"
#: Test vectors' steps when the options give none.
DEFAULT_TEST_STEPS = 12


@dataclass(frozen=True, eq=False)
class GatedArtifact(BuildFolder):
    config: GatedConfig
    manifest: dict
    root: Path

    def summary(self) -> str:
        cfg, cyc = self.config, self.manifest["cycles"]
        return (f"wrote {self.verilog}: surprisal-gated char-LMs over {cfg.vocab} symbols, small H={cfg.small.hidden} "
                f"({cfg.small.lanes} lanes) and big H={cfg.big.hidden} ({cfg.big.lanes} lanes), threshold "
                f"{cfg.threshold}; {cyc['step_big_runs']} cycles a step the big model runs, {cyc['step_big_skipped']} "
                f"a step it skips")


def _lowered(graph: Graph, options: AccelOptions, role: str) -> IntegerModel:
    model = lower(graph, options)
    if not isinstance(model, IntegerModel):
        raise HwgenError(f"{graph.name}: the {role} model of a gated pair is a GRU; the gating unit pairs LSTM "
                         "char-LMs (the gate's held state is an LSTM's h and c)")
    if model.head is None or model.output_steps != "every_step":
        raise HwgenError(f"{graph.name}: the {role} model of a gated pair must be a char-LM (a dense head on every "
                         f"step), but it outputs {model.output!r} on {model.output_steps!r} steps")
    return model


def check_pair_files(small_path: str | Path, big_path: str | Path) -> None:
    """Where the small model is a file: it must be the small model of the same pair as `big_path`."""
    from hwgen.frontend.gate_metadata import gate_metadata  # onnx on first use: explore and sim import this module

    small, big = gate_metadata(small_path, "small"), gate_metadata(big_path, "big")
    if (small.threshold_codes, small.threshold_logit) != (big.threshold_codes, big.threshold_logit):
        raise HwgenError(f"{small_path} and {big_path} are not one pair: their gate thresholds differ "
                         f"({small.threshold_codes} / {small.threshold_logit} against {big.threshold_codes} / "
                         f"{big.threshold_logit}); export them together with export_pair")


def gated_models(small_graph: Graph, gate: GateOptions, options: AccelOptions) -> tuple[IntegerModel, IntegerModel, int]:
    """Both models lowered (as a single-model build lowers them) and the gate's threshold in the small model's logit
    codes (from the big model's metadata unless given): what the rtl and fpga targets put behind the gate."""
    if gate.gated_with is None:
        raise HwgenError("a gated build needs gated_with: the big model's .onnx")
    from hwgen.frontend import load_graph
    from hwgen.frontend.gate_metadata import gate_metadata

    big_path = Path(gate.gated_with)
    meta = gate_metadata(big_path, "big")
    small = _lowered(small_graph, options, "small")
    big = _lowered(load_graph(big_path), options, "big")
    if small.input_size != big.input_size or small.output_size != big.output_size:
        raise HwgenError(f"{small_graph.name} and {big_path}: the models' vocabularies differ (small {small.input_size} "
                         f"in, {small.output_size} out; big {big.input_size} in, {big.output_size} out); a gated pair "
                         "reads and predicts one vocabulary")
    threshold = gate.gate_threshold if gate.gate_threshold is not None else meta.threshold_for(small.output_scale)
    return small, big, threshold


def gated_top_name(options: AccelOptions) -> str:
    return options.top if options.top != AccelOptions.top else "hwgen_gated"


def gated_config(small_graph: Graph, gate: GateOptions, options: AccelOptions) -> GatedConfig:
    """Lower both models and put them behind the gate, each with the rtl target's accelerator config."""
    small, big, threshold = gated_models(small_graph, gate, options)
    return GatedConfig(accel_config(small, options), accel_config(big, options), threshold,
                       top=gated_top_name(options))


def vector_ids(config: GatedConfig, options: AccelOptions) -> np.ndarray:
    """Character ids [N, T, 1], uniform over the vocabulary (seeded)."""
    steps = options.test_steps or DEFAULT_TEST_STEPS
    return np.random.default_rng(0).integers(0, config.vocab, (options.test_vectors, steps, 1))


def build_gated(small_graph: Graph, out: str | Path, options: AccelOptions, gate: GateOptions) -> GatedArtifact:
    """Lower the pair, write the gated top's Verilog, models, test vectors and manifest into `out`."""
    from amaranth.back import verilog

    config = gated_config(small_graph, gate, options)
    out = Path(out)
    (out / "vectors").mkdir(parents=True, exist_ok=True)
    vfile = f"{config.top}.v"
    (out / vfile).write_text(verilog.convert(config.create(), name=config.top, emit_src=False))
    save_models(config, out)
    ids = vector_ids(config, options)
    expected, run = config.reference(ids[..., 0])
    np.save(out / "vectors" / "inputs.npy", ids)
    np.save(out / "vectors" / "expected.npy", expected)
    np.save(out / "vectors" / "decisions.npy", run.big_ran)
    manifest = {
        "version": 1,
        "kind": MANIFEST_KIND,
        "top": config.top,
        "verilog": vfile,
        **pair_entries(config, "option" if gate.gate_threshold is not None else f"{gate.gated_with} metadata"),
        "ports": [{"name": n, "dir": d, "width": w, "signed": s} for n, d, w, s in (
            ("clk", "in", 1, False), ("rst", "in", 1, False), ("in_valid", "in", 1, False),
            ("in_ready", "out", 1, False), ("in_data", "in", config.id_bits, True), ("in_last", "in", 1, False),
            ("out_valid", "out", 1, False), ("out_ready", "in", 1, False), ("out_data", "out", config.out_bits, True),
            ("out_last", "out", 1, False))],
        "vectors": {"inputs": "vectors/inputs.npy", "expected": "vectors/expected.npy",
                    "decisions": "vectors/decisions.npy", "shape": list(ids.shape)},
        "files": [vfile, "small.npz", "big.npz", "vectors/inputs.npy", "vectors/expected.npy",
                  "vectors/decisions.npy", "manifest.json"],
    }
    manifest["cycles"]["per_sequence"] = [config.expected_cycles(d) for d in run.big_ran]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return GatedArtifact(config, manifest, out)


def save_models(config: GatedConfig, out: Path) -> None:
    """OUT/small.npz and OUT/big.npz, the files `pair_entries` names."""
    assert config.small.model is not None and config.big.model is not None
    config.small.model.save(out / "small.npz")
    config.big.model.save(out / "big.npz")


def pair_entries(config: GatedConfig, threshold_from: str) -> dict:
    """The manifest entries of a gated pair that the rtl and the board builds both write (`config_from_manifest`
    reads them back): the gate, both configs and model files, the stream layout and each kind of step's cycles."""
    from hwgen.frontend.gate_metadata import GATE_RULE

    assert config.small.model is not None and config.big.model is not None
    return {
        "gate": {"rule": GATE_RULE, "threshold": config.threshold, "threshold_from": threshold_from,
                 "big_state_when_skipped": "holds (h, c of every layer); a skipped sequence end resets the big "
                                           "accelerator's registers"},
        "small": {"config": config_dict(config.small), "model": "small.npz"},
        "big": {"config": config_dict(config.big), "model": "big.npz"},
        "input": {"what": "character id", "size": 1, "beats_per_step": 1, "bits": config.id_bits, "vocab": config.vocab},
        "output": {"bits": config.out_bits, "per_step": config.outputs_per_step,
                   "layout": "per step: decision (1: big ran), the V logits used (big's if it ran, else small's), "
                             "the small model's V logits; out_last on the sequence's last beat",
                   "scales": {"small": config.small.model.output_scale, "big": config.big.model.output_scale}},
        "cycles": {"small_step": config.small.expected_cycles(1), "big_step": config.big.expected_cycles(1),
                   "step_big_runs": config.step_cycles(True), "step_big_skipped": config.step_cycles(False),
                   "definition": "first input beat to last output beat inclusive, inputs always valid, output always "
                                 "ready; a sequence's cycles are the sum of its steps' by the gate's decisions"},
    }


def is_gated(manifest: dict) -> bool:
    return manifest.get("kind") == MANIFEST_KIND


def is_gated_folder(out: str | Path) -> bool:
    """Whether `out` holds a gated build (False for anything else, which the single-model loader then judges)."""
    try:
        return is_gated(json.loads((Path(out) / "manifest.json").read_text()))
    except (OSError, ValueError, AttributeError):
        return False


def load_gated(out: str | Path, manifest: dict | None = None) -> GatedArtifact:
    """Read a gated build folder back (its configs carry their models, so `config.create()` rebuilds it)."""
    root = Path(out)
    if manifest is None:
        path = root / "manifest.json"
        if not path.exists():
            raise HwgenError(f"{root}: no manifest.json (not an output directory of `hwgen build --target rtl`)")
        manifest = json.loads(path.read_text())
    if not is_gated(manifest):
        raise HwgenError(f"{root}: not a gated build (manifest kind {manifest.get('kind')!r})")
    return GatedArtifact(config_from_manifest(root, manifest, "manifest.json"), manifest, root)


def config_from_manifest(root: Path, manifest: dict, name: str) -> GatedConfig:
    """The GatedConfig a gated manifest (`root/name`: the rtl manifest.json, or a board's fpga.json) records: its
    "small" and "big" configs and model files, "gate" threshold and "top"."""
    fields_ = {f.name for f in fields(AccelConfig)} - {"model"}
    configs = []
    for role in ("small", "big"):
        given = manifest[role]["config"]
        unknown = set(given) - fields_
        if unknown:
            raise HwgenError(f"{root}/{name}: unknown {role} config fields {sorted(unknown)} (a newer hwgen?)")
        configs.append(AccelConfig(**given, model=IntegerModel.load(root / manifest[role]["model"])))
    return GatedConfig(configs[0], configs[1], int(manifest["gate"]["threshold"]), top=manifest["top"])
