"""hwgen: train binary/ternary LSTMs and compressed transformers, compile them to verified hardware."""

__version__ = "0.1.0"
