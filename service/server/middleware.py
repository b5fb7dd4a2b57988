"""Per-request concerns: request id, API keys, CORS, timing, metrics and JSON logs."""

from __future__ import annotations

import hmac
import json
import logging
import sys
import time
import uuid

from flask import Flask, Response, g, request

from .errors import problem
from .metrics import LATENCY, REQUESTS

log = logging.getLogger("transnorm.http")
# Paths that never need a key: probes, metrics, docs and the page itself.
LT_PATHS = {"/translate", "/detect", "/languages", "/frontend/settings"}
OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/", "/favicon.ico"}


class _StderrHandler(logging.StreamHandler):
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
        ok |= hmac.compare_digest(given.encode(), key.encode())
    return ok


def install(app: Flask) -> None:
    state = app.extensions["transnorm"]
    settings = state.settings
    _configure_logging()

    @app.before_request
    def _start() -> Response | None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        if request.method == "OPTIONS" and settings.cors_origins:
            return Response(status=204)
        # The LibreTranslate endpoints check keys themselves (api_key parameter, 403 as LT does).
        if settings.api_keys and request.path not in OPEN_PATHS and request.path not in LT_PATHS:
            given = request.headers.get("X-API-Key") or ""
            auth = request.headers.get("Authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not key_is_valid(given, settings.api_keys):
                return problem(401, "Unauthorized", "a valid API key is required (X-API-Key or Bearer)")
        return None

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(endpoint=endpoint, status=str(response.status_code)).inc()
        LATENCY.labels(endpoint=endpoint).observe(elapsed)
        request_id = g.get("request_id", "")
        response.headers["X-Request-Id"] = request_id
        origin = request.headers.get("Origin")
        if (
            origin
            and settings.cors_origins
            and ("*" in settings.cors_origins or origin in settings.cors_origins)
        ):
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in settings.cors_origins else origin
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization, X-API-Key"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Vary"] = "Origin"
        record = {
            "event": "request",
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": round(elapsed * 1000, 2),
            "bytes_in": request.content_length or 0,
        }
        if settings.debug and request.content_length and request.content_length < 10_000:
            record["body"] = request.get_data(as_text=True)
        log.info(json.dumps(record, ensure_ascii=False))
        return response
