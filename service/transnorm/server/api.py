"""The ``/v1`` API: normalize one document or a batch, list languages."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError

from ..contract import DocumentDict
from ..detect import all_languages
from ..errors import OptionsError
from ..options import FORMATS, DocumentRequest, Options
from ..render import HTML_STYLE, media_type, render_bytes
from .declare import Param, endpoint
from .errors import ApiError
from .headers import DEFAULT_CSP, csp
from .schemas import BatchRequest, BatchResponse, Languages, Problem
from .state import State

api = Blueprint("api", __name__)
#: HTML output may use its one inline style, nothing else.
HTML_CSP = csp(style=HTML_STYLE)
#: A page sent back (``text/html`` in, ``?format=html`` out) is the caller's page: it may load nothing and
#: runs sandboxed (its scripts never run under this origin).
PAGE_CSP = DEFAULT_CSP + "; sandbox"

_ACCEPT = {"application/json": "json", "text/plain": "text", "text/html": "html"}
#: Options that may also come in the query string (a JSON body's options win over them).
QUERY_OPTIONS = ("markers", "chrome", "errors", "beam_size", "alternatives", "source", "target")
_INTEGERS = ("beam_size", "alternatives")


def _state() -> State:
    return current_app.extensions["transnorm"]


def _query_params() -> list[Param]:
    """The query parameters, each described by the Options field it sets."""
    properties = Options.model_json_schema()["properties"]
    params = [
        Param("format", {"enum": list(FORMATS)}, "Response format; otherwise from Accept (JSON by default).")
    ]
    for name in QUERY_OPTIONS:
        schema = {k: v for k, v in properties[name].items() if k not in ("title", "default", "description")}
        # A query parameter is present or absent; it is never null.
        schema = next((s for s in schema.pop("anyOf", ()) if s.get("type") != "null"), schema)
        params.append(Param(name, schema, properties[name].get("description", "")))
    params.append(Param("id", {"type": "string"}, "Document id (for a text/plain body)."))
    return params


def _problem(status: int, description: str) -> tuple[str, dict[str, Any]]:
    return description, {"application/problem+json": Problem}


ERRORS = {
    400: _problem(
        400,
        "Invalid UTF-8 (with byte_offset), a page its charset cannot decode (undecodable, with byte_offset), "
        "malformed JSON or framing, missing text, bad options, more documents than "
        "TRANSNORM_MAX_BATCH_DOCUMENTS",
    ),
    401: _problem(401, "A valid API key is required"),
    408: _problem(408, "The request did not arrive in time"),
    413: _problem(413, "Body over the limit"),
    415: _problem(415, "Unsupported content type or charset"),
    503: _problem(503, "Models are loading, or failed to load (the detail says which)"),
}


def _options(data: Any, query_format: str | None) -> Options:
    """Options from the body merged over the query string (each layer checked on its own)."""
    query: dict[str, Any] = {}
    for name in QUERY_OPTIONS:
        if name in request.args:
            value: Any = request.args[name]
            if name in _INTEGERS:
                try:
                    value = int(value)
                except ValueError:
                    raise OptionsError(f"{name} must be an integer; got {value!r}") from None
            query[name] = value
    body_format = data.get("format") if isinstance(data, dict) else None
    return Options.merged(query, data, {"format": query_format or body_format or _format_from_accept()})


def _format_from_accept() -> str:
    best = request.accept_mimetypes.best_match(list(_ACCEPT), default="application/json")
    return _ACCEPT.get(best or "application/json", "json")


def _json_body() -> Any:
    try:
        return json.loads(request.get_data(cache=True))
    except UnicodeDecodeError as exc:
        raise ApiError(
            400,
            "Invalid UTF-8",
            f"the JSON body is not UTF-8 at byte offset {exc.start}",
            byte_offset=exc.start,
        ) from None
    except ValueError as exc:
        raise ApiError(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "Malformed JSON", "the JSON body is nested too deeply") from None


def _respond(doc: Any, options: Options) -> Response:
    body = render_bytes(doc, options.format, options.markers, pretty=False)
    response = Response(body, content_type=media_type(doc, options.format))
    if options.format == "html":
        response.headers["Content-Security-Policy"] = HTML_CSP if doc.page is None else PAGE_CSP
    return response


@api.post("/normalize")
@endpoint(
    "Normalize one document",
    description="The body is the document as text/plain, an HTML page as text/html (?format=html gives the "
    "page back, its foreign passages translated in place), or JSON {text, id?, options?}. The response "
    "format comes from ?format=, else Accept.",
    access="key",
    limited=True,
    query=_query_params(),
    body={
        "text/plain": {"type": "string"},
        # Any bytes are a page (schemathesis' negative cases take only text/plain for text that any value
        # serializes to, so a type here would have it expect a page of "{}" refused).
        "text/html": {"description": "An HTML page, in the charset its Content-Type, BOM or <meta> gives"},
        "application/json": DocumentRequest,
    },
    responses={
        200: (
            "The normalized document",
            {
                "application/json": DocumentDict,
                "text/plain": {"type": "string"},
                "text/html": {"type": "string"},
            },
        ),
        **ERRORS,
    },
)
def normalize():  # type: ignore[no-untyped-def]
    query_format = request.args.get("format")
    if query_format is not None and query_format not in FORMATS:
        raise OptionsError(f"format must be one of {', '.join(FORMATS)}; got {query_format!r}")
    mimetype = request.mimetype
    if mimetype == "text/plain":
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise ApiError(415, "Unsupported charset", f"documents must be UTF-8, not {charset}")
        options = _options({"input_format": "text"}, query_format)
        data: bytes | str = request.get_data(cache=True)
        doc_id = request.args.get("id")
    elif mimetype == "text/html":
        page: dict[str, Any] = {"input_format": "html"}
        charset = request.mimetype_params.get("charset")
        if charset:
            page["charset"] = charset
        options = _options(page, query_format)
        data = request.get_data(cache=True)
        doc_id = request.args.get("id")
    elif mimetype == "application/json":
        req = DocumentRequest.parse(_json_body())
        options = _options(req.options, query_format)
        data, doc_id = req.text, req.id
    else:
        raise ApiError(
            415,
            "Unsupported media type",
            "send the document as text/plain, text/html or application/json, not "
            f"{mimetype or 'no content type'}",
        )
    (outcome,) = _state().normalize([(data, options, doc_id)])
    if outcome.error is not None:
        raise outcome.error
    return _respond(outcome.document, options)


@api.post("/normalize/batch")
@endpoint(
    "Normalize several documents; their sentences share model calls",
    description='{"documents": [{"text", "id"?, "options"?}…]} (at most TRANSNORM_MAX_BATCH_DOCUMENTS; '
    "options.input_format: html for a page) → "
    '{"results": [{"id", "result"} or {"id", "error"}…]} in order. A malformed batch is a 400 naming the '
    "document; a document over the size limit, or one the pipeline refuses, fails alone, in place.",
    access="key",
    limited=True,
    body={"application/json": BatchRequest},
    responses={
        200: ("One result or error per document, in order", {"application/json": BatchResponse}),
        **ERRORS,
    },
)
def normalize_batch():  # type: ignore[no-untyped-def]
    if request.mimetype != "application/json":
        raise ApiError(415, "Unsupported media type", "send the batch as application/json")
    body = _json_body()
    try:
        batch = BatchRequest.model_validate(body)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        detail = 'the body must be {"documents": [...]}'
        if len(loc) >= 2 and loc[0] == "documents":
            detail = f"documents[{loc[1]}] must be an object"
        raise ApiError(400, "Invalid request", detail) from None
    limit = _state().settings.service.max_batch_documents
    if len(batch.documents) > limit:
        raise ApiError(
            400, "Batch too large", f"at most {limit} documents per batch; got {len(batch.documents)}"
        )
    # The whole batch is checked against the schema before anything runs: a malformed document
    # is a caller's bug, answered 400 naming it. What the schema cannot say (a document over the
    # size limit, text the pipeline refuses, a model error) fails that document alone, in place.
    items: list[tuple[str, Options, str | None]] = []
    for i, item in enumerate(batch.documents):
        where = f"documents[{i}]"
        try:
            doc = DocumentRequest.parse(item, "the document")
            items.append((doc.text, _options(doc.options, "json"), doc.id))
        except OptionsError as exc:
            raise ApiError(400, "Invalid request", f"{where}: {exc}") from None
    return jsonify(results=[outcome.to_dict() for outcome in _state().normalize(items)])


@api.get("/languages")
@endpoint(
    "Installed translation pairs into English, and the languages the detector can name",
    responses={200: ("Languages", {"application/json": Languages})},
)
def languages():  # type: ignore[no-untyped-def]
    pipeline = _state().current()
    if pipeline is None:
        return jsonify(translation=[], detection=list(all_languages()))
    pairs = [p.to_dict() for p in pipeline.engine.packages().values() if p.to_code == "en"]
    return jsonify(translation=pairs, detection=list(pipeline.detector.languages))
