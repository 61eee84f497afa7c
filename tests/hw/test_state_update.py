import numpy as np
from hypothesis import Phase, given, settings, strategies as st

from hwgen.hw.controller import tag_layout
from hwgen.hw.state_update import StateUpdate
from hwgen.model.fixed import ActivationTable, FixedFormat, shift_round

ACT, GATE, CELL = FixedFormat(8, 7), FixedFormat(12, 8), FixedFormat(16, 11)
TANH = ActivationTable.build("tanh", GATE, ACT, 9)


def spec(si, sf, tg, so, c, mc, bc, shift):
    """The integer model's state update for one unit (see IntegerModel)."""
    c = int(CELL.saturate(np.int64((sf * c + ((si * tg) << (CELL.frac - ACT.frac)) + 64) >> 7)))
    cn = int(GATE.saturate(np.int64((mc * c + bc) >> shift)))
    return int(shift_round(np.int64(so * int(TANH.lookup(np.int64(cn)))), 7)), c


@settings(deadline=None, max_examples=5, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(gates=st.lists(st.tuples(*[st.integers(-127, 127)] * 4), min_size=2, max_size=2),
       mc=st.integers(-30000, 30000), bc=st.integers(-(1 << 20), 1 << 20), spacing=st.integers(2, 3))
def test_state_update_matches_the_integer_model_over_two_steps(gates, mc, bc, spacing):
    """Unit 0 twice: the first time with the first-step flag (c starts at 0), then from the written c."""
    layout = tag_layout(1, 2, 1)
    dut = StateUpdate(layout, 1, 2, [(mc, bc), (0, 0)], [17], ACT, GATE, CELL, 16, 22)
    stream = [(step, q, gates[step][q]) for step in range(2) for q in range(4)]
    pause = 8  # idle rows between the steps: the c write of step 0 lands before step 1 reads it
    sim_tanh = {}

    def drive(c):
        pairs = []
        slot, rem = divmod(c, spacing)
        i = slot if slot < 4 else slot - pause
        if rem == 0 and (slot < 4 or 4 <= i < len(stream)):
            step, q, v = stream[i]
            pairs += [(dut.valid_in, 1), (dut.value, v), (dut.tag.gate, q), (dut.tag.first, int(step == 0)), (dut.tag.unit, 0)]
        else:
            pairs.append((dut.valid_in, 0))
        if c - 1 in sim_tanh:
            pairs.append((dut.tanh_out, sim_tanh[c - 1]))
        return pairs

    def watch_tanh(trace_row, c):
        sim_tanh[c] = int(TANH.lookup(np.int64(trace_row)))

    # Two passes: the ROM (port B of the activation unit) is modelled in the driver from tanh_value.
    rows = []
    from amaranth.hdl import Module
    from amaranth.sim import Simulator

    top = Module()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for c in range(spacing * (len(stream) + pause) + 16):
            for sig, value in drive(c):
                ctx.set(sig, value)
            watch_tanh(ctx.get(dut.tanh_value), c)
            rows.append((ctx.get(dut.h_we), ctx.get(dut.h_value)))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    hs = [h for we, h in rows if we]
    si, sf, tg, so = gates[0]
    h0, c0 = spec(si, sf, tg, so, 0, mc, bc, 17)
    si, sf, tg, so = gates[1]
    h1, _ = spec(si, sf, tg, so, c0, mc, bc, 17)
    assert hs == [h0, h1]
    o_arrival = 3 * spacing
    assert [c for c, (we, _) in enumerate(rows) if we][0] == o_arrival + StateUpdate.latency
