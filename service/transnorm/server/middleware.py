"""Per-request concerns, applied from each route's declaration: the body read (its framing errors
answered in the route's format), API keys, rate limits, security headers, timing, metrics and a
JSON log line per request; CORS (off unless origins are configured) by flask-cors.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path

from flask import Flask, Response, g, request

from .declare import declaration, error_style, route_endpoint
from .errors import error
from .headers import DEFAULT_CSP, SECURITY_HEADERS
from .ltdocs import UNTRANSLATED_HEADER
from .metrics import LATENCY, REQUESTS
from .ratelimit import RateLimiter
from .transport import close_after, framing_errors

log = logging.getLogger("transnorm.http")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def _configure_logging() -> None:
    if log.handlers:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def key_is_valid(given: str, keys: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured key."""
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode())
    return ok


def header_key() -> str:
    """The API key sent in ``X-API-Key`` or ``Authorization: Bearer``. A header arrives as its
    bytes read as Latin-1 (WSGI): they are read again as UTF-8, so that a non-ASCII key matches."""
    key = request.headers.get("X-API-Key") or ""
    auth = request.headers.get("Authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    try:
        return key.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return key  # not UTF-8 (or not from a WSGI server): matches no key that is


def install(app: Flask) -> None:
    from .libretranslate import lt_api_key

    state = app.extensions["transnorm"]
    settings = state.settings
    _configure_logging()
    if settings.service.cors_origins:
        from flask_cors import CORS

        CORS(
            app,
            origins=["*"] if "*" in settings.service.cors_origins else list(settings.service.cors_origins),
            allow_headers=["Content-Type", "Authorization", "X-API-Key"],
            methods=["GET", "POST", "OPTIONS"],
            expose_headers=["X-Request-Id", "Retry-After", UNTRANSLATED_HEADER],
        )
    limiter = None
    if settings.service.requests_per_minute:
        # Under gunicorn the workers share PROMETHEUS_MULTIPROC_DIR (see gunicorn_conf.py):
        # the counts go there too, so the limit holds across workers.
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        path = Path(shared) / "ratelimit.sqlite" if shared else None
        limiter = RateLimiter(settings.service.requests_per_minute, path)

    def client_key(key: str) -> str:
        """Who a request counts against: a valid key, else the connecting address (a made-up key
        must not buy a fresh allowance)."""
        if settings.service.api_keys and key and key_is_valid(key, settings.service.api_keys):
            return "key:" + key
        return f"addr:{request.remote_addr}"

    @app.before_request
    def _start() -> Response | None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        if request.method == "OPTIONS" and settings.service.cors_origins:
            return Response(status=204)
        if request.method in ("POST", "PUT", "PATCH"):
            failure = _read_body()
            if failure is not None:
                return failure
        decl = declaration(app, request.endpoint)
        if decl is None:
            return None
        key = header_key()
        if decl.access == "libretranslate":
            key = lt_api_key() or key
        # The limit first, as LibreTranslate's limiter: made-up keys count against the address.
        if limiter is not None and decl.limited:
            cost = decl.cost(request) if decl.cost else 1
            retry_after = limiter.hit(client_key(key), cost)
            if retry_after is not None:
                detail = (
                    f"more than {settings.service.requests_per_minute} requests per minute from this client; "
                    f"retry in {retry_after:.0f} s"
                )
                if error_style(app, request) == "libretranslate":
                    detail = "Slowdown: " + detail
                response = error(app, 429, "Too Many Requests", detail)
                response.headers["Retry-After"] = str(int(retry_after))
                return response
        if (
            decl.access == "key"
            and settings.service.api_keys
            and not key_is_valid(key, settings.service.api_keys)
        ):
            return error(app, 401, "Unauthorized", "a valid API key is required (X-API-Key or Bearer)")
        if decl.access == "libretranslate" and settings.service.api_keys:
            if not key:
                return error(app, 400, "Bad Request", "Please contact the server operator to get an API key")
            if not key_is_valid(key, settings.service.api_keys):
                return error(app, 403, "Forbidden", "Invalid API key")
        return None

    def _read_body() -> Response | None:
        """Read (and cache) the body now (the worker has it whole, read under its deadlines);
        framing errors are the client's."""
        try:
            request.get_data(cache=True)
        except framing_errors():
            g.close = True  # where the next request would start is unknown
            return error(app, 400, "Bad Request", "malformed request body (chunked framing)")
        return None

    def _rule() -> str:
        """The URL rule a request matched (the rule of its path when its method is not allowed)."""
        if request.url_rule is not None:
            return request.url_rule.rule
        endpoint = route_endpoint(app, request)
        return next((r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint), "unmatched")

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        rule = _rule()
        REQUESTS.labels(endpoint=rule, status=str(response.status_code)).inc()
        LATENCY.labels(endpoint=rule).observe(elapsed)
        request_id = g.get("request_id", "")
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        if "x-request-id" in present:
            headers["X-Request-Id"] = request_id
        else:
            headers.add("X-Request-Id", request_id)
        for name, value in SECURITY_HEADERS.items():
            if name.lower() not in present:
                headers.add(name, value)
        if "content-security-policy" not in present:
            headers.add("Content-Security-Policy", DEFAULT_CSP)
        if g.get("close"):
            response.headers["Connection"] = "close"  # for servers that honour it; gunicorn:
            close_after(request.environ)
        record = {
            "event": "request",
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": round(elapsed * 1000, 2),
            "bytes_in": request.content_length or 0,
        }
        if settings.service.debug and request.content_length and request.content_length < 10_000:
            record["body"] = request.get_data(as_text=True)
        log.info(json.dumps(record, ensure_ascii=False).encode("utf-8", "backslashreplace").decode())
        return response
