"""TVM edge backend: hwgen IR -> Relax + scheduled TIR -> shared library (host or aarch64)."""

from hwgen.tvm_backend.options import TvmOptions

__all__ = ["TvmOptions"]
