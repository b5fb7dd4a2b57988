"""Errors that every shell (library, CLI, HTTP, batch, JSON lines) maps to a clear message.

Each carries what an RFC 9457 problem needs (:meth:`TransnormError.problem`): the HTTP API
answers with it, and the JSON-lines stream and the batch report a failed document with it.
"""

from __future__ import annotations

from typing import Any


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """RFC 9457 problem details: the one builder every shell uses (the HTTP service adds
    ``instance``; JSON lines, the batch and Ray carry it as an item's ``error``)."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


class TransnormError(Exception):
    """Base class; ``code`` is a stable machine-readable name."""

    code = "error"
    status = 500
    title = "Processing failed"

    def extra(self) -> dict[str, Any]:
        """Members a problem has beyond the usual ones."""
        return {}

    def problem(self) -> dict[str, Any]:
        """This error as RFC 9457 problem details."""
        return problem(self.status, self.title, str(self), code=self.code, **self.extra())


class InputError(TransnormError):
    """The document itself cannot be processed (bad encoding, too large, ...)."""

    code = "invalid-input"
    status = 400
    title = "Invalid input"


class DecodeError(InputError):
    """The bytes are not valid UTF-8. ``offset`` is the byte offset of the first bad byte."""

    code = "invalid-utf8"
    title = "Invalid UTF-8"

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset

    def extra(self) -> dict[str, Any]:
        return {"byte_offset": self.offset}


class CharsetError(DecodeError):
    """An HTML page its charset cannot decode, or that is not UTF-8 and declares no charset."""

    code = "undecodable"
    title = "Undecodable page"


class TooLargeError(InputError):
    """The document is over ``TRANSNORM_MAX_BYTES``."""

    code = "too-large"
    status = 413
    title = "Document too large"

    @classmethod
    def of(cls, size: int, limit: int) -> TooLargeError:
        return cls(f"document is {size} bytes; the limit is {limit} (TRANSNORM_MAX_BYTES, --max-bytes)")


class OptionsError(TransnormError):
    """Unknown option, or an option with a wrong type or value."""

    code = "invalid-options"
    status = 400
    title = "Invalid options"


class ModelError(TransnormError):
    """A model package is missing, broken, or cannot be installed."""

    code = "model-error"
    status = 503
    title = "Model unavailable"
