"""A LibreTranslate-compatible API (``/translate``, ``/detect``, ``/languages``,
``/frontend/settings``, ``/health``, ``/spec``) over the same pipeline as ``/v1``, so existing
clients work. Parameters, checks, their order and their messages follow LibreTranslate's
``app.py`` (1.9): JSON, a form or the query string; codes lower-cased, Chinese as ``zh-Hans`` and
``zh-Hant``, Brazilian Portuguese as ``pt-BR``; a list of n texts costs n requests.

Differences from LibreTranslate: with ``source: "auto"`` every item is normalized span by span
(mixed documents work, English is left alone) and ``detectedLanguage`` names the main foreign
language of each item; page chrome is kept (a translation client expects all its text back);
``alternatives`` come from the model's n-best list per translated span (0–8); ``format: html`` reads
each item with the markup stage, as a fragment of a page (scripts, styles, comments and CDATA
untouched, inline tags kept around their words, a language menu left as it is); targets other than
English need an explicit source and an installed package for that pair; CORS is off unless
configured; files and suggestions are off.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from flask import Blueprint, Request, current_app, jsonify, request

from ..detect import ZXX
from ..document import Action, Document
from ..htmlspans import write_page
from ..options import MAX_ALTERNATIVES, Options
from ..packages import language_names, load_manifest
from .codes import accepted, from_lt, sources, to_lt
from .declare import endpoint
from .errors import LTError
from .schemas import (
    Health,
    LTDetectForm,
    LTDetectRequest,
    LTSettings,
    LTTranslateForm,
    LTTranslateRequest,
    LTTranslateResponse,
)
from .schemas import LTError as LTErrorModel
from .state import State

lt = Blueprint("libretranslate", __name__)

#: What a translation client expects: all its text back, page chrome included.
LT_DEFAULTS = {"chrome": "keep"}

LT_ERRORS = {
    400: ("Invalid request (LibreTranslate's message)", {"application/json": LTErrorModel}),
    403: ("Invalid API key", {"application/json": LTErrorModel}),
    408: ("The request did not arrive in time", {"application/json": LTErrorModel}),
    413: ("Body over the limit", {"application/json": LTErrorModel}),
    503: ("Models are loading, or failed to load", {"application/json": LTErrorModel}),
}


def _state() -> State:
    return current_app.extensions["transnorm"]


def params(req: Request | None = None) -> dict[str, Any]:
    """Request parameters from JSON, or else a form and the query string, as LibreTranslate reads
    them (a repeated ``q`` field is a list)."""
    req = req or request
    if req.is_json:
        try:
            data = req.get_json(silent=True)
        except RecursionError:
            data = None
        if not isinstance(data, dict):
            raise LTError(400, "Invalid JSON format")
        return data
    values: dict[str, Any] = {}
    for source in (req.args, req.form):
        for key in source:
            found = source.getlist(key)
            values[key] = found if key == "q" and len(found) > 1 else found[0]
    return values


def lt_api_key() -> str:
    """The ``api_key`` parameter (declared routes with LibreTranslate access read it)."""
    key = params().get("api_key")
    return key if isinstance(key, str) else ""


def _cost(req: Request) -> int:
    """LibreTranslate counts a list of n texts as n requests."""
    try:
        q = params(req).get("q")
    except LTError:
        return 1
    return max(1, len(q)) if isinstance(q, list) else 1


def _alternatives(value: Any) -> int:
    """LibreTranslate's ``int(alternatives)``, negative as 0; what it cannot read is a 400."""
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError
        number = max(0, int(value.strip() if isinstance(value, str) else value))
    except (ValueError, TypeError, OverflowError):
        raise LTError(400, "Invalid request: alternatives parameter is not a number") from None
    if number > MAX_ALTERNATIVES:
        raise LTError(400, f"Invalid request: alternatives parameter must be <= {MAX_ALTERNATIVES}")
    return number


def _texts(values: dict[str, Any], is_form: bool) -> tuple[list[str], bool]:
    q = values.get("q")
    if not q:
        raise LTError(400, "Invalid request: missing q parameter")
    batch = isinstance(q, list)
    items = q if batch else [q]
    if not all(isinstance(x, str) for x in items):
        raise LTError(400, "Invalid request: q must be a string or a list of strings")
    if is_form:
        items = ["\n".join(x.splitlines()) for x in items]  # CRLF as LF, as LibreTranslate does
    settings = _state().settings
    most = settings.service.max_batch_documents
    if batch and len(items) > most:
        raise LTError(400, f"Invalid request: request ({len(items)}) exceeds text limit ({most})")
    for text in items:
        if len(text) > settings.pipeline.max_bytes:
            raise LTError(
                400,
                f"Invalid request: request ({len(text)}) exceeds text limit ({settings.pipeline.max_bytes})",
            )
    return items, batch


