"""ONNX → IR. `load_graph(path)` is the entry point; converters live one family per module."""

from hwgen.frontend.importer import import_onnx, input_names, load_graph, load_onnx

__all__ = ["import_onnx", "input_names", "load_graph", "load_onnx"]
