"""The surprisal-gated pair on a board: `hwgen build small.onnx --gated-with big.onnx --target fpga --board B`.

The gated top (`hwgen.hw.gated.GatedTop`: both char-LM accelerators and the gating unit) goes behind the same UART
host link as a single model. The link streams per step (`StreamMode.LOGITS`): one input word, the character id, and
the step's 1 + 2V output beats (the decision, the V logits the prediction uses, the small model's V logits), so a
host generating text sees step t before it sends x_{t+1}.

Both accelerators keep their weights in block RAM, preloaded by the bitstream, on either board: the gated top has
no SPRAM upload port. On the UP5K a pair therefore fits only while both weight sets and the rest fit its 30 EBRs;
the ECP5 85F's 208 hold an H=256 big model. Each accelerator gets the board's lanes policy on its own
(`hwgen.fpga.fit.choose_config` with the weights in EBR, one gate row a word, at most `PAIR_PRODUCTS` codes a
cycle; `--lanes` fixes both) and half the multipliers left for dense heads (the UP5K's 8 DSPs: 3 + 3 for the two
row affines and state updates, one head lane each); the whole design's block RAM is checked before any tool runs.

Run files (fpga.json with kind "surprisal_gated", small.npz, big.npz) are what `hwgen generate OUT --prompt ...`
reads: it runs the pair on the board, or in the Verilator host simulation of the whole board top, and checks every
step's beats against `GatedConfig.reference`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hwgen.errors import HwgenError
from hwgen.fpga.board_top import BoardTop, ClockPlan, plan_clock
from hwgen.fpga.boards import Board, get_board
from hwgen.fpga.fit import check_block_ram, choose_config, head_lane_choices
from hwgen.fpga.flow import block_ram_uses, board_entries, buffer_depth, link_lines, unelaborated_info
from hwgen.fpga.link import HostLink
from hwgen.fpga.options import BoardOptions, check_device
from hwgen.fpga.protocol import DeviceInfo, StreamMode
from hwgen.hw.config import AccelConfig
from hwgen.hw.gated_config import GatedConfig
from hwgen.ir.graph import Graph
from hwgen.rtl.gated import (MANIFEST_KIND, config_from_manifest, gated_models, gated_top_name, is_gated,
                             pair_entries, save_models)
from hwgen.rtl.options import AccelOptions, GateOptions, OptionsError

#: The most weight codes per cycle each accelerator of a pair gets by default (one gate row a word). UP5K: a 5-symbol
#: pair (H=4 and H=8 char-LMs) took 4448 of 5280 LCs and 8 of 8 DSPs at 2 lanes each, 5289 LCs at 4 lanes; ECP5 85F:
#: its single-model budget (`hwgen.fpga.fit.LOGIC_LANES`, 16 codes a cycle) for each (its LUTs are 16 × the UP5K's).
PAIR_PRODUCTS = {"ice40": 2, "ecp5": 16}
#: fpga.json of a gated board build (the rtl build's manifest.json has the same pair entries).
MANIFEST = "fpga.json"


@dataclass(frozen=True)
class GatedFpgaDesign:
    """A gated pair on a board, before any tool runs (the interface of `hwgen.fpga.flow.BoardDesign`)."""

    board: Board
    config: GatedConfig
    clock: ClockPlan
    input_depth: int
    output_depth: int
    threshold_from: str = "option"
    stream: StreamMode = StreamMode.LOGITS

    def link(self, simulate: bool = False, divisor: Optional[int] = None) -> HostLink:
        """The top level without pins (`simulate` changes nothing: no SPRAM); `divisor`: a fast simulated line."""
        return HostLink(self.config.create(), divisor=divisor or self.clock.divisor, input_depth=self.input_depth,
                        output_depth=self.output_depth, stream=self.stream, step_words=1,
                        step_outputs=self.config.outputs_per_step)

    def device_info(self) -> DeviceInfo:
        return unelaborated_info(self.link())

    def top(self) -> BoardTop:
        return BoardTop(self.board, self.link(), self.clock)

    def describe(self) -> dict[str, object]:
        cfg, hz = self.config, self.clock.hz
        parts = [f"{role} {c.weights_kind} LSTM hidden={c.hidden} lanes={c.lanes} gate_rows={c.gate_rows}"
                 for role, c in (("small", cfg.small), ("big", cfg.big))]
        run, skip = cfg.step_cycles(True), cfg.step_cycles(False)
        return {
            "accelerator": f"surprisal-gated pair over {cfg.vocab} symbols: {'; '.join(parts)}; weights in EBR; "
                           f"threshold {cfg.threshold}",
            "cycles per step": f"{run} when the big model runs, {skip} when it skips",
            "time per step": f"{run / hz * 1e6:.2f} / {skip / hz * 1e6:.2f} us at {hz / 1e6:g} MHz",
            **link_lines(self),
        }

    def smaller(self) -> str:
        return (f"try fewer lanes (now small {self.config.small.lanes}, big {self.config.big.lanes}; --lanes sets "
                f"both) or smaller models")

    def write_run_files(self, out: Path, bitstream: str = "", fmax_mhz: Optional[float] = None) -> Path:
        """fpga.json, small.npz and big.npz: what `hwgen generate` reads."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        save_models(self.config, out)
        manifest = {"kind": MANIFEST_KIND, "top": self.config.top, **board_entries(self, bitstream, fmax_mhz),
                    **pair_entries(self.config, self.threshold_from), "weights": None}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return out / MANIFEST


