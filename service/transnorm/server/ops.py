"""Operational endpoints: liveness, readiness, metrics, the OpenAPI document and its page."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .declare import endpoint
from .headers import csp
from .metrics import exposition
from .openapi import DOCS_STYLE, docs_html, spec
from .schemas import Health, Problem, Ready
from .state import NotReady

ops = Blueprint("ops", __name__)


@ops.get("/healthz")
@endpoint("The process is alive", responses={200: ("Alive", {"application/json": Health})})
def healthz():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@ops.get("/readyz")
@endpoint(
    "The models are loaded",
    responses={
        200: ("Ready", {"application/json": Ready}),
        503: ("Loading, or loading failed (the detail says which)", {"application/problem+json": Problem}),
    },
)
def readyz():  # type: ignore[no-untyped-def]
    state = current_app.extensions["transnorm"]
    pipeline = state.loaded()  # NotReady: 503 saying why
    status = state.ready_status()  # NotReady: the translation process is away, or preloading
    models = [p.to_dict() for p in pipeline.engine.packages().values() if p.to_code == "en"]
    stats = status["engine"]
    engine = {
        "models_loaded": stats["models_loaded"],
        "cache_hits": stats["cache_hits"],
        "cache_misses": stats["cache_misses"],
        "loads": stats["loads"],
        "unloads": stats["unloads"],
        "load_ms": round(1000 * stats["load_seconds"]),
        "max_loaded_models": status["max_loaded_models"],
        "max_models_memory_mb": status["max_models_memory"],
    }
    return jsonify(
        status="ready",
        models=models,
        loaded=stats["loaded"],
        preload=status["preload"]["packages"],
        engine=engine,
    )


@ops.get("/metrics")
@endpoint(
    "Prometheus metrics, summed over all workers",
    responses={200: ("Prometheus text format", {"text/plain": {"type": "string"}})},
)
def metrics():  # type: ignore[no-untyped-def]
    state = current_app.extensions["transnorm"]
    try:
        models = state.status()
    except NotReady:
        models = None
    body, content_type = exposition(models)
    return Response(body, content_type=content_type)


@ops.get("/openapi.json")
@endpoint(
    "This API (OpenAPI 3.1)", responses={200: ("OpenAPI 3.1", {"application/json": {"type": "object"}})}
)
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(spec(current_app))


@ops.get("/docs")
@endpoint(
    "A page generated from the OpenAPI document", responses={200: ("HTML", {"text/html": {"type": "string"}})}
)
def docs():  # type: ignore[no-untyped-def]
    response = Response(docs_html(spec(current_app)), content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = csp(style=DOCS_STYLE, images=True)
    return response
