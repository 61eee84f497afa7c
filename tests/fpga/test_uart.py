"""UART transmitter → receiver loopback in amaranth.sim, bit timing included."""

from amaranth.hdl import Module
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from hwgen.fpga.uart import UARTRx, UARTTx


@settings(deadline=None, max_examples=5)
@given(payload=st.binary(min_size=1, max_size=6), divisor=st.sampled_from([4, 5, 9]))
def test_loopback(payload, divisor):
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    got = []

    async def bench(ctx):
        ctx.set(rx.ready, 1)
        for byte in payload:
            ctx.set(tx.data, byte)
            ctx.set(tx.valid, 1)
            await ctx.tick().until(tx.ready)
            ctx.set(tx.valid, 0)
            for _ in range(12 * divisor):
                await ctx.tick()
                if ctx.get(rx.valid):
                    got.append(ctx.get(rx.data))
                    break
        assert not ctx.get(rx.error)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert bytes(got) == payload
