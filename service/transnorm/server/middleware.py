"""Per-request concerns: request id, API keys, CORS, timing, metrics and JSON logs."""

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

from .errors import LT_PATHS, lt_error, problem
from .metrics import LATENCY, REQUESTS
from .ratelimit import RateLimiter

log = logging.getLogger("transnorm.http")
# Paths that never need a key: probes, metrics, docs and the page itself.
OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/", "/favicon.ico"}
# Paths that do the work, and so count against TRANSNORM_REQUESTS_PER_MINUTE.
LIMITED_PATHS = {"/v1/normalize", "/v1/normalize/batch", "/translate", "/detect"}


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


def given_key(params: object = None) -> str:
    """The API key a request sends: ``X-API-Key``, ``Authorization: Bearer``, or (LibreTranslate
    clients) an ``api_key`` member of ``params``."""
    key = request.headers.get("X-API-Key") or ""
    auth = request.headers.get("Authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key and hasattr(params, "get"):
        key = params.get("api_key") or ""  # type: ignore[union-attr]
    return key if isinstance(key, str) else ""


def _client(keys: tuple[str, ...]) -> str:
    """Who a request counts against: its API key if that key is valid, else its address (a made-up
    key must not buy a fresh allowance)."""
    params = None
    if request.path in LT_PATHS:
        params = request.get_json(silent=True) if request.is_json else request.values
    key = given_key(params)
    if keys and key and key_is_valid(key, keys):
        return "key:" + key
    return f"addr:{request.remote_addr}"


def _too_many(limit: int, retry_after: float) -> Response:
    detail = f"more than {limit} requests per minute from this client; retry in {retry_after:.0f} s"
    if request.path in LT_PATHS:
        response = lt_error(429, f"Too many requests: {detail}")
    else:
        response = problem(429, "Too Many Requests", detail)
    response.headers["Retry-After"] = str(int(retry_after))
    return response


def install(app: Flask) -> None:
    state = app.extensions["transnorm"]
    settings = state.settings
    _configure_logging()
    limiter = None
    if settings.requests_per_minute:
        # Under gunicorn the workers share PROMETHEUS_MULTIPROC_DIR (see gunicorn_conf.py):
        # the counts go there too, so the limit holds across workers.
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        path = Path(shared) / "ratelimit.sqlite" if shared else None
        limiter = RateLimiter(settings.requests_per_minute, path)

    @app.before_request
    def _start() -> Response | None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        if request.method == "OPTIONS" and settings.cors_origins:
            return Response(status=204)
        # The LibreTranslate endpoints check keys themselves (api_key parameter, 403 as LT does).
        needs_key = settings.api_keys and request.path not in OPEN_PATHS and request.path not in LT_PATHS
        if needs_key and not key_is_valid(given_key(), settings.api_keys):
            return problem(401, "Unauthorized", "a valid API key is required (X-API-Key or Bearer)")
        if limiter is not None and request.path in LIMITED_PATHS and request.method == "POST":
            retry_after = limiter.hit(_client(settings.api_keys))
            if retry_after is not None:
                return _too_many(settings.requests_per_minute, retry_after)
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
