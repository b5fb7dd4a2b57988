"""Operational endpoints: liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .metrics import exposition
from .openapi import spec

ops = Blueprint("ops", __name__)


@ops.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """The process is alive."""
    return jsonify(status="ok")


@ops.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """200 once the models are loaded; 503 before (or if loading failed)."""
    state = current_app.extensions["transnorm"]
    pipeline = state.loaded()  # NotReady: 503 saying why
    models = [p.to_dict() for p in pipeline.engine.packages().values() if p.to_code == "en"]
    stats = pipeline.engine.stats()
    engine = {
        "models_loaded": stats.models_loaded,
        "cache_hits": stats.cache_hits,
        "cache_misses": stats.cache_misses,
    }
    return jsonify(status="ready", models=models, engine=engine)


@ops.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    """Prometheus text format, aggregated over all workers."""
    body, content_type = exposition()
    return Response(body, content_type=content_type)


@ops.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(spec())


@ops.get("/docs")
def docs():  # type: ignore[no-untyped-def]
    """A readable page generated from the OpenAPI document (no external scripts)."""
    from .openapi import docs_html

    return Response(docs_html(), content_type="text/html; charset=utf-8")
