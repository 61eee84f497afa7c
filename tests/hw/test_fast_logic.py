"""The timing helpers the board designs rely on: carry-select sums, one-hot FSMs, registered reads."""

import random

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.lib.memory import Memory

from hwgen.hw.onehot import OneHotFSM
from hwgen.hw.pipeline import NO_RW_CHECK, carry_select_add, registered_read

from tests.hw.simutil import run_cycles


@pytest.mark.parametrize("wa,wb,width,low", [(6, 5, 7, 3), (6, 6, 6, 0), (9, 4, 10, 7)])
def test_carry_select_add_is_a_wrapping_sum(wa, wb, width, low):
    m = Module()
    a, b = Signal(signed(wa)), Signal(signed(wb))
    out = Signal(signed(width))
    m.d.comb += out.eq(carry_select_add(m, a, b, width, "t", low))
    pairs = [(x, y) for x in range(-2 ** (wa - 1), 2 ** (wa - 1)) for y in range(-2 ** (wb - 1), 2 ** (wb - 1))]
    pairs = random.Random(0).sample(pairs, min(len(pairs), 400))
    trace = run_cycles(m, len(pairs), lambda c: [(a, pairs[c][0]), (b, pairs[c][1])], [out])
    for (x, y), (got,) in zip(pairs, trace):
        want = (x + y + 2 ** (width - 1)) % 2 ** width - 2 ** (width - 1)
        assert (got - 2 ** width if got >= 2 ** (width - 1) else got) == want


def test_one_hot_fsm_keeps_one_state_and_its_groups():
    m = Module()
    go, back = Signal(), Signal()
    fsm = OneHotFSM(m, ("A", "B", "C"), "st")
    busy = fsm.group("busy", ("B", "C"))
    with fsm.state("A"):
        with m.If(go):
            fsm.next("B")
    with fsm.state("B"):
        fsm.next("C")
    with fsm.state("C"):
        with m.If(back):
            fsm.next("A")
    bits = [fsm.ongoing(n) for n in ("A", "B", "C")]
    drive = [(0, 0), (1, 0), (0, 0), (0, 0), (0, 1), (0, 0), (1, 1), (0, 0), (0, 1)]
    trace = run_cycles(m, len(drive), lambda c: [(go, drive[c][0]), (back, drive[c][1])], bits + [busy])
    states = ["ABC"[row[:3].index(1)] for row in trace]
    assert all(sum(row[:3]) == 1 for row in trace)
    assert states == list("AABCCAABC")
    assert [row[3] for row in trace] == [int(s != "A") for s in states]
    with pytest.raises(ValueError):
        fsm.next("A")  # outside a state


def test_registered_read_has_read_port_latency():
    m = Module()
    m.submodules.mem = mem = Memory(shape=8, depth=8, init=[10 * i for i in range(8)], attrs=NO_RW_CHECK)
    addr, data = registered_read(m, mem, "r")
    trace = run_cycles(m, 6, lambda c: [(addr, c)], [data])
    assert [row[0] for row in trace[1:]] == [0, 10, 20, 30, 40]
