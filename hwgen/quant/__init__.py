"""Quantized model training with exact ONNX export: binary/ternary LSTMs (in-cell batch norm) and compressed transformers.

Data flows: `data` (digits, char corpora) → `train` (Adam on float shadow weights,
straight-through quantizers from `ste`, layers from `layer`/`recurrence`) → RUN/
(`checkpoint`) → `fold` (BN → per-row affines) → `export` (ONNX). `pipeline` chains
them for the demo and the hardware tests.

Transformers (`hwgen train transformer`): `text_data` / `debian_topics` (labelled texts) →
`transformer_train` (a BERT encoder from `transformer_model`, QAT layers from
`transformer_quant` on the same `ste` functions, `transformer_prune`, `distill` losses with
`transformer_teachers`, `calibration` and the `text_baseline`) → RUN/
(`transformer_checkpoint`) → `transformer_export` (ONNX).
"""
