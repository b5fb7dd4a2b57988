"""JSON lines: a stream of documents in, a stream of results out, one line for one line, in order.

An input line is a :class:`~transnorm.options.DocumentRequest`,
``{"id": …, "text": …, "options": {…}?}``; its output line is ``{"id": …, "result": {…}}``
with the transnorm JSON document, or ``{"id": …, "error": {…}}`` with RFC 9457 problem details
for a line that cannot be a document (not UTF-8, not JSON, no ``text``, bad options, too large)
or that the pipeline refused — and the stream goes on. Lines are taken in chunks whose sentences
share translation batches; memory holds one chunk, and a line longer than any document can be is
skipped over, never held.

``transnorm normalize --jsonl`` and the batch mode (for ``.jsonl`` inputs) run this.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from .errors import DecodeError, InputError, OptionsError, TransnormError
from .options import DocumentRequest, Options
from .pipeline import Item, Pipeline
from .render import to_json
from .translate import Translate

#: A chunk ends after this many documents or this many bytes of input, whichever comes first.
CHUNK_DOCUMENTS = 32
CHUNK_BYTES = 4 << 20


@dataclass
class StreamStats:
    """What a stream held: lines read, documents normalized, lines answered with an error."""

    lines: int = 0
    ok: int = 0
    failed: int = 0
    incomplete: int = 0


@dataclass
class _Line:
    number: int
    data: bytes | None  # None: too long, not kept
    size: int


def line_limit(max_bytes: int) -> int:
    """The longest line that can hold a document of ``max_bytes`` (JSON may escape each byte as
    ``\\uXXXX``, six characters), plus room for an id and options."""
    return 6 * max_bytes + 65536


def _lines(source: IO[bytes], limit: int) -> Iterator[_Line]:
    number = 0
    while True:
        data = source.readline(limit + 1)
        if not data:
            return
        number += 1
        size = len(data)
        if size > limit and not data.endswith(b"\n"):
            while data and not data.endswith(b"\n"):  # skip the rest of the line, a piece at a time
                data = source.readline(1 << 20)
                size += len(data)
            yield _Line(number, None, size)
        else:
            yield _Line(number, data.rstrip(b"\r\n") if data.endswith(b"\n") else data, size)


def _chunks(source: IO[bytes], limit: int) -> Iterator[list[_Line]]:
    chunk: list[_Line] = []
    size = 0
    for line in _lines(source, limit):
        chunk.append(line)
        size += line.size
        if len(chunk) >= CHUNK_DOCUMENTS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def parse_line(line: bytes | None, number: int, limit: int, defaults: Options) -> Item:
    """The pipeline item (text, options, id) of one input line; raises
    :class:`~transnorm.errors.TransnormError` for a line that is not a document, with the line's
    id in ``doc_id`` when it has one (an error line still names its document)."""
    where = f"line {number}"
    if line is None:
        raise InputError(f"{where} is longer than {limit} bytes, more than any document can need")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{where} is not UTF-8 at byte offset {exc.start}", exc.start) from None
    if not text.strip():
        raise InputError(f'{where} is empty; each line must be a JSON object with a "text" member')
    try:
        obj = json.loads(text)
    except RecursionError:
        raise InputError(f"{where}: the JSON is nested too deeply") from None
    except ValueError as exc:
        raise InputError(f"{where} is not valid JSON: {exc}") from None
    doc_id = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
    try:
        request = DocumentRequest.parse(obj, where)
        given = request.options or {}
        if given.get("format", "json") != "json":
            raise OptionsError("in JSON lines each result is the JSON document: format must be json")
        Options.from_mapping(given)  # each source of options is checked on its own
        options = Options.from_mapping({**defaults.to_dict(), **given, "format": "json"})
    except TransnormError as exc:
        exc.doc_id = doc_id  # type: ignore[attr-defined]
        raise
    return request.text, options, request.id


def normalize_stream(
    source: IO[bytes],
    sink: IO[bytes],
    pipeline: Pipeline,
    defaults: Options | None = None,
    translate: Translate | None = None,
) -> StreamStats:
    """Normalize every line of ``source`` into ``sink`` (both binary); ``defaults`` are the options
    a line's own ``options`` are merged over. Flushes ``sink`` after each chunk."""
    defaults = defaults or Options()
    limit = line_limit(pipeline.settings.max_bytes)
    stats = StreamStats()
    for chunk in _chunks(source, limit):
        slots: list[int | dict[str, Any]] = []  # per line: its index in items, or its error answer
        items: list[Item] = []
        for line in chunk:
            try:
                items.append(parse_line(line.data, line.number, limit, defaults))
                slots.append(len(items) - 1)
            except TransnormError as exc:
                slots.append({"id": getattr(exc, "doc_id", None), "error": exc.problem()})
        results = pipeline.normalize_many(items, translate)
        for slot in slots:
            if isinstance(slot, int):
                doc_id, result = items[slot][2], results[slot]
                if isinstance(result, TransnormError):
                    answer = {"id": doc_id, "error": result.problem()}
                else:
                    answer = {"id": doc_id, "result": result.to_dict()}
                    stats.incomplete += not result.complete
            else:
                answer = slot
            stats.lines += 1
            stats.ok += "result" in answer
            stats.failed += "error" in answer
            sink.write(to_json(answer, pretty=False).encode("utf-8"))
        sink.flush()
    return stats
