"""Binary/ternary LSTM training with in-cell batch norm and an exact ONNX export.

Data flows: `data` (digits, char corpora) → `train` (Adam on float shadow weights,
straight-through quantizers from `ste`, layers from `layer`/`recurrence`) → RUN/
(`checkpoint`) → `fold` (BN → per-row affines) → `export` (ONNX). `pipeline` chains
them for the demo and the hardware tests.
"""
