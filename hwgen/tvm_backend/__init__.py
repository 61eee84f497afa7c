"""TVM edge backend: hwgen IR -> Relax + scheduled TIR -> shared library (host or aarch64).

TVM's ONNX frontend cannot import LSTM, so hwgen lowers from its own IR (`lower`).
Binary/ternary LSTM weights run through packed 1-/2-bit kernels (`packing`,
`lstm_kernels`); `build` writes an artefact directory and `runner` loads and runs it.
"""

from hwgen.tvm_backend.target import TVM_TARGET

__all__ = ["TVM_TARGET"]