def language_shares(docs: list[Document]) -> tuple[Counter[str], dict[str, float]]:
    """Letters per detected language over ``docs``, and the best confidence of each language."""
    chars: Counter[str] = Counter()
    confidence: dict[str, float] = {}
    for doc in docs:
        for span in doc.spans:
            if (
                span.lang == ZXX
                or span.action == Action.NORMALIZED
                or (span.reason is not None and span.action == Action.KEPT)
            ):
                continue
            chars[span.lang] += sum(c.isalpha() for c in span.source_text)
            confidence[span.lang] = max(confidence.get(span.lang, 0.0), span.lang_confidence)
    return chars, confidence


def detected(docs: list[Document]) -> dict[str, Any]:
    """The main language of an item: the foreign language with the most letters, else English;
    confidence 0–100 as LibreTranslate reports it (0 for text with no letters at all)."""
    chars, confidence = language_shares(docs)
    foreign = [(n, lang) for lang, n in chars.items() if lang != "en" and n]
    if foreign:
        lang = max(foreign)[1]
    elif chars:
        lang = "en"
    else:
        return {"language": "en", "confidence": 0.0}
    return {"language": to_lt(lang), "confidence": round(100 * confidence[lang], 1)}


def _translate_items(
    items: list[str], options: Options, is_html: bool
) -> tuple[list[str], list[list[Document]], list[list[str]]]:
    """Translate each item, all in one shared batch; an HTML item through the markup stage, as a page
    whose foreign passages are replaced in place (scripts, styles, comments and CDATA untouched).

    Returns the translated items, per item the documents its text was normalized as, and per
    item its alternative translations (as many as ``options.alternatives`` and the model give).
    """
    if not is_html:
        docs = _run(items, options)
        alternatives = [d.alternative_texts(options.alternatives) for d in docs]
        return [d.text for d in docs], [[d] for d in docs], alternatives
    docs = _run(items, options.model_copy(update={"input_format": "html"}))
    out: list[str] = []
    alternatives: list[list[str]] = []
    for doc in docs:
        page = doc.page
        depth = min(options.alternatives, max((len(s.alternatives) for s in doc.spans), default=0))
        variants = [write_page(page, bare=True, alternative=k)[0] for k in (None, *range(depth))]
        out.append(variants[0])
        alternatives.append([v for v in dict.fromkeys(variants[1:]) if v != variants[0]])
    return out, [[d] for d in docs], alternatives


def _run(texts: list[str], options: Options) -> list[Document]:
    """Normalize ``texts``; their translation is shared with concurrent requests."""
    docs = []
    for outcome in _state().normalize([(t, options, None) for t in texts]):
        if outcome.document is None:
            raise LTError(400, f"Invalid request: {outcome.error}")
        docs.append(outcome.document)
    return docs


@lt.post("/translate")
@endpoint(
    "Translate text (LibreTranslate)",
    description="A form, JSON or the query string: q (a text or a list), source (a code or auto), target, "
    "format (text or html), alternatives, api_key → translatedText, detectedLanguage (with auto), "
    "alternatives (when asked).",
    access="libretranslate",
    limited=True,
    cost=_cost,
    body={
        "application/json": LTTranslateRequest,
        "application/x-www-form-urlencoded": LTTranslateForm,
        "multipart/form-data": LTTranslateForm,
    },
    responses={200: ("Translation", {"application/json": LTTranslateResponse}), **LT_ERRORS},
)
def translate():  # type: ignore[no-untyped-def]
    values = params()
    items, batch = _texts(values, not request.is_json)
    source, target = from_lt(values.get("source")), from_lt(values.get("target"))
    if not source:
        raise LTError(400, "Invalid request: missing source parameter")
    if not target:
        raise LTError(400, "Invalid request: missing target parameter")
    alternatives = _alternatives(values.get("alternatives", 0))
    pipeline = _state().loaded()
    source_codes, target_codes = accepted(pipeline)
    if not isinstance(source, str) or (source != "auto" and source not in source_codes):
        raise LTError(400, f"{source} is not supported")
    if not isinstance(target, str) or target not in target_codes:
        raise LTError(400, f"{target} is not supported")
    if target != "en" and (source, target) not in pipeline.engine.packages():
        raise LTError(400, f"{target} is not supported")
    fmt = values.get("format")
    fmt = "text" if fmt in (None, "") else fmt  # LibreTranslate takes any false value; JSON null or ""
    if fmt not in ("text", "html"):
        raise LTError(400, f"{fmt} format is not supported")
    given = {"source": source, "target": target, "alternatives": alternatives}
    options = Options.merged(LT_DEFAULTS, given)
    texts, docs, others = _translate_items(items, options, fmt == "html")
    body: dict[str, Any] = {"translatedText": texts if batch else texts[0]}
    if source == "auto":
        found = [detected(d) for d in docs]
        body["detectedLanguage"] = found if batch else found[0]
    if alternatives:
        body["alternatives"] = others if batch else others[0]
    return jsonify(body)


