"""RTL emission: Verilog, memory images, manifest and test vectors from an IR graph.

Importing this package registers the `rtl` target (see `hwgen.targets`).
"""

from hwgen.rtl.target import RTL_TARGET

__all__ = ["RTL_TARGET"]
