"""The ``/v1`` API: normalize one document or a batch, list languages."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..detect import all_languages
from ..document import Document
from ..errors import OptionsError, TooLargeError, TransnormError
from ..options import FORMATS, Options
from ..render import FORMAT_MEDIA_TYPES, render
from .errors import ApiError, problem_for
from .state import State

api = Blueprint("api", __name__)

_ACCEPT = {"application/json": "json", "text/plain": "text", "text/html": "html"}


def _state() -> State:
    return current_app.extensions["transnorm"]


INTEGER_OPTIONS = ("beam_size", "alternatives")
QUERY_OPTIONS = ("markers", "chrome", "errors", "beam_size", "alternatives", "source", "target")


def _options(data: Any, query_format: str | None) -> Options:
    """Options from the body merged over the query string; both are validated in full."""
    if data is not None and not isinstance(data, dict):
        raise OptionsError(f"options must be an object; got {type(data).__name__}")
    query: dict[str, Any] = {}
    for name in QUERY_OPTIONS:
        if name in request.args:
            value = request.args[name]
            if name in INTEGER_OPTIONS:
                try:
                    value = int(value)
                except ValueError:
                    raise OptionsError(f"{name} must be an integer") from None
            query[name] = value
    # Each source is validated on its own: a bad value is an error even where another overrides it.
    Options.from_mapping(query)
    Options.from_mapping(_without_cross_checks(data or {}))
    values = {**query, **(data or {})}
    values["format"] = query_format or values.get("format") or _format_from_accept()
    return Options.from_mapping(values)


def _without_cross_checks(values: dict[str, Any]) -> dict[str, Any]:
    # target/source are checked together once merged (a target alone may need the query's source).
    return {k: v for k, v in values.items() if k not in ("source", "target")}


def _format_from_accept() -> str:
    best = request.accept_mimetypes.best_match(list(_ACCEPT), default="application/json")
    return _ACCEPT.get(best or "application/json", "json")


def _json_body() -> Any:
    data = request.get_data(cache=True)
    try:
        return json.loads(data)
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


def _respond(doc: Document, options: Options) -> Response:
    body = render(doc, options.format, options.markers, pretty=False)
    return Response(body, content_type=FORMAT_MEDIA_TYPES[options.format])


@api.post("/normalize")
def normalize():  # type: ignore[no-untyped-def]
    """Body: the document as ``text/plain``, or JSON ``{"text", "id"?, "options"?}``."""
    query_format = request.args.get("format")
    if query_format is not None and query_format not in FORMATS:
        raise OptionsError(f"format must be one of {', '.join(FORMATS)}; got {query_format!r}")
    mimetype = request.mimetype
    if mimetype == "text/plain":
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise ApiError(415, "Unsupported charset", f"documents must be UTF-8, not {charset}")
        options = _options({}, query_format)
        data: bytes | str = request.get_data(cache=False)
        doc_id = request.args.get("id")
    elif mimetype == "application/json":
        body = _json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid request", 'the JSON body must be an object with a "text" member')
        unknown = set(body) - {"text", "id", "options"}
        if unknown:
            raise ApiError(400, "Invalid request", f"unknown member(s): {', '.join(sorted(unknown))}")
        if not isinstance(body.get("text"), str):
            raise ApiError(400, "Invalid request", 'the JSON body needs a "text" member that is a string')
        if body.get("id") is not None and not isinstance(body["id"], str):
            raise ApiError(400, "Invalid request", '"id" must be a string')
        options = _options(body.get("options"), query_format)
        data, doc_id = body["text"], body.get("id")
    else:
        raise ApiError(
            415,
            "Unsupported media type",
            f"send the document as text/plain or application/json, not {mimetype or 'no content type'}",
        )
    limit = _state().settings.max_bytes
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise TooLargeError(f"document is {size} bytes; the limit is {limit} (TRANSNORM_MAX_BYTES)")
    (doc,) = _state().normalize([(data, options, doc_id)])
    if isinstance(doc, TransnormError):
        raise doc
    return _respond(doc, options)


@api.post("/normalize/batch")
def normalize_batch():  # type: ignore[no-untyped-def]
    """Body: ``{"documents": [{"id", "text", "options"}, ...]}``; one result per document, in order."""
    if request.mimetype != "application/json":
        raise ApiError(415, "Unsupported media type", "send the batch as application/json")
    body = _json_body()
    documents = body.get("documents") if isinstance(body, dict) else None
    if not isinstance(documents, list):
        raise ApiError(400, "Invalid request", 'the body must be {"documents": [...]}')
    for i, item in enumerate(documents):
        if not isinstance(item, dict):
            raise ApiError(
                400, "Invalid request", f"documents[{i}] must be an object, not {type(item).__name__}"
            )
    limit = _state().settings.max_batch_documents
    if len(documents) > limit:
        raise ApiError(413, "Batch too large", f"at most {limit} documents per batch; got {len(documents)}")
    items: list[tuple[str, Options | None, str | None]] = []
    errors: dict[int, dict[str, Any]] = {}
    for i, item in enumerate(documents):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise OptionsError('each document must be an object with a "text" string')
            unknown = set(item) - {"text", "id", "options"}
            if unknown:
                raise OptionsError(f"unknown member(s): {', '.join(sorted(unknown))}")
            if item.get("id") is not None and not isinstance(item["id"], str):
                raise OptionsError('"id" must be a string')
            items.append((item["text"], _options(item.get("options"), "json"), item.get("id")))
        except TransnormError as exc:
            status, title, extra = problem_for(exc)
            errors[i] = {"status": status, "title": title, "detail": str(exc), **extra}
            items.append(("", None, None))
    todo = [i for i in range(len(items)) if i not in errors]
    results = _state().normalize([items[i] for i in todo])
    out: list[dict[str, Any]] = [{} for _ in items]
    for i, result in zip(todo, results, strict=True):
        doc_id = items[i][2]
        if isinstance(result, TransnormError):
            status, title, extra = problem_for(result)
            out[i] = {
                "id": doc_id,
                "error": {"status": status, "title": title, "detail": str(result), **extra},
            }
        else:
            out[i] = {"id": doc_id, "result": result.to_dict()}
    for i, error in errors.items():
        item = documents[i]
        doc_id = item.get("id") if isinstance(item, dict) else None
        out[i] = {"id": doc_id if isinstance(doc_id, str) else None, "error": error}
    return jsonify(results=out)


@api.get("/languages")
def languages():  # type: ignore[no-untyped-def]
    state = _state()
    pairs = []
    detection = list(all_languages())
    if state.ready.is_set() and state.pipeline is not None:
        pairs = [p.to_dict() for p in state.pipeline.engine.packages().values() if p.to_code == "en"]
        detection = list(state.pipeline.detector.languages)
    return jsonify(translation=pairs, detection=detection)
