"""Bitstreams with the open toolchain. One small iCE40 build runs by default (the host link
around the tiny stand-in accelerator); the real accelerator and ECP5 builds are slow."""

import json

import pytest

from hwgen.fpga.board_top import BoardTop, plan_clock
from hwgen.fpga.boards import get_board
from hwgen.fpga.link import HostLink
from hwgen.fpga.reports import (TimingError, check_timing, format_report, plot_utilisation, read_report,
                                usage_from_log)
from hwgen.fpga.toolchain import run_build

from standin import TernaryDenseStream


@pytest.fixture(scope="module")
def icebreaker_build(tmp_path_factory):
    board = get_board("icebreaker")
    clock = plan_clock(board, None)
    link = HostLink(TernaryDenseStream(3, 2), divisor=clock.divisor, input_depth=256, output_depth=16)
    build_dir = tmp_path_factory.mktemp("ice40")
    return board, clock, run_build(board, BoardTop(board, link, clock), build_dir, quiet=True)


def test_bitstream_and_reports(icebreaker_build, tmp_path):
    board, clock, products = icebreaker_build
    assert products.bitstream.name == "top.bin" and products.bitstream.stat().st_size > 100_000
    report = read_report(board, products.report_json, clock.hz / 1e6, products.seconds)
    lc = report.usage_of("LC")
    assert 100 < lc.used < lc.available == 5280
    assert report.usage_of("EBR").used >= 1  # the input/output buffers are block RAM
    assert report.fmax_mhz > 12  # a UART link meets the board's 12 MHz oscillator
    check_timing(report)
    # The log's table (what a failed placement leaves) agrees with the JSON report.
    assert usage_from_log(board, products.nextpnr_log) == report.usage
    text = format_report(report)
    assert "LC" in text and f"{report.fmax_mhz:.2f}" in text
    png = plot_utilisation(report, tmp_path / "u.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_failed_timing_is_an_error(icebreaker_build):
    board, clock, products = icebreaker_build
    report = read_report(board, products.report_json, 1000.0)
    with pytest.raises(TimingError, match=r"Fmax .* < requested clock 1000"):
        check_timing(report)


@pytest.mark.slow
@pytest.mark.parametrize("board, cell", [("icebreaker", "lstm"), ("ulx3s-85f", "lstm"), ("icebreaker", "gru")])
def test_cli_build_real_accelerator(board, cell, tmp_path):
    from hwgen.cli import main
    from hwgen.hw.synthetic import write_onnx

    model = write_onnx(tmp_path / "m.onnx", 16, 8, steps=4, classes=4, cell=cell)
    assert main(["build", str(model), "--target", "fpga", "--board", board, "-o", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    meta = json.loads((out / "fpga.json").read_text())
    assert (out / meta["bitstream"]).exists() and (out / "utilisation.png").exists()
    assert json.loads((out / "report.json").read_text())["timing"] == "met"
    assert (meta["weights"] is not None) == (board == "icebreaker")  # SPRAM on UP5K, EBR on ECP5


@pytest.mark.slow
def test_pll_clock_build(tmp_path):
    board = get_board("icebreaker")
    clock = plan_clock(board, 24.0)
    link = HostLink(TernaryDenseStream(3, 2), divisor=clock.divisor, input_depth=64, output_depth=4)
    products = run_build(board, BoardTop(board, link, clock), tmp_path, quiet=True)
    report = read_report(board, products.report_json, clock.hz / 1e6)
    assert report.clock_mhz == 24.0
    assert json.loads(products.report_json.read_text())["utilization"]["ICESTORM_PLL"]["used"] == 1


@pytest.mark.slow
def test_ternary_h256_whole_top_places_on_the_up5k(tmp_path):
    """The issue's requirement end to end: H=256 ternary, weights in SPRAM, UART link included, placed and routed;
    nextpnr's block RAM count is the fit check's."""
    from hwgen.fpga.flow import block_ram_uses, design_for
    from hwgen.hw.synthetic import random_stack
    from hwgen.passes.lower_fixed_point import lower_stack

    board = get_board("icebreaker")
    design = design_for(lower_stack(random_stack(256, 256, classes=10, kind="ternary")), board)
    products = run_build(board, design.top(), tmp_path, quiet=True)
    report = read_report(board, products.report_json, design.clock.hz / 1e6)
    assert report.usage_of("SPRAM").used == 4
    assert report.usage_of("EBR").used == sum(u.blocks for u in block_ram_uses(design)) <= 30