@lt.post("/detect")
@endpoint(
    "Detect the language of text (LibreTranslate)",
    description="[{language, confidence}], best first, confidence 0–100.",
    access="libretranslate",
    limited=True,
    cost=_cost,
    body={
        "application/json": LTDetectRequest,
        "application/x-www-form-urlencoded": LTDetectForm,
        "multipart/form-data": LTDetectForm,
    },
    responses={
        200: (
            "Languages, best first",
            {"application/json": {"type": "array", "items": {"$ref": "#/components/schemas/LTDetected"}}},
        ),
        **LT_ERRORS,
    },
)
def detect():  # type: ignore[no-untyped-def]
    items, _ = _texts(params(), not request.is_json)
    docs = _run(items, Options.merged(LT_DEFAULTS))
    chars, confidence = language_shares(docs)
    total = sum(chars.values())
    if not total:
        return jsonify([{"language": "en", "confidence": 0.0}])
    ranked = sorted(
        (
            {"language": to_lt(lang), "confidence": round(100 * confidence[lang] * n / total, 1)}
            for lang, n in chars.items()
            if n
        ),
        key=lambda x: -x["confidence"],
    )
    return jsonify(ranked)


@lt.get("/languages")
@endpoint(
    "Installed languages and their targets (LibreTranslate)",
    description="[{code, name, targets}]; Chinese is zh-Hans and zh-Hant, Brazilian Portuguese pt-BR.",
    responses={
        200: (
            "Languages",
            {"application/json": {"type": "array", "items": {"$ref": "#/components/schemas/LTLanguage"}}},
        )
    },
)
def languages():  # type: ignore[no-untyped-def]
    state = _state()
    targets: dict[str, set[str]] = {"en": set()}
    pipeline = state.current()
    if pipeline is not None:
        for info in pipeline.engine.packages().values():
            targets.setdefault(info.from_code, set()).add(info.to_code)
        for code in sources(pipeline):
            targets.setdefault(code, set()).add("en")
    names = language_names(load_manifest(state.settings.models.manifest))
    return jsonify(
        [
            {"code": to_lt(code), "name": names.get(code, code), "targets": sorted(to_lt(t) for t in found)}
            for code, found in sorted(targets.items())
        ]
    )


@lt.get("/frontend/settings")
@endpoint(
    "Limits and defaults for LibreTranslate's web client",
    description="charLimit, batchLimit, apiKeys, keyRequired, the default source and target.",
    responses={200: ("Settings", {"application/json": LTSettings})},
)
def frontend_settings():  # type: ignore[no-untyped-def]
    settings = _state().settings
    return jsonify(
        {
            "charLimit": settings.pipeline.max_bytes,
            "batchLimit": settings.service.max_batch_documents,
            "frontendTimeout": 500,
            "apiKeys": bool(settings.service.api_keys),
            "keyRequired": bool(settings.service.api_keys),
            "suggestions": False,
            "filesTranslation": False,
            "supportedFilesFormat": [],
            "language": {
                "source": {"code": "auto", "name": "Auto Detect"},
                "target": {"code": "en", "name": "English"},
            },
        }
    )


@lt.get("/health")
@endpoint("Health (LibreTranslate)", responses={200: ("The service is up", {"application/json": Health})})
def health():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@lt.get("/spec")
@endpoint(
    "This API's OpenAPI document (LibreTranslate's path)",
    responses={200: ("OpenAPI 3.1", {"application/json": {"type": "object"}})},
)
def spec():  # type: ignore[no-untyped-def]
    from .openapi import spec as build

    return jsonify(build(current_app))


@lt.post("/translate_file")
@endpoint(
    "File translation (off, as LibreTranslate with it disabled)",
    access="libretranslate",
    responses={
        403: ("Files translation are disabled on this server.", {"application/json": LTErrorModel}),
        **LT_ERRORS,
    },
)
def translate_file():  # type: ignore[no-untyped-def]
    raise LTError(403, "Files translation are disabled on this server.")


@lt.post("/suggest")
@endpoint(
    "Suggestions (off, as LibreTranslate with them disabled)",
    responses={403: ("Suggestions are disabled on this server.", {"application/json": LTErrorModel})},
)
def suggest():  # type: ignore[no-untyped-def]
    raise LTError(403, "Suggestions are disabled on this server.")
