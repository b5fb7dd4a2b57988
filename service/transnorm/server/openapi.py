"""``/openapi.json`` (OpenAPI 3.1), built from the app's routes, their declarations and the
pydantic models of the contract; and the ``/docs`` page generated from it.

Chosen over apispec, spectree or flask-smorest: the models are already pydantic, so
``model_json_schema`` gives their schemas with no second framework around the views, and the
route declarations (:mod:`~transnorm.server.declare`) carry what those libraries would.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from .. import __version__
from ..contract import DocumentDict
from .codes import served_codes
from .declare import Content, Endpoint, declaration
from .schemas import COMPONENTS

REF = "#/components/schemas/{model}"


def components() -> dict[str, Any]:
    """The schemas of every contract model, with their nested definitions."""
    _, top = models_json_schema([(m, "validation") for m in COMPONENTS], ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    document = TypeAdapter(DocumentDict).json_schema(ref_template=REF)
    schemas.update(document.pop("$defs", {}))
    schemas["DocumentDict"] = document
    return schemas


def _schema(content: Content) -> Mapping[str, Any]:
    if isinstance(content, type) and issubclass(content, BaseModel):
        return {"$ref": REF.format(model=content.__name__)}
    if content is DocumentDict:
        return {"$ref": REF.format(model="DocumentDict")}
    if isinstance(content, Mapping):
        return content
    raise TypeError(f"cannot describe {content!r}")


def _operation(decl: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": decl.summary}
    if decl.description:
        op["description"] = decl.description
    if decl.query:
        op["parameters"] = [
            {"name": p.name, "in": "query", "schema": dict(p.schema), "description": p.description}
            for p in decl.query
        ]
    if decl.body:
        op["requestBody"] = {
            "required": True,
            "content": {media: {"schema": _schema(c)} for media, c in decl.body.items()},
        }
    op["responses"] = {
        str(status): {
            "description": description,
            **(
                {"content": {media: {"schema": _schema(c)} for media, c in content.items()}}
                if content
                else {}
            ),
        }
        for status, (description, content) in sorted(decl.responses.items())
    }
    op["x-access"] = decl.access
    if decl.access == "key":
        op["security"] = [{}, {"apiKey": []}, {"bearer": []}]
    if decl.limited:
        op["responses"].setdefault(
            "429",
            {"description": "Over TRANSNORM_REQUESTS_PER_MINUTE for this client; Retry-After says when"},
        )
    return op


def _blueprint(rule: Any) -> str:
    """The blueprint a route belongs to (every route does: the app defines none of its own)."""
    name, dot, _ = rule.endpoint.partition(".")
    if not dot:
        raise LookupError(f"route {rule.rule} is not in a blueprint")
    return name


def spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app``: every route it has, as declared."""
    paths: dict[str, dict[str, Any]] = {}
    rules = sorted(
        app.url_map.iter_rules(), key=lambda r: (list(app.blueprints).index(_blueprint(r)), r.rule)
    )
    for rule in rules:
        decl = declaration(app, rule.endpoint)
        if decl is None:
            raise LookupError(f"route {rule.rule} ({rule.endpoint}) has no declaration")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = _operation(decl)
            op["tags"] = [_blueprint(rule)]
            paths.setdefault(rule.rule, {})[method.lower()] = op
    schemas = components()
    _this_server(schemas, paths, app)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "transnorm",
            "version": __version__,
            "description": "Finds foreign-language spans in mostly-English documents, translates them "
            "offline and returns English with provenance; also answers LibreTranslate's API.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "paths": paths,
    }


def _this_server(schemas: dict[str, Any], paths: dict[str, Any], app: Flask) -> None:
    """What this server accepts beyond the static contract: its batch limits and, once the models
    are loaded, the languages it writes and those its LibreTranslate API serves (in any case)."""
    state = app.extensions["transnorm"]
    settings = state.settings
    schemas["BatchRequest"]["properties"]["documents"]["maxItems"] = settings.service.max_batch_documents
    for name in ("LTTranslateRequest", "LTDetectRequest", "LTTranslateForm", "LTDetectForm"):
        for alternative in schemas[name]["properties"]["q"]["anyOf"]:
            if alternative["type"] == "array":
                alternative["maxItems"] = min(
                    alternative.get("maxItems", 1 << 30), settings.service.max_batch_documents
                )
    if not state.ready.is_set() or state.pipeline is None:
        return
    source_codes, target_codes = served_codes(state.pipeline)
    for name in ("LTTranslateRequest", "LTTranslateForm"):
        lt = schemas[name]["properties"]
        for field, codes in (("source", source_codes), ("target", target_codes)):
            lt[field]["pattern"] = "^(?:" + "|".join(map(_any_case, codes)) + ")$"
    targets = sorted(state.pipeline.targets())
    schemas["Options"]["properties"]["target"]["enum"] = targets
    for methods in paths.values():
        for op in methods.values():
            for param in op.get("parameters", []):
                if param["name"] == "target":
                    param["schema"] = {"type": "string", "enum": targets}


def _any_case(code: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in code)


DOCS_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "code{background:#f3f3f3;padding:0 .2rem}h2{border-top:1px solid #ddd;padding-top:1rem}"
)


def docs_html(document: dict[str, Any]) -> str:
    """A readable page generated from the OpenAPI document (no external scripts)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>transnorm API</title>",
        f"<style>{DOCS_STYLE}</style></head><body><h1>transnorm API</h1>",
        f"<p>{esc(document['info']['description'])} Machine-readable: "
        "<a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            parts.append(
                f"<h2><code>{esc(method.upper())} {esc(path)}</code></h2><p>{esc(op['summary'])}</p>"
            )
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            for p in op.get("parameters", []):
                parts.append(f"<p>query <code>{esc(p['name'])}</code>: {esc(p.get('description', ''))}</p>")
            if "requestBody" in op:
                kinds = ", ".join(op["requestBody"]["content"])
                parts.append(f"<p>body: <code>{esc(kinds)}</code></p>")
            answers = ", ".join(f"{code} {r['description']}" for code, r in op["responses"].items())
            parts.append(f"<p>answers: {esc(answers)}</p>")
    parts.append("</body></html>")
    return "".join(parts)
