"""Errors as ``application/problem+json`` (RFC 9457). Bad input never becomes a 5xx."""

from __future__ import annotations

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from ..errors import DecodeError, InputError, ModelError, OptionsError, TooLargeError, TransnormError

PROBLEM = "application/problem+json"
# LibreTranslate's endpoints answer errors as LibreTranslate does: {"error": "..."}.
LT_PATHS = frozenset({"/translate", "/detect", "/languages", "/frontend/settings"})


def lt_error(status: int, message: str) -> Response:
    return Response(
        json.dumps({"error": message}, ensure_ascii=False), status=status, mimetype="application/json"
    )


class ApiError(Exception):
    """An error with an HTTP status, raised by the endpoints."""

    def __init__(self, status: int, title: str, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    body["instance"] = request.path if request else None
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)


def problem_for(exc: TransnormError) -> tuple[int, str, dict[str, object]]:
    """HTTP status, title and extra members for a library error."""
    if isinstance(exc, DecodeError):
        return 400, "Invalid UTF-8", {"byte_offset": exc.offset}
    if isinstance(exc, TooLargeError):
        return 413, "Document too large", {}
    if isinstance(exc, InputError):
        return 400, "Invalid input", {}
    if isinstance(exc, OptionsError):
        return 400, "Invalid options", {}
    if isinstance(exc, ModelError):
        return 503, "Model unavailable", {}
    return 500, "Processing failed", {}


def register_error_handlers(app: Flask) -> None:
    from .state import NotReady

    @app.errorhandler(NotReady)
    def _not_ready(exc: NotReady) -> Response:
        return problem(503, "Not ready", str(exc))

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.errorhandler(TransnormError)
    def _library(exc: TransnormError) -> Response:
        status, title, extra = problem_for(exc)
        return problem(status, title, str(exc), code=exc.code, **extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        detail = exc.description or exc.name
        if exc.code == 413:
            detail = f"the request body is larger than the limit of {app.config['MAX_CONTENT_LENGTH']} bytes"
        if request.path in LT_PATHS:
            response = lt_error(exc.code or 500, f"{exc.name}: {detail}")
        else:
            response = problem(exc.code or 500, exc.name, detail)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":  # e.g. Allow on 405
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        if request.path in LT_PATHS:
            return lt_error(500, "Internal error; it has been logged")
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
