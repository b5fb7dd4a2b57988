"""The OpenAPI 3.1 description of the HTTP API, and a docs page generated from it."""

from __future__ import annotations

import html
from typing import Any

from ..options import CHROME, ERRORS, FORMATS, MARKERS, MAX_ALTERNATIVES


def _problem_ref() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid input: invalid UTF-8 (with byte_offset), malformed JSON, missing text, bad options",
        401: "A valid API key is required",
        413: "Body or batch over the limit",
        415: "Unsupported content type",
        429: "Over TRANSNORM_REQUESTS_PER_MINUTE for this client (Retry-After says when to retry)",
        503: "Models are still loading",
    }
    return {str(c): {"description": text[c], "content": _problem_ref()} for c in codes}


def spec() -> dict[str, Any]:
    options = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "format": {"enum": list(FORMATS)},
            "markers": {"enum": list(MARKERS)},
            "chrome": {"enum": list(CHROME)},
            "errors": {"enum": list(ERRORS)},
            "beam_size": {"type": ["integer", "null"], "minimum": 1, "maximum": 16},
            "alternatives": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_ALTERNATIVES,
                "description": "next-best translations to keep per translated span (widens the beam)",
            },
            "source": {
                "type": "string",
                "pattern": "^(auto|[a-z]{2,3}(-[A-Za-z0-9]{2,8})?)$",
                "description": "auto (find foreign spans) or the language all text is in",
            },
            "target": {
                "type": "string",
                "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$",
                "description": "en, or with an explicit source any installed pair's target",
            },
        },
        # Another target than English needs an explicit source language.
        "anyOf": [
            {"properties": {"target": {"const": "en"}}},
            {"required": ["source"], "properties": {"source": {"not": {"const": "auto"}}}},
        ],
    }
    span = {
        "type": "object",
        "required": [
            "source_start",
            "source_end",
            "output_start",
            "output_end",
            "action",
            "lang",
            "lang_confidence",
            "source_text",
            "text",
        ],
        "properties": {
            "source_start": {"type": "integer"},
            "source_end": {"type": "integer"},
            "output_start": {"type": ["integer", "null"]},
            "output_end": {"type": ["integer", "null"]},
            "action": {"enum": ["kept", "normalized", "translated", "removed", "untranslated"]},
            "lang": {"type": "string"},
            "lang_confidence": {"type": "number"},
            "source_text": {"type": "string"},
            "text": {"type": "string"},
            "reason": {"type": "string"},
            "engine": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "package": {"type": "string"},
                    "version": {"type": "string"},
                },
            },
            "mt_score": {"type": "number"},
            "alternatives": {"type": "array", "items": {"type": "string"}},
        },
    }
    document = {
        "type": "object",
        "required": [
            "schema",
            "id",
            "text",
            "complete",
            "source",
            "spans",
            "upstream_translation",
            "models",
            "stats",
            "warnings",
        ],
        "properties": {
            "schema": {"const": "transnorm/2"},
            "id": {"type": ["string", "null"]},
            "text": {"type": "string"},
            "complete": {"type": "boolean"},
            "source": {"type": "object", "required": ["chars", "sha256"]},
            "spans": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}},
            "upstream_translation": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"service": {"type": "string"}, "evidence": {"type": "string"}},
                },
            },
            "models": {"type": "array", "items": {"type": "object"}},
            "stats": {"type": "object"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    }
    problem = {
        "type": "object",
        "required": ["title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": ["string", "null"]},
            "code": {"type": "string"},
            "byte_offset": {"type": "integer"},
        },
    }
    query = [
        {
            "name": "format",
            "in": "query",
            "schema": {"enum": list(FORMATS)},
            "description": "Response format; otherwise from Accept (JSON by default).",
        },
        {"name": "markers", "in": "query", "schema": {"enum": list(MARKERS)}},
        {"name": "chrome", "in": "query", "schema": {"enum": list(CHROME)}},
        {"name": "errors", "in": "query", "schema": {"enum": list(ERRORS)}},
        {"name": "beam_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 16}},
        {
            "name": "alternatives",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ALTERNATIVES},
        },
        {
            "name": "id",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Document id (text/plain).",
        },
    ]
    ok_document = {
        "description": "The normalized document",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Document"}},
            "text/plain": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "transnorm",
            "version": "1",
            "description": "Finds foreign-language spans in mostly-English documents, translates them "
            "offline "
            "and returns English with provenance.",
        },
        "components": {
            "schemas": {"Options": options, "Span": span, "Document": document, "Problem": problem},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{}, {"apiKey": []}, {"bearer": []}],
        "paths": {
            "/v1/normalize": {
                "post": {
                    "summary": "Normalize one document",
                    "parameters": query,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["text"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "text": {"type": "string"},
                                        "id": {"type": ["string", "null"]},
                                        "options": {
                                            "anyOf": [
                                                {"$ref": "#/components/schemas/Options"},
                                                {"type": "null"},
                                            ]
                                        },
                                    },
                                }
                            },
                        },
                    },
                    "responses": {"200": ok_document, **_errors(400, 401, 413, 415, 429, 503)},
                }
            },
            "/v1/normalize/batch": {
                "post": {
                    "summary": "Normalize several documents, translating their sentences in shared batches",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["documents"],
                                    "properties": {
                                        "documents": {
                                            "type": "array",
                                            "description": "Each {text, id?, options?}. A document that "
                                            "is not valid (no text, bad options) gets an error in its "
                                            "place in the results; the others are unaffected.",
                                            "items": {"type": "object"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One entry per document, in order: a result or an error",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "results": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "id": {"type": ["string", "null"]},
                                                        "result": {"$ref": "#/components/schemas/Document"},
                                                        "error": {"$ref": "#/components/schemas/Problem"},
                                                    },
                                                },
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(400, 401, 413, 415, 429, 503),
                    },
                }
            },
            "/v1/languages": {
                "get": {
                    "summary": "Installed translation pairs and detectable languages",
                    "responses": {
                        "200": {
                            "description": "Languages",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "translation": {"type": "array", "items": {"type": "object"}},
                                            "detection": {"type": "array", "items": {"type": "string"}},
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(401),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Process is alive",
                    "security": [{}],
                    "responses": {"200": {"description": "Alive"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Models are loaded",
                    "security": [{}],
                    "responses": {"200": {"description": "Ready"}, **_errors(503)},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "security": [{}],
                    "responses": {
                        "200": {
                            "description": "Metrics in text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [{}],
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
    }


def docs_html() -> str:
    esc = html.escape
    doc = spec()
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            codes = ", ".join(op.get("responses", {}))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{esc(path)}</code></td>"
                f"<td>{esc(op.get('summary', ''))}</td><td>{esc(codes)}</td></tr>"
            )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>transnorm API</title>'
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto}"
        "td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
        f"<h1>transnorm API</h1><p>{esc(doc['info']['description'])}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). '
        "Errors are <code>application/problem+json</code> (RFC 9457).</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>responses</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
