"""hwgen: train binary/ternary LSTMs and compressed transformers, compile them to verified hardware.

    import hwgen
    artifact = hwgen.compile("model.onnx", "rtl", "out/", lanes=8)
    print(artifact.summary())

The per-target entry points are `hwgen.rtl.build`, `hwgen.fpga.build` and `hwgen.tvm_backend.build`,
with typed options (`AccelOptions`, `BoardOptions`, `TvmOptions`); `hwgen.targets` is the registry.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def compile(model: Any, target: str, out: Any, **options: Any) -> Any:  # noqa: A001 (the API's name)
    """Compile `model` (.onnx path, onnx.ModelProto or IR Graph) for `target` into `out`; see `hwgen.api`."""
    from hwgen.api import compile as compile_model

    return compile_model(model, target, out, **options)
