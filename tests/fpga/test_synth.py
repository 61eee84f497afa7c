"""The synthesis entry point (`hwgen.fpga.synth`): its command lines are Amaranth's board build's, a tiny design
goes through yosys + nextpnr for the UP5K, the hierarchy is kept when asked, a failing tool names itself, its step
and its log."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from amaranth.hdl import Cat, Elaboratable, Module, Signal
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from hwgen.errors import HwgenError
from hwgen.fpga.boards import get_board
from hwgen.fpga.synth import (DEVICES, SynthOptions, ToolchainError, cache_key, device_for, nextpnr_args, pack_args,
                              synthesize, yosys_script)
from hwgen.fpga.toolchain import board_options


class Blinky(Elaboratable):
    """A counter on an LED: something the board platforms can build."""

    def elaborate(self, platform):
        m = Module()
        count = Signal(20)
        m.d.sync += count.eq(count + 1)
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += led.o.eq(count[-1])
        return m


class Product(wiring.Component):
    """A registered 8x8 multiply."""

    def __init__(self):
        super().__init__({"a": In(8), "b": In(8), "p": Out(16)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.p.eq(self.a * self.b)
        return m


class Serial(wiring.Component):
    """2 pins: operands shift in on `sin`, the XOR of the product comes out on `sout` (submodule `mul`)."""

    def __init__(self):
        super().__init__({"sin": In(1), "sout": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mul = mul = Product()
        shift = Signal(16)
        m.d.sync += shift.eq((shift << 1) | self.sin)
        m.d.comb += [mul.a.eq(shift[:8]), mul.b.eq(shift[8:])]
        out = Signal()
        m.d.sync += out.eq(mul.p.xor())
        m.d.comb += self.sout.eq(out)
        return m


def _commands(text: str) -> list[str]:
    """Lines that are commands, blanks collapsed."""
    return [" ".join(ln.split()) for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


@pytest.mark.parametrize("board_name", ["icebreaker", "ulx3s-85f"])
def test_board_builds_run_amaranths_command_lines(board_name, tmp_path):
    """The yosys script, nextpnr and packer arguments are those Amaranth's build script ran before
    (same options as the old run_build), so board builds keep their Fmax and utilisation per seed."""
    board = get_board(board_name)
    synth_opts = "-dsp" if board.family == "ice40" else ""
    plan = board.platform().prepare(Blinky(), name="top", synth_opts=synth_opts, verbose=False,
                                    nextpnr_opts="--report top.report.json --timing-allow-fail --seed 7")
    script = [shlex.split(ln) for ln in _commands(plan.files["build_top.sh"]) if ln.startswith('"$')]
    (yosys, nextpnr, pack) = script[-3:]
    options = board_options(board, seed=7)
    constraints = next(tmp_path / n for n in plan.files if n.endswith((".pcf", ".lpf")))
    assert yosys[1:] == ["-q", "-l", "top.rpt", "top.ys"]
    assert nextpnr[1:] == nextpnr_args(options, tmp_path, "top", constraints, bitstream=True)
    assert pack[1:] == pack_args(options, "top")
    ours = _commands(yosys_script([tmp_path / "top.il"], options, tmp_path, "top"))
    assert ours[-1].endswith("stat -json")  # read-only, after the netlist is written
    assert ours[:-1] == _commands(plan.files["top.ys"])


def test_options_name_the_synth_command():
    assert SynthOptions("ice40-up5k").synth_command() == "synth_ice40 -dsp"
    assert SynthOptions("ice40-up5k", multipliers="logic").synth_command("t") == "synth_ice40 -top t"
    assert SynthOptions("ecp5-85f").synth_command() == "synth_ecp5"
    unflat = SynthOptions("ecp5-85f", multipliers="logic", flatten=False)
    assert unflat.synth_command() == "synth_ecp5 -nodsp -noflatten"
    assert {device_for(get_board(d.board)) for d in DEVICES.values()} == set(DEVICES)


@pytest.mark.parametrize("bad, match", [
    ({"device": "ice40-hx8k"}, "unknown device"), ({"multipliers": "booth"}, "multipliers"),
    ({"clock_mhz": 0}, "positive"), ({"before_synth": "booth"}, "tuple"),
])
def test_bad_options_are_hwgen_errors(bad, match):
    with pytest.raises(HwgenError, match=match):
        SynthOptions(**bad)


def test_cache_key_follows_what_determines_the_result():
    src = ["module a; endmodule"]
    base = cache_key(src, SynthOptions())
    assert base == cache_key(list(src), SynthOptions())
    changed = [cache_key(["module b; endmodule"], SynthOptions()), cache_key(src, SynthOptions(seed=2)),
               cache_key(src, SynthOptions(clock_mhz=48)), cache_key(src, SynthOptions(multipliers="logic")),
               cache_key(src, SynthOptions(before_synth=("booth",))), cache_key(src, SynthOptions(flatten=False)),
               cache_key(src, SynthOptions("ecp5-85f")), cache_key(src, SynthOptions(), top="other"),
               cache_key(src, SynthOptions(), extra=["datapath"])]
    assert len({base, *changed}) == len(changed) + 1


def test_tiny_design_through_yosys_and_nextpnr(tmp_path):
    result = synthesize(Serial(), SynthOptions("ice40-up5k", clock_mhz=48), work_dir=tmp_path)
    assert result.placed and result.fmax_mhz > 20
    assert 16 < result.lcs < 200 and result.dsps == 1  # the multiply in an SB_MAC16
    assert result.ffs >= 17 and result.luts > 0
    assert [u.name for u in result.usage] == ["LC", "EBR", "SPRAM", "DSP"]
    assert result.usage[0].available == 5280
    files = result.files
    for path in (files.yosys_log, files.nextpnr_log, files.report_json, files.netlist, files.stat_json):
        assert path is not None and path.exists()
    assert files.bitstream is None
    assert "--freq 48" in files.toolchain_log.read_text()
    assert result.to_json()["utilisation"]["LC"]["used"] == result.lcs


def test_hierarchy_kept_gives_per_module_cells_without_placing(tmp_path):
    result = synthesize(Serial(), SynthOptions("ice40-up5k", multipliers="logic", flatten=False), work_dir=tmp_path)
    assert not result.placed and result.usage == () and result.files.nextpnr_log is None
    assert set(result.modules) == {"top", "top.mul"}
    assert result.modules["top.mul"].get("SB_LUT4", 0) > 50  # the soft multiplier sits in its module
    assert result.ffs == sum(n for cells in result.modules.values() for c, n in cells.items() if c.startswith("SB_DFF"))


def test_a_failing_tool_names_itself_its_step_and_log(tmp_path):
    with pytest.raises(ToolchainError, match=r"yosys failed at synthesis .*log: .*broken\.rpt") as info:
        synthesize("module broken(input a, output b); assign b = ; endmodule\n", SynthOptions(),
                   work_dir=tmp_path, top="broken")
    err = info.value
    assert (err.tool, err.step, err.log) == ("yosys", "synthesis", tmp_path / "broken.rpt")
    assert isinstance(err, HwgenError) and err.overflow == ()


class ManyProducts(wiring.Component):
    """More 16x16 multipliers than the UP5K has DSP blocks (8)."""

    def __init__(self, count: int = 10):
        self.count = count
        super().__init__({"sin": In(1), "sout": Out(1)})

    def elaborate(self, platform):
        m = Module()
        shift = Signal(32 * self.count)
        m.d.sync += shift.eq((shift << 1) | self.sin)
        out = Signal()
        products = [Signal(32, name=f"p{i}") for i in range(self.count)]
        for i, p in enumerate(products):
            m.d.sync += p.eq(shift[32 * i:32 * i + 16] * shift[32 * i + 16:32 * i + 32])
        m.d.sync += out.eq(Cat(*products).xor())
        m.d.comb += self.sout.eq(out)
        return m


def test_a_design_that_does_not_fit_says_which_resource(tmp_path):
    with pytest.raises(ToolchainError, match=r"does not fit the ice40-up5k \(DSP 10/8\): nextpnr failed at place and "
                                             r"route \(exit \d+\); log: .*top\.tim") as info:
        synthesize(ManyProducts(), SynthOptions(), work_dir=tmp_path)
    assert [u.name for u in info.value.overflow] == ["DSP"] and info.value.log == tmp_path / "top.tim"


def test_sources_are_read_by_kind(tmp_path):
    script = yosys_script([tmp_path / "a.v", tmp_path / "b.sv", Path("/elsewhere/c.il")], SynthOptions(), tmp_path)
    assert _commands(script)[:3] == ["read_verilog a.v", "read_verilog -sv b.sv", "read_rtlil /elsewhere/c.il"]
    with pytest.raises(HwgenError, match="reads"):
        yosys_script([tmp_path / "a.vhd"], SynthOptions(), tmp_path)


def test_board_flow_turns_an_overflow_into_a_resource_error_with_a_hint(small_design, tmp_path, monkeypatch):
    """build_bitstream reads the device table from the ToolchainError (no second parse of nextpnr's log)."""
    from hwgen.fpga import flow
    from hwgen.fpga.reports import ResourceError, Usage

    usage = (Usage("LC", 6000, 5280), Usage("EBR", 3, 30), Usage("SPRAM", 1, 4), Usage("DSP", 2, 8))
    errors = iter([ToolchainError("nextpnr failed", tool="nextpnr", step="place and route", usage=usage),
                   ToolchainError("yosys failed", tool="yosys", step="synthesis")])

    def failing_build(*args, **kwargs):
        raise next(errors)

    monkeypatch.setattr(flow, "run_build", failing_build)
    monkeypatch.setattr(flow.FpgaDesign, "top", lambda self: "top")  # nothing to elaborate: no build runs
    with pytest.raises(ResourceError, match=r"LC 6000/5280.*try fewer lanes"):
        flow.build_bitstream(small_design, tmp_path)
    with pytest.raises(ToolchainError, match="yosys failed"):
        flow.build_bitstream(small_design, tmp_path)
