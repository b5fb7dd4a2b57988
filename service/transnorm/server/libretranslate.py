"""A LibreTranslate-compatible API (``/translate``, ``/detect``, ``/languages``,
``/frontend/settings``) over the same pipeline as ``/v1``, so existing clients work.

Differences from LibreTranslate: with ``source: "auto"`` every item is normalized span by span
(mixed documents work, English is left alone) and ``detectedLanguage`` names the main foreign
language of each item; page chrome is kept (a translation client expects all its text back);
``alternatives`` come from the model's n-best list per translated span (the k-th alternative
of an item puts every span's k-th hypothesis in place; text that was not translated has none,
so an all-English item has no alternatives); targets other than English need an explicit
source and an installed package for that pair.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..detect import ZXX
from ..document import Action, Document
from ..errors import OptionsError, TransnormError
from ..options import LANG_CODE_PATTERN, MAX_ALTERNATIVES, Options
from ..packages import by_source
from .errors import lt_error
from .middleware import given_key, key_is_valid
from .state import NotReady, State

lt = Blueprint("libretranslate", __name__)
LANG_CODE = re.compile(LANG_CODE_PATTERN)

NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ru": "Russian",
    "uk": "Ukrainian",
    "ja": "Japanese",
    "ko": "Korean",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "ar": "Arabic",
    "he": "Hebrew",
    "hi": "Hindi",
    "el": "Greek",
    "bg": "Bulgarian",
    "sr": "Serbian",
    "mk": "Macedonian",
    "be": "Belarusian",
    "th": "Thai",
    "pl": "Polish",
    "tr": "Turkish",
    "vi": "Vietnamese",
}


class LTError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@lt.errorhandler(LTError)
def _on_lt_error(exc: LTError) -> Response:
    return lt_error(exc.status, str(exc))


@lt.errorhandler(TransnormError)
def _on_library_error(exc: TransnormError) -> Response:
    status = 503 if exc.code == "model-error" else 400
    return lt_error(status, str(exc))


def _params() -> dict[str, Any]:
    """Request parameters from JSON, a form, or the query string, as LibreTranslate accepts them."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise LTError(400, "Invalid request: the JSON body must be an object")
        return data
    params: dict[str, Any] = {}
    for source in (request.args, request.form):
        for key in source:
            values = source.getlist(key)
            params[key] = values if key == "q" and len(values) > 1 else values[0]
    return params


def _count(value: Any, name: str) -> int:
    """A whole number from JSON (``2``, ``2.0``) or a form (``"2"``); anything else is a 400."""
    if value is None or value == "":
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LTError(400, f"Invalid request: {name} must be an integer")
    return value


def _check_key(params: dict[str, Any]) -> None:
    keys = current_app.extensions["transnorm"].settings.api_keys
    if not keys:
        return
    if not key_is_valid(given_key(params), keys):
        raise LTError(403, "Invalid API key")


def _state() -> State:
    return current_app.extensions["transnorm"]


@lt.errorhandler(NotReady)
def _on_not_ready(exc: NotReady) -> Response:
    return lt_error(503, str(exc).capitalize())


def _texts(params: dict[str, Any]) -> tuple[list[str], bool]:
    q = params.get("q")
    if q is None or q == "" or q == []:
        raise LTError(400, "Invalid request: missing q parameter")
    batch = isinstance(q, list)
    items = q if batch else [q]
    if not all(isinstance(x, str) for x in items):
        raise LTError(400, "Invalid request: q must be a string or a list of strings")
    settings = _state().settings
    if batch and len(items) > settings.max_batch_documents:
        raise LTError(
            400,
            f"Invalid request: request ({len(items)}) exceeds text limit ({settings.max_batch_documents})",
        )
    chars = sum(len(x.encode("utf-8", "surrogatepass")) for x in items)
    if chars > settings.max_bytes:
        raise LTError(
            400, f"Invalid request: request ({chars}) exceeds character limit ({settings.max_bytes})"
        )
    return items, batch


