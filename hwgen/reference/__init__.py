"""The reference interpreter (numpy): the executable spec of every IR op."""

from hwgen.reference.interpreter import run

__all__ = ["run"]
