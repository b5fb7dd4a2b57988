"""Responses the worker writes itself (malformed framing, deadlines, the connection cap), with
the app's security headers and in the error format of the route addressed."""

from __future__ import annotations

import http as http_status
import json
import re
from collections.abc import Iterable
from typing import Any

from gunicorn.http.errors import (
    ChunkMissingTerminator,
    ExpectationFailed,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidHTTPVersion,
    InvalidRequestLine,
    InvalidRequestMethod,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)

from ..declare import LIBRETRANSLATE_BLUEPRINT
from ..headers import DEFAULT_CSP, SECURITY_HEADERS

_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?")

#: gunicorn's parse errors → status and a detail that quotes nothing the client sent.
_PARSE_ERRORS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int, str], ...] = (
    (LimitRequestLine, 414, "the request line is too long"),
    (LimitRequestHeaders, 431, "the request's header fields are too large or too many"),
    (UnsupportedTransferCoding, 501, "transfer codings other than chunked are not implemented"),
    (ExpectationFailed, 417, "the only expectation supported is 100-continue"),
    (InvalidRequestLine, 400, "malformed request line"),
    (InvalidRequestMethod, 400, "malformed request method"),
    (InvalidHTTPVersion, 400, "unsupported HTTP version"),
    ((InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension), 400, "malformed chunked body"),
    (ParseException, 400, "malformed request header"),
)


def parse_error(exc: BaseException) -> tuple[int, str]:
    """The status and detail for one of gunicorn's parse errors."""
    for kinds, status, detail in _PARSE_ERRORS:
        if isinstance(exc, kinds):
            return status, detail
    return 400, "malformed request"


def framing_error(req: Any) -> tuple[int, str] | None:
    """What RFC 9112 forbids that gunicorn lets through: an HTTP/1.1 request without exactly one
    valid Host (400), a transfer coding other than chunked, which nothing here decodes (501)."""
    hosts = [value for name, value in req.headers if name == "HOST"]
    if len(hosts) > 1 or (req.version >= (1, 1) and not hosts):
        return 400, "an HTTP/1.1 request needs exactly one Host header field (RFC 9112, section 3.2)"
    if hosts and not _HOST.fullmatch(hosts[0]):
        return 400, "the Host header field is not a valid host"
    for name, value in req.headers:
        if name == "TRANSFER-ENCODING":
            codings = [c.strip(" \t").lower() for c in value.split(",") if c.strip(" \t")]
            if codings != ["chunked"]:
                return 501, "transfer codings other than chunked are not implemented"
    return None


def error_response(
    status: int, detail: str, style: str = "problem", headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A complete response: problem+json (or LibreTranslate's ``{"error"}``),
    ``Connection: close``, the app's security headers."""
    title = http_status.HTTPStatus(status).phrase
    if style == "libretranslate":
        body = json.dumps({"error": detail}).encode()
        content_type = "application/json"
    else:
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        body = json.dumps(problem).encode()
        content_type = "application/problem+json"
    lines = [
        f"HTTP/1.1 {status} {title}",
        "Connection: close",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items()),
        f"Content-Security-Policy: {DEFAULT_CSP}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def route_style(app: Any, req: Any) -> str:
    """The error format of the route ``req`` addresses (the app's, when it is Flask)."""
    url_map = getattr(app, "url_map", None)
    if url_map is None:
        return "problem"
    adapter = url_map.bind("localhost")
    for method in (req.method, None):
        try:
            endpoint, _ = adapter.match(req.path, method=method)
        except Exception:
            continue
        return "libretranslate" if str(endpoint).startswith(LIBRETRANSLATE_BLUEPRINT + ".") else "problem"
    return "problem"
