"""Errors a user of hwgen.quant can cause; all are HwgenError, so the CLI exits with code 2."""

from hwgen.errors import HwgenError


class QuantConfigError(HwgenError):
    """An impossible training or model configuration (unknown task, weight kind, sizes)."""


class DataError(HwgenError):
    """A data set or corpus that cannot be trained on (missing, empty, too short)."""


class CheckpointError(HwgenError):
    """A run directory or checkpoint that is missing, unreadable or from another model."""


class TrainingError(HwgenError):
    """Training stopped (e.g. the loss became NaN); the message says what was kept."""


class PretrainedModelError(HwgenError):
    """A pretrained model folder (--model) that is missing, malformed or not a BERT encoder."""
