"""Prometheus metrics, correct under several gunicorn workers.

Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` is set before the workers start (see
``gunicorn_conf.py``): every worker writes its samples there and ``/metrics``, whichever worker
answers, aggregates all of them. Without it (tests, a single process) the default registry is used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from ..document import Action, Document
from ..translate import Request, Result, Translate, Translation

REQUESTS = Counter("transnorm_http_requests_total", "HTTP requests", ["endpoint", "status"])
LATENCY = Histogram(
    "transnorm_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TRANSLATED_CHARS = Counter("transnorm_translated_chars_total", "Source characters translated", ["lang"])
SPANS = Counter("transnorm_spans_total", "Spans produced, by action", ["action"])
DOCUMENTS = Counter("transnorm_documents_total", "Documents normalized", ["complete"])
CACHE_HITS = Counter("transnorm_translation_cache_hits_total", "Translation cache hits")
CACHE_MISSES = Counter("transnorm_translation_cache_misses_total", "Translation cache misses")


def record_document(doc: Document) -> None:
    DOCUMENTS.labels(complete=str(doc.complete).lower()).inc()
    for action, n in doc.stats["actions"].items():
        if n:
            SPANS.labels(action=action).inc(n)
    for span in doc.spans:
        if span.action == Action.TRANSLATED:
            TRANSLATED_CHARS.labels(lang=span.lang).inc(len(span.source_text))


def counting(translate: Translate) -> Translate:
    """``translate``, counting the translation cache's hits and misses of every call."""

    def counted(requests: Sequence[Request]) -> list[Result]:
        results = translate(requests)
        hits = sum(1 for r in results if isinstance(r, Translation) and r.cached)
        CACHE_HITS.inc(hits)
        CACHE_MISSES.inc(len(results) - hits)
        return results

    return counted


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
