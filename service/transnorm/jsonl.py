"""JSON lines: a stream of documents in, a stream of results out, one line for one line, in order.

An input line is a :class:`~transnorm.options.DocumentRequest`,
``{"id": …, "text": …, "options": {…}?}``; its output line is the item's
:class:`~transnorm.document.Outcome`: ``{"id": …, "result": {…}}`` with the transnorm JSON
document, or ``{"id": …, "error": {…}}`` with RFC 9457 problem details for a line that cannot be
a document (not UTF-8, not JSON, no ``text``, bad options, too large) or that the pipeline
refused — and the stream goes on. Lines go through :meth:`~transnorm.pipeline.Pipeline.pipe`
as they are read (its chunks share translation batches; memory holds one chunk), and a line
longer than any document can be is skipped over, never held.

``transnorm normalize --jsonl`` and the batch mode (for ``.jsonl`` inputs) run this.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from .document import Outcome
from .errors import DecodeError, InputError, OptionsError, TransnormError
from .options import DocumentRequest, Options
from .pipeline import CHUNK_DOCUMENTS, Item, Pipeline
from .translate import Translate


@dataclass
class StreamStats:
    """What a stream held: lines read, documents normalized, lines answered with an error."""

    lines: int = 0
    ok: int = 0
    failed: int = 0
    incomplete: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count one item's outcome."""
        self.lines += 1
        self.ok += outcome.ok
        self.failed += not outcome.ok
        self.incomplete += outcome.document is not None and not outcome.document.complete

    def counts(self) -> dict[str, int]:
        return {"lines": self.lines, "ok": self.ok, "failed": self.failed, "incomplete": self.incomplete}


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


def parse_line(line: bytes | None, number: int, limit: int, defaults: Options) -> Item | Outcome:
    """The pipeline item (text, options, id) of one input line, or the error outcome of a line
    that is not a document (with the line's id when it has one: an error still names its
    document)."""
    try:
        obj = _json_object(line, number, limit)
    except TransnormError as exc:
        return Outcome(None, error=exc)
    doc_id = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
    try:
        request = DocumentRequest.parse(obj, f"line {number}")
        given = request.options or {}
        if given.get("format", "json") != "json":
            raise OptionsError("in JSON lines each result is the JSON document: format must be json")
        options = Options.merged(defaults.to_dict(), given, {"format": "json"})
    except TransnormError as exc:
        return Outcome(doc_id, error=exc)
    return request.text, options, request.id


def _json_object(line: bytes | None, number: int, limit: int) -> object:
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
    return obj


def _items(source: IO[bytes], limit: int, defaults: Options) -> Iterator[Item | Outcome]:
    for line in _lines(source, limit):
        yield parse_line(line.data, line.number, limit, defaults)


def normalize_stream(
    source: IO[bytes],
    sink: IO[bytes],
    pipeline: Pipeline,
    defaults: Options | None = None,
    translate: Translate | None = None,
) -> StreamStats:
    """Normalize every line of ``source`` into ``sink`` (both binary); ``defaults`` are the options
    a line's own ``options`` are merged over. ``sink`` is flushed after each chunk of
    :meth:`~transnorm.pipeline.Pipeline.pipe`."""
    defaults = defaults or Options()
    limit = line_limit(pipeline.settings.pipeline.max_bytes)
    stats = StreamStats()
    pending = 0
    for outcome in pipeline.pipe(_items(source, limit, defaults), translate):
        stats.add(outcome)
        sink.write(outcome.to_json().encode("utf-8"))
        pending += 1
        if pending >= CHUNK_DOCUMENTS:
            sink.flush()
            pending = 0
    sink.flush()
    return stats
