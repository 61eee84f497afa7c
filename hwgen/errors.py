"""User-facing errors.

Every error a user can cause (bad file, unsupported op, impossible config) is a
:class:`HwgenError`. The CLI prints its message on one line and exits with code 2;
anything else is a bug and keeps its traceback.
"""


class HwgenError(Exception):
    """An error in the user's input, reported as one clear message."""


class IRError(HwgenError):
    """A graph violates an IR rule (types, shapes, dangling values)."""


class UnsupportedError(HwgenError):
    """The input uses something hwgen does not support; the message lists what is supported."""
