"""Importing this package registers every converter (one module per op family)."""

from hwgen.frontend.converters import attention, elementwise, hwgen_ops, nn, qonnx, quant, recurrent, shape  # noqa: F401
