"""The Python front door: `hwgen.compile`, the per-target `build` entry points and their typed options."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import hwgen
from hwgen.errors import HwgenError
from hwgen.fpga import BoardOptions
from hwgen.frontend import load_graph
from hwgen.hw.config import ConfigError
from hwgen.hw.synthetic import write_onnx
from hwgen.rtl import AccelOptions, OptionsError, RtlArtifact
from hwgen.rtl.api import accel_config, lower
from hwgen.rtl.options import GateOptions
from hwgen.targets import TARGETS, get_target


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory):
    return write_onnx(tmp_path_factory.mktemp("api") / "m.onnx", hidden=8, input_size=4, steps=3, classes=3, seed=2)


@pytest.mark.parametrize("form", ["path", "proto", "graph"])
def test_compile_takes_a_path_a_model_proto_or_a_graph(small_onnx, tmp_path, form):
    model = {"path": small_onnx, "proto": onnx.load(small_onnx), "graph": load_graph(small_onnx)}[form]
    art = hwgen.compile(model, "rtl", tmp_path / "out", lanes=2, test_vectors=2)
    assert isinstance(art, RtlArtifact) and art.config.lanes == 2 and art.verilog.is_file()
    np.testing.assert_array_equal(art.model.run(art.inputs()), art.expected())
    assert "2 lanes" in art.summary() and "cycles/step" in art.summary()


def test_compile_and_build_are_one_path(small_onnx, tmp_path):
    """hwgen.compile(..., **options) and hwgen.rtl.build(graph, out, AccelOptions(...)) write the same design."""
    a = hwgen.compile(small_onnx, "rtl", tmp_path / "a", lanes=4)
    b = hwgen.rtl.build(load_graph(small_onnx), tmp_path / "b", AccelOptions(lanes=4))
    assert a.verilog.read_text() == b.verilog.read_text()
    assert a.manifest["cycles"] == b.manifest["cycles"]


def test_unknown_and_missing_options_name_what_is_wrong(small_onnx, tmp_path):
    with pytest.raises(HwgenError, match=r"target 'rtl' has no option\(s\) board; its options: lanes, "):
        hwgen.compile(small_onnx, "rtl", tmp_path, board="icebreaker")
    with pytest.raises(HwgenError, match=r"target 'fpga' needs option\(s\) board"):
        hwgen.compile(small_onnx, "fpga", tmp_path)
    with pytest.raises(HwgenError, match=r"unknown target 'vhdl'; choose one of fpga, rtl, tvm"):
        hwgen.compile(small_onnx, "vhdl", tmp_path)
    with pytest.raises(HwgenError, match=r"model must be an .onnx path, an onnx.ModelProto or an hwgen IR Graph"):
        hwgen.compile(42, "rtl", tmp_path)


@pytest.mark.parametrize("kwargs,message", [
    (dict(lanes=0), r"lanes must be >= 1, got 0"),
    (dict(weight_memory="flash"), r"weight memory 'flash' is not one of registers, ebr, spram"),
    (dict(weights="int4"), r"accelerator weights 'int4' is not one of auto, int8"),
    (dict(device="virtex"), r"device 'virtex' is not one of ice40, ecp5"),
    (dict(act_bits=2), r"act_bits must be in 3..16, got 2"),
    (dict(test_vectors=0), r"test_vectors must be >= 1, got 0"),
    (dict(top="my top"), r"top 'my top' is not a Verilog identifier"),
])
def test_accel_options_refuse_bad_values(kwargs, message):
    with pytest.raises(OptionsError, match=message):
        AccelOptions(**kwargs)


@pytest.mark.parametrize("kwargs,message", [
    (dict(board="arty"), r"board 'arty' is not one of icebreaker, ulx3s-85f"),
    (dict(board="icebreaker", clock_mhz=0), r"clock_mhz must be > 0"),
    (dict(board="icebreaker", input_buffer=0), r"input_buffer must be >= 1 word"),
])
def test_board_options_refuse_bad_values(kwargs, message):
    with pytest.raises(OptionsError, match=message):
        BoardOptions(**kwargs)


def test_board_decides_weight_memory_and_device(small_onnx, tmp_path):
    graph = load_graph(small_onnx)
    with pytest.raises(OptionsError, match=r"board icebreaker keeps weights in 'spram'"):
        hwgen.fpga.build(graph, tmp_path, AccelOptions(weight_memory="ebr"), BoardOptions("icebreaker"))
    with pytest.raises(OptionsError, match=r"board ulx3s-85f is an ecp5 board"):
        hwgen.fpga.build(graph, tmp_path, AccelOptions(device="ice40"), BoardOptions("ulx3s-85f"))


def test_generic_rtl_assumes_no_board_budget(tmp_path):
    """An H=128 ternary model's EBR weights (64 iCE40 blocks) are generic Verilog for rtl, refused for an iCE40."""
    graph = load_graph(write_onnx(tmp_path / "h128.onnx", hidden=128, input_size=128, steps=2, classes=4, seed=0))
    model = lower(graph, AccelOptions())
    assert accel_config(model, AccelOptions()).lanes == 8
    with pytest.raises(ConfigError, match=r"weights need 64 EBR blocks.*iCE40 UP5K has 24 free"):
        accel_config(model, AccelOptions(device="ice40"))
    assert accel_config(model, AccelOptions(device="ecp5")).ebr_target == "ecp5"


def test_registry_lists_each_target_with_check_build_and_options():
    assert sorted(TARGETS) == ["fpga", "rtl", "tvm"]
    assert get_target("fpga").options == (AccelOptions, BoardOptions, GateOptions)  # a gated pair builds for boards too
    for target in TARGETS.values():
        assert callable(target.check) and callable(target.build) and target.description
