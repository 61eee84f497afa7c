"""How many block RAMs a board design takes, counted before any tool runs.

The fit check needs the whole top level's block RAM (weights are only part of it: row
constants, activation tables, the dense head, vector memories and the host link's buffers
take blocks too — on the UP5K an H=256 model uses all 30). The memories are read off the
elaborated design itself, not a second description of it, and each is priced as yosys maps
it: the cheapest single block geometry (depth × width mode) over the memory's width — for a
ROM only its bit columns that are not constant, which yosys drops — and nothing for a memory
marked ``ram_style="logic"`` or one of at most :data:`LOGIC_WORDS` words (flip-flops).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Fragment, MemoryInstance, Shape

#: Block geometries (depth, width) per FPGA family: iCE40 SB_RAM40_4K, ECP5 DP16KD.
BLOCK_MODES = {
    "ice40": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
    "ecp5": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
}
#: Memories this shallow (with no style asked for) become flip-flops in yosys, not a block.
LOGIC_WORDS = 32


@dataclass(frozen=True)
class MemoryUse:
    """One memory of the design and the blocks it takes."""

    name: str    # hierarchical path, e.g. "accel.affine.rom"
    depth: int
    width: int   # bits per word that need storing (a ROM's constant bit columns left out)
    blocks: int


def _live_width(mem: MemoryInstance) -> int:
    """Word width, without the bit columns that are the same in every word of a ROM (no write port)."""
    width = Shape.cast(mem._data.shape).width
    if mem._write_ports or not len(mem._data.init):
        return width
    words = [int(v) & ((1 << width) - 1) for v in mem._data.init]
    ones, zeros = ~0, ~0
    for w in words:
        ones &= w
        zeros &= ~w
    constant = (ones | zeros) & ((1 << width) - 1)
    return width - bin(constant).count("1")


def blocks_for(depth: int, width: int, family: str) -> int:
    """Blocks for `depth` words of `width` bits in the cheapest single geometry of `family`."""
    if width == 0:
        return 0
    return min(-(-width // w) * -(-depth // d) for d, w in BLOCK_MODES[family])


def memory_uses(top: object, family: str) -> tuple[MemoryUse, ...]:
    """Every memory under `top` (an Amaranth elaboratable; elaborated here, no platform) and its blocks."""
    uses: list[MemoryUse] = []

    def walk(fragment: Fragment, path: tuple[str, ...]) -> None:
        for sub, name, *_ in fragment.subfragments:
            here = path + (str(name),)
            if isinstance(sub, MemoryInstance):
                depth, width = sub._data.depth, _live_width(sub)
                logic = sub._attrs.get("ram_style") == "logic" or (
                    depth <= LOGIC_WORDS and sub._attrs.get("ram_style") != "block")
                uses.append(MemoryUse(".".join(here), depth, width, 0 if logic else blocks_for(depth, width, family)))
            else:
                walk(sub, here)

    walk(Fragment.get(top, None), ())
    return tuple(uses)
