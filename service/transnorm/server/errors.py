"""Errors: ``application/problem+json`` (RFC 9457) on the ``/v1`` API and the service's own
routes, ``{"error": "..."}`` on the LibreTranslate routes — chosen by the route's blueprint.
Bad input never becomes a 5xx, and an error never echoes a value it cannot encode.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from ..document import to_json
from ..errors import TransnormError
from ..errors import problem as build_problem
from .declare import error_style
from .redact import public

PROBLEM = "application/problem+json"
log = logging.getLogger("transnorm.http")


class NotUTF8JSON(ValueError):
    """A JSON body in UTF-16 or UTF-32: JSON between systems is UTF-8 (RFC 8259 §8.1)."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"JSON bodies must be UTF-8 (RFC 8259); this one is {encoding.upper()}")
        self.encoding = encoding


def loads(data: bytes) -> Any:
    """A request's JSON body: UTF-8 only (a BOM is allowed), where :func:`json.loads` would also
    take UTF-16 and UTF-32. Raises :class:`NotUTF8JSON`, :class:`UnicodeDecodeError`,
    :class:`ValueError` or :class:`RecursionError`."""
    encoding = json.detect_encoding(data)
    if encoding not in ("utf-8", "utf-8-sig"):
        raise NotUTF8JSON(encoding)
    return json.loads(data.decode(encoding))


def dumps(data: Any) -> str:
    """JSON, non-ASCII as is; a lone surrogate (which UTF-8 cannot carry) as a ``\\u`` escape."""
    return to_json(data, pretty=False).removesuffix("\n")


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with :func:`dumps`'s handling of lone surrogates."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj)


class ApiError(Exception):
    """An error with an HTTP status, raised by the endpoints."""

    def __init__(self, status: int, title: str, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


class LTError(Exception):
    """An error in LibreTranslate's words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    """An ``application/problem+json`` response (the body from :func:`transnorm.errors.problem`)."""
    body = build_problem(status, title, detail, **extra)
    body["instance"] = request.path if request else None
    return Response(dumps(body), status=status, mimetype=PROBLEM)


def lt_error(status: int, message: str) -> Response:
    return Response(dumps({"error": message}), status=status, mimetype="application/json")


def error(app: Flask, status: int, title: str, detail: str, **extra: object) -> Response:
    """An error in the format of the route the request addresses."""
    if error_style(app, request) == "libretranslate":
        return lt_error(status, detail)
    return problem(status, title, detail, **extra)


def log_unexpected(exc: BaseException) -> None:
    """The traceback of an unexpected error, without its message (which may quote a document)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(json.dumps({"event": "unexpected error", "type": type(exc).__name__, "traceback": frames}))


def register_error_handlers(app: Flask) -> None:
    from .state import NotReady

    @app.errorhandler(NotReady)
    def _not_ready(exc: NotReady) -> Response:
        return error(app, 503, "Not ready", public(str(exc)))

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.errorhandler(LTError)
    def _lt(exc: LTError) -> Response:
        return lt_error(exc.status, str(exc))

    @app.errorhandler(TransnormError)
    def _library(exc: TransnormError) -> Response:
        if error_style(app, request) == "libretranslate":
            return lt_error(exc.status if exc.status in (413, 503) else 400, public(str(exc)))
        body = exc.problem()
        body["detail"] = public(body["detail"])
        body["instance"] = request.path
        return Response(dumps(body), status=exc.status, mimetype=PROBLEM)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        detail = exc.description or exc.name
        if exc.code == 413:
            detail = f"the request body is larger than the limit of {app.config['MAX_CONTENT_LENGTH']} bytes"
        if exc.code == 405 and error_style(app, request) == "libretranslate":
            detail = f"{exc.name}: {detail}"
        response = error(app, exc.code or 500, exc.name, detail)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":  # e.g. Allow on 405
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log_unexpected(exc)
        return error(app, 500, "Internal error", "an unexpected error occurred; it has been logged")
