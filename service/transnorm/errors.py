"""Errors that every shell (library, CLI, HTTP, batch) maps to a clear message."""

from __future__ import annotations


class TransnormError(Exception):
    """Base class; ``code`` is a stable machine-readable name."""

    code = "error"


class InputError(TransnormError):
    """The document itself cannot be processed (bad encoding, too large, ...)."""

    code = "invalid-input"


class DecodeError(InputError):
    """The bytes are not valid UTF-8. ``offset`` is the byte offset of the first bad byte."""

    code = "invalid-utf8"

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class TooLargeError(InputError):
    """The document is over ``TRANSNORM_MAX_BYTES``."""

    code = "too-large"


class OptionsError(TransnormError):
    """Unknown option, or an option with a wrong type or value."""

    code = "invalid-options"


class ModelError(TransnormError):
    """A model package is missing, broken, or cannot be installed."""

    code = "model-error"
