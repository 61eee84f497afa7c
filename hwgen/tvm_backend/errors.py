"""Errors of the TVM backend (user errors, reported by the CLI with exit code 2)."""

from hwgen.errors import HwgenError, UnsupportedError


class TVMBackendError(HwgenError):
    """A model, option or artefact the TVM backend cannot handle."""


class TVMUnsupportedError(UnsupportedError):
    """An op or shape the TVM lowering does not take; the message lists every offending node."""
