"""What one worker process holds, and the one helper every endpoint normalizes through.

Under ``transnorm serve`` a worker holds no model: its pipeline plans and assembles, and its
translate strategy is a :class:`~transnorm.translator.TranslatorClient` of the host's translation
process (``TRANSNORM_TRANSLATOR_SOCKET``, set by the gunicorn master), which translates for every
worker in shared batches. Embedded without one (tests, ``create_app`` in a script), the worker
translates itself: its engine's preload list loads first, and a
:class:`~transnorm.translate.SharedTranslator` shares model calls between its request threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..document import Outcome
from ..pipeline import Item, Pipeline
from ..settings import Settings
from ..translate import SharedTranslator, Translate
from ..translator import TranslatorClient, TranslatorError
from . import metrics

#: How long /readyz waits for the translation process to describe itself.
STATUS_TIMEOUT = 2.0


class NotReady(Exception):
    """The models are not loaded (yet, or at all: ``failed`` says why)."""

    def __init__(self, failed: str | None, detail: str | None = None) -> None:
        if detail is None:
            detail = (
                f"model loading failed: {failed}" if failed else "models are still loading; retry shortly"
            )
        super().__init__(detail)
        self.failed = failed


@dataclass
class State:
    """What one worker process holds: settings, the pipeline once loaded, readiness."""

    settings: Settings
    pipeline: Pipeline | None = None
    translate: Translate | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    #: The host's translation process, when the models are there.
    translator: TranslatorClient | None = None

    def load(self) -> None:
        try:
            pipeline = self.pipeline or Pipeline(self.settings)
            if pipeline.remote is not None:
                self.translator = pipeline.remote
                self.translate = metrics.counting(pipeline.remote)
            else:
                pipeline.engine.load()
                # Concurrent requests share model calls; cache hits and misses are counted on the way.
                self.translate = metrics.counting(SharedTranslator(pipeline.translate))
            self.pipeline = pipeline
            self.ready.set()
        except Exception as exc:  # reported by /readyz and every request; the worker stays up to say so
            self.error = f"{type(exc).__name__}: {exc}"

    def current(self) -> Pipeline | None:
        """The pipeline once loaded, else None: the one readiness check every endpoint uses."""
        return self.pipeline if self.ready.is_set() else None

    def loaded(self) -> Pipeline:
        """The loaded pipeline; raises :class:`NotReady` before (or if loading failed)."""
        pipeline = self.current()
        if pipeline is None:
            raise NotReady(self.error)
        return pipeline

    def status(self) -> dict[str, Any]:
        """What is loaded and how loading went (:meth:`TranslatorServer.status
        <transnorm.translator.TranslatorServer.status>`): the translation process's, or this
        process's engine's. Raises :class:`NotReady` when there is no answer."""
        pipeline = self.loaded()
        if self.translator is None:
            engine = asdict(pipeline.engine.stats())
            settings = self.settings.pipeline
            return {
                "pid": os.getpid(),
                "preload": {"packages": [], "done": True, "failed": {}},
                "engine": {**engine, "loaded": list(engine["loaded"])},
                "max_loaded_models": settings.max_loaded_models,
                "max_models_memory": settings.max_models_memory,
            }
        try:
            return self.translator.status(STATUS_TIMEOUT)
        except TranslatorError as exc:
            raise NotReady(None, f"the translation process does not answer: {exc}") from None

    def ready_status(self) -> dict[str, Any]:
        """:meth:`status`, once the preload list is loaded; else :class:`NotReady` saying which
        package failed, or how far loading is."""
        status = self.status()
        preload = status["preload"]
        if preload["failed"]:
            raise NotReady("; ".join(f"{name}: {error}" for name, error in preload["failed"].items()))
        if not preload["done"]:
            done = len(set(preload["packages"]) & set(status["engine"]["loaded"]))
            raise NotReady(None, f"loading the preload list: {done} of {len(preload['packages'])} loaded")
        return status

    def normalize(self, items: Sequence[Item]) -> list[Outcome]:
        """Normalize documents for any endpoint, their sentences in one shared translation call;
        metrics for every document."""
        outcomes = self.loaded().normalize_many(items, self.translate)
        for outcome in outcomes:
            if outcome.document is not None:
                metrics.record_document(outcome.document)
        return outcomes
