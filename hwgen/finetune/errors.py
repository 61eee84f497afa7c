"""Errors a user of hwgen.finetune can cause; HwgenError, so the CLI exits with code 2."""

from hwgen.errors import HwgenError


class MethodError(HwgenError):
    """A fine-tuning method that does not apply to the model or its options (the message names the valid range)."""
