"""A board build whose placement fails at one seed for want of a legal placement (not of cells) places at the next
seed (`SynthOptions.placement_tries`), says which, and still fails at once when the design does not fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwgen.fpga import synth
from hwgen.fpga.boards import get_board
from hwgen.fpga.synth import NO_PLACEMENT, SynthFiles, SynthOptions, ToolchainError

DEVICE_TABLE = "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:    {lcs}/   5280    85%\n"


def fake_nextpnr(monkeypatch, outcomes: list[str], lcs: int = 4507) -> list[int]:
    """Replace the tool runner: the nth nextpnr call writes outcomes[n] ("ok", or a log that fails) into its log."""
    seeds: list[int] = []

    def run(cmd, files, env, tool, step, log, progress):
        seed = int(cmd[cmd.index("--seed") + 1])
        seeds.append(seed)
        outcome = outcomes[len(seeds) - 1]
        log.write_text(DEVICE_TABLE.format(lcs=lcs) + ("" if outcome == "ok" else f"ERROR: {outcome}\n"))
        if outcome != "ok":
            raise ToolchainError(f"nextpnr failed at {step} (exit 1)", tool=tool, step=step, log=log)

    monkeypatch.setattr(synth, "_run", run)
    return seeds


def place(tmp_path: Path, tries: int) -> SynthFiles:
    files = SynthFiles(tmp_path, tmp_path / "top.ys", tmp_path / "y.log", tmp_path / "stat.json", tmp_path / "tc.log")
    options = SynthOptions("ice40-up5k", seed=1, placement_tries=tries)
    return synth._place(files, options, "top", None, False, ({}, "nextpnr", "icepack"), None, get_board("icebreaker"))


def test_no_legal_placement_moves_to_the_next_seed(monkeypatch, tmp_path: Path) -> None:
    seeds = fake_nextpnr(monkeypatch, [NO_PLACEMENT + " for all cells", "ok"])
    assert place(tmp_path, tries=3).seed == 2 and seeds == [1, 2]


def test_one_try_or_the_last_try_reports_the_failure(monkeypatch, tmp_path: Path) -> None:
    seeds = fake_nextpnr(monkeypatch, [NO_PLACEMENT] * 3)
    with pytest.raises(ToolchainError, match="nextpnr failed at place and route"):
        place(tmp_path, tries=3)
    assert seeds == [1, 2, 3]
    seeds = fake_nextpnr(monkeypatch, [NO_PLACEMENT])
    with pytest.raises(ToolchainError):
        place(tmp_path, tries=1)
    assert seeds == [1]


def test_a_design_larger_than_the_device_is_not_retried(monkeypatch, tmp_path: Path) -> None:
    seeds = fake_nextpnr(monkeypatch, [NO_PLACEMENT, "ok"], lcs=6000)
    with pytest.raises(ToolchainError, match="does not fit"):
        place(tmp_path, tries=3)
    assert seeds == [1]


def test_a_board_build_reports_the_seed_it_placed_at(monkeypatch, tmp_path: Path) -> None:
    """`build_bitstream` writes the placement seed into report.txt / report.json (the toolchain faked: it placed at
    seed 2 after seed 1)."""
    import json

    from hwgen.fpga import flow
    from hwgen.fpga.synth import SynthResult
    from hwgen.fpga.toolchain import BuildProducts
    from hwgen.hw.synthetic import random_stack
    from hwgen.passes.lower_fixed_point import lower_stack

    board = get_board("icebreaker")
    design = flow.design_for(lower_stack(random_stack(8, 4, classes=3, kind="ternary")), board)

    def fake_build(board_, top, build_dir, *, seed=1, quiet=False, placement_tries=3):
        build_dir.mkdir(parents=True, exist_ok=True)
        report = build_dir / "top.report.json"
        report.write_text(json.dumps({"fmax": {"sync": {"achieved": 90.0}},
                                      "utilization": {r.cell: {"used": 1} for r in board.resources}}))
        (build_dir / "top.bin").write_bytes(b"bitstream")
        files = SynthFiles(build_dir, build_dir / "top.ys", build_dir / "y.log", build_dir / "s.json",
                           build_dir / "tc.log", report_json=report, bitstream=build_dir / "top.bin", seed=seed + 1)
        return BuildProducts(build_dir, build_dir / "top.bin", report, build_dir / "top.tim", build_dir / "y.log", 1.0,
                             SynthResult("ice40-up5k", (), 90.0, 0, 0, {}, files, 1.0))

    monkeypatch.setattr(flow, "run_build", fake_build)
    report = flow.build_bitstream(design, tmp_path / "out", quiet=True)
    assert report.details["placement_seed"] == 2
    assert "placement seed" in (tmp_path / "out" / "report.txt").read_text()
