"""Prometheus metrics, correct under several gunicorn workers.

Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` is set before the workers start (see
``gunicorn_conf.py``): every worker writes its samples there and ``/metrics``, whichever worker
answers, aggregates all of them. Without it (tests, a single process) the default registry is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

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


class _Models:
    """The models' metrics, from the status of the process that holds them (read at scrape
    time: the translation process is one for all workers)."""

    def __init__(self, status: Mapping[str, Any] | None) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("transnorm_translator_up", "The process holding the models answers")
        up.add_metric([], 1 if self.status else 0)
        yield up
        if not self.status:
            return
        engine, batches = self.status["engine"], self.status.get("batches") or {}
        loaded = GaugeMetricFamily("transnorm_model_loaded", "Packages loaded now", labels=["package"])
        for package in engine["loaded"]:
            loaded.add_metric([package], 1)
        yield loaded
        yield GaugeMetricFamily(
            "transnorm_models_loaded", "How many packages are loaded", engine["models_loaded"]
        )
        yield GaugeMetricFamily(
            "transnorm_models_loaded_bytes", "Size on disk of the loaded packages", engine["loaded_bytes"]
        )
        limit = self.status["max_loaded_models"]
        yield GaugeMetricFamily(
            "transnorm_models_max_loaded", "Most packages loaded at once (0: no limit)", limit
        )
        for name, value, help_ in (
            ("transnorm_model_loads", engine["loads"], "Package loads"),
            ("transnorm_model_unloads", engine["unloads"], "Packages unloaded (least recently used)"),
            ("transnorm_model_load_failures", engine["load_failures"], "Packages that failed to load"),
            ("transnorm_model_load_seconds", engine["load_seconds"], "Seconds spent loading packages"),
            (
                "transnorm_translation_batches",
                batches.get("batches", 0),
                "Model calls of the shared translator",
            ),
            (
                "transnorm_translation_mixed_batches",
                batches.get("mixed_batches", 0),
                "Model calls that joined the sentences of several processes",
            ),
        ):
            yield CounterMetricFamily(name, help_, value)
        if "uptime_s" in self.status:
            yield GaugeMetricFamily(
                "transnorm_translator_uptime_seconds",
                "Since the translation process started",
                self.status["uptime_s"],
            )


def exposition(models: Mapping[str, Any] | None = None) -> tuple[bytes, str]:
    """The metrics text: every worker's (under gunicorn), and the models' from ``models`` (a
    :meth:`~transnorm.server.state.State.status`)."""
    registry = CollectorRegistry()
    registry.register(_Models(models))  # type: ignore[arg-type]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest() + generate_latest(registry), CONTENT_TYPE_LATEST
