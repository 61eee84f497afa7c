"""ONNX element types → IR dtypes (shared by graph inputs and Cast)."""

from __future__ import annotations

from typing import Optional

import onnx

from hwgen.ir.types import DType, Float32, Int

#: Floating types all compute as f32 (the interpreter's and onnxruntime's float math).
ELEM_TYPES: dict[int, DType] = {
    onnx.TensorProto.FLOAT: Float32(), onnx.TensorProto.DOUBLE: Float32(), onnx.TensorProto.FLOAT16: Float32(),
    onnx.TensorProto.INT8: Int(8), onnx.TensorProto.UINT8: Int(8, False), onnx.TensorProto.INT16: Int(16),
    onnx.TensorProto.UINT16: Int(16, False), onnx.TensorProto.INT32: Int(32), onnx.TensorProto.UINT32: Int(32, False),
    onnx.TensorProto.INT64: Int(64), onnx.TensorProto.UINT64: Int(64, False), onnx.TensorProto.BOOL: Int(1, False),
}


def elem_name(elem_type: int) -> str:
    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"type {elem_type}"


def ir_dtype(elem_type: int) -> Optional[DType]:
    """The IR dtype of an ONNX element type, or None when hwgen has none."""
    return ELEM_TYPES.get(elem_type)


def supported_elem_names() -> str:
    return ", ".join(sorted({elem_name(t) for t in ELEM_TYPES}))