def gated_design(small_graph: Graph, accel: AccelOptions, board_options: BoardOptions,
                 gate: GateOptions) -> GatedFpgaDesign:
    """Lower the pair (as the rtl target does), fit each accelerator to the board with its weights in EBR, and check
    the whole design's block RAM."""
    board = get_board(board_options.board)
    if accel.weight_memory not in (None, "ebr"):
        raise OptionsError(f"weight memory {accel.weight_memory!r}: a gated pair keeps both weight sets in block RAM "
                           f"(the gated top has no SPRAM upload port); leave it unset")
    check_device(accel.device, board)
    if board_options.stream not in (None, "logits"):
        raise OptionsError(f"--stream {board_options.stream}: a gated pair's board returns each step's decision and "
                           f"logits (1 + 2V words); --stream argmax is for a single char-LM")
    small, big, threshold = gated_models(small_graph, gate, accel)
    in_blocks = dataclasses.replace(board, weight_memory="ebr")
    kind = "int8" if accel.weights == "int8" else None
    small_cfg, big_cfg = (_shared_head(board, choose_config(in_blocks, m, accel.lanes, kind, gate_rows=accel.gate_rows or 1,
                                                            max_products=PAIR_PRODUCTS[board.family]))
                          for m in (small, big))
    config = GatedConfig(small_cfg, big_cfg, threshold, top=gated_top_name(accel))
    design = GatedFpgaDesign(board, config, plan_clock(board, board_options.clock_mhz, board_options.baud),
                             buffer_depth(board_options.input_buffer, 1), config.outputs_per_step,
                             "option" if gate.gate_threshold is not None else f"{gate.gated_with} metadata")
    check_block_ram(board, block_ram_uses(design),
                    f"the gated pair (small H={small.hidden}, big H={big.hidden}, {config.vocab} symbols, weights in "
                    f"EBR) with a {design.input_depth}-word input buffer",
                    lambda: "a gated pair needs both weight sets in block RAM: try smaller models, a smaller "
                            "--input-buffer, or the ulx3s-85f (208 EBR)")
    return design


def _shared_head(board: Board, config: AccelConfig) -> AccelConfig:
    """`config` with the most head lanes its half of the board's multipliers allows (two accelerators share them)."""
    return dataclasses.replace(config, head_lanes=head_lane_choices(board.family, config, sharers=2)[0])


def gated_design_from_manifest(folder: Path, meta: dict) -> GatedFpgaDesign:
    """The design a gated board folder recorded (not re-fitted): what its host simulation runs."""
    if not is_gated(meta):
        raise HwgenError(f"{folder}/{MANIFEST}: not a gated pair's board build")
    config = config_from_manifest(Path(folder), meta, MANIFEST)
    board = get_board(meta["board"])
    clock = plan_clock(board, meta["clock_hz"] / 1e6 if meta.get("pll") else None, meta["baud"])
    info = meta["device_info"]
    design = GatedFpgaDesign(board, config, clock, info["input_depth"], info["output_depth"],
                             meta["gate"]["threshold_from"])
    if dataclasses.asdict(design.device_info()) != info:
        raise HwgenError(f"{folder}/{MANIFEST}: its device info is not the design it describes; rebuild the folder "
                         f"with `hwgen build --gated-with ... --target fpga`")
    return design
