"""The accumulate-only LSTM accelerator in Amaranth: `AccelConfig` (config.py) and one component per file."""
