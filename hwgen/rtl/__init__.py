"""The rtl target: an IR graph → the accumulate-only accelerator's Verilog, memory images,
manifest and test vectors (`build`); `artifact.load` reads a build back for `hwgen sim`.
"""

from hwgen.rtl.api import build
from hwgen.rtl.artifact import RtlArtifact, load
from hwgen.rtl.options import AccelOptions, OptionsError

__all__ = ["build", "AccelOptions", "OptionsError", "RtlArtifact", "load"]