def language_shares(docs: list[Document]) -> tuple[Counter[str], dict[str, float]]:
    """Letters per detected language over ``docs``, and the best confidence of each language."""
    chars: Counter[str] = Counter()
    confidence: dict[str, float] = {}
    for doc in docs:
        for span in doc.spans:
            if span.lang == ZXX or span.action == Action.NORMALIZED:
                continue
            chars[span.lang] += sum(c.isalpha() for c in span.source_text)
            confidence[span.lang] = max(confidence.get(span.lang, 0.0), span.lang_confidence)
    return chars, confidence


def detected(docs: list[Document]) -> dict[str, Any]:
    """The main language of an item: the foreign language with the most letters, else English;
    confidence 0–100 as LibreTranslate reports it."""
    chars, confidence = language_shares(docs)
    foreign = [(n, lang) for lang, n in chars.items() if lang != "en" and n]
    if foreign:
        lang = max(foreign)[1]
    elif chars:
        lang = "en"
    else:
        return {"language": "en", "confidence": 0.0}
    return {"language": lang, "confidence": round(100 * confidence[lang], 1)}


class _HTMLText(HTMLParser):
    """Splits HTML into markup (kept verbatim) and text nodes (to translate)."""

    SKIP = frozenset({"script", "style", "code", "pre", "textarea"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[bool, str]] = []  # (is_text, content)
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in self.SKIP
        self.parts.append((False, self.get_starttag_text() or ""))

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.parts.append((False, self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in self.SKIP and self._skip > 0
        self.parts.append((False, f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        if self._skip:
            self.parts.append((False, html.escape(data, quote=False)))
        else:
            self.parts.append((True, data))

    def handle_comment(self, data: str) -> None:
        self.parts.append((False, f"<!--{data}-->"))

    def handle_decl(self, decl: str) -> None:
        self.parts.append((False, f"<!{decl}>"))

    def handle_pi(self, data: str) -> None:
        self.parts.append((False, f"<?{data}>"))


def _translate_items(
    items: list[str], options: Options, is_html: bool
) -> tuple[list[str], list[list[Document]], list[list[str]]]:
    """Translate each item (for HTML only its text nodes), all in one shared batch.

    Returns the translated items, per item the documents its text was normalized as, and per
    item its alternative translations (as many as ``options.alternatives`` and the model give).
    """
    if not is_html:
        docs = _run(items, options)
        alternatives = [d.alternative_texts(options.alternatives) for d in docs]
        return [d.text for d in docs], [[d] for d in docs], alternatives
    parsed = []
    nodes: list[str] = []
    for item in items:
        parser = _HTMLText()
        parser.feed(item)
        parser.close()
        parsed.append(parser.parts)
        nodes.extend(text for is_text, text in parser.parts if is_text)
    node_docs = iter(_run(nodes, options))
    per_item: list[list[Document]] = []
    for parts in parsed:
        per_item.append([next(node_docs) for is_text, _ in parts if is_text])
    out: list[str] = []
    alternatives: list[list[str]] = []
    for parts, docs in zip(parsed, per_item, strict=True):
        variants = [_compose_html(parts, [d.text for d in docs])]
        node_alts = [d.alternative_texts(options.alternatives) for d in docs]
        for k in range(max((len(a) for a in node_alts), default=0)):
            texts = [a[k] if k < len(a) else d.text for a, d in zip(node_alts, docs, strict=True)]
            variants.append(_compose_html(parts, texts))
        out.append(variants[0])
        alternatives.append([v for v in dict.fromkeys(variants[1:]) if v != variants[0]])
    return out, per_item, alternatives


def _compose_html(parts: list[tuple[bool, str]], texts: list[str]) -> str:
    """The markup of ``parts`` with its text nodes replaced, in order, by ``texts``."""
    replacement = iter(texts)
    return "".join(html.escape(next(replacement), quote=False) if is_text else c for is_text, c in parts)


def _run(texts: list[str], options: Options) -> list[Document]:
    """Normalize ``texts``; their translation is shared with concurrent requests."""
    results = _state().normalize([(t, options, None) for t in texts])
    for result in results:
        if isinstance(result, TransnormError):
            raise result
    return results  # type: ignore[return-value]


@lt.route("/translate", methods=["POST"])
def translate():  # type: ignore[no-untyped-def]
    params = _params()
    _check_key(params)
    items, batch = _texts(params)
    source = params.get("source") or "auto"
    target = params.get("target") or "en"
    fmt = params.get("format") or "text"
    if fmt not in ("text", "html"):
        raise LTError(400, f"Invalid request: format must be text or html, not {fmt}")
    alternatives = _count(params.get("alternatives"), "alternatives")
    if not 0 <= alternatives <= MAX_ALTERNATIVES:
        raise LTError(400, f"Invalid request: alternatives must be from 0 to {MAX_ALTERNATIVES}")
    if not isinstance(source, str) or not isinstance(target, str):
        raise LTError(400, "Invalid request: source and target must be strings")
    for name, code in (("source", source), ("target", target)):
        if not (LANG_CODE.fullmatch(code) or (name == "source" and code == "auto")):
            raise LTError(400, f"Invalid request: {name} must be a language code, not {code!r}")
    installed = _state().loaded().engine.packages()
    if target != "en" and (source == "auto" or (source, target) not in installed):
        pairs = ", ".join(sorted(f"{p.from_code}→{p.to_code}" for p in installed.values()))
        raise LTError(
            400,
            f"{target} is not supported as a target language here: transnorm normalizes into "
            f"English (installed: {pairs or 'none'})",
        )
    if source != "auto" and source != "en" and target == "en" and source not in by_source(installed.values()):
        raise LTError(
            400, f"{source} is not supported as a source language here: no {source}→en package is installed"
        )
    try:
        options = Options(chrome="keep", source=source, target=target, alternatives=alternatives)
    except OptionsError as exc:
        raise LTError(400, f"Invalid request: {exc}") from None
    texts, docs, others = _translate_items(items, options, fmt == "html")
    body: dict[str, Any] = {"translatedText": texts if batch else texts[0]}
    if source == "auto":
        found = [detected(d) for d in docs]
        body["detectedLanguage"] = found if batch else found[0]
    if alternatives:
        body["alternatives"] = others if batch else others[0]
    return jsonify(body)


@lt.route("/detect", methods=["POST"])
def detect():  # type: ignore[no-untyped-def]
    params = _params()
    _check_key(params)
    items, _ = _texts(params)
    docs = _run(items, Options(chrome="keep"))
    chars, confidence = language_shares(docs)
    total = sum(chars.values())
    if not total:
        return jsonify([{"language": "en", "confidence": 0.0}])
    ranked = sorted(
        (
            {"language": lang, "confidence": round(100 * confidence[lang] * n / total, 1)}
            for lang, n in chars.items()
            if n
        ),
        key=lambda x: -x["confidence"],
    )
    return jsonify(ranked)


@lt.route("/languages", methods=["GET", "POST"])
def languages():  # type: ignore[no-untyped-def]
    state = _state()
    pairs: dict[str, set[str]] = {"en": set()}
    if state.ready.is_set() and state.pipeline is not None:
        for info in state.pipeline.engine.packages().values():
            pairs.setdefault(info.from_code, set()).add(info.to_code)
    return jsonify(
        [
            {"code": code, "name": NAMES.get(code, code), "targets": sorted(targets)}
            for code, targets in sorted(pairs.items())
        ]
    )


@lt.get("/frontend/settings")
def frontend_settings():  # type: ignore[no-untyped-def]
    settings = _state().settings
    return jsonify(
        {
            "charLimit": settings.max_bytes,
            "batchLimit": settings.max_batch_documents,
            "frontendTimeout": 500,
            "apiKeys": bool(settings.api_keys),
            "keyRequired": bool(settings.api_keys),
            "suggestions": False,
            "filesTranslation": False,
            "supportedFilesFormat": [],
            "language": {
                "source": {"code": "auto", "name": "Auto Detect"},
                "target": {"code": "en", "name": "English"},
            },
        }
    )
