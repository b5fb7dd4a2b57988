"""What one worker process holds, and the one helper every endpoint normalizes through."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..document import Outcome
from ..pipeline import Item, Pipeline
from ..settings import Settings
from ..translate import SharedTranslator
from . import metrics


class NotReady(Exception):
    """The models are not loaded (yet, or at all: ``failed`` says why)."""

    def __init__(self, failed: str | None) -> None:
        detail = f"model loading failed: {failed}" if failed else "models are still loading; retry shortly"
        super().__init__(detail)
        self.failed = failed


@dataclass
class State:
    """What one worker process holds: settings, the pipeline once loaded, readiness."""

    settings: Settings
    pipeline: Pipeline | None = None
    translate: SharedTranslator | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    error: str | None = None

    def load(self) -> None:
        try:
            pipeline = self.pipeline or Pipeline(self.settings)
            pipeline.engine.load()
            self.pipeline = pipeline
            # Concurrent requests share model calls; cache hits and misses are counted on the way.
            self.translate = SharedTranslator(metrics.counting(pipeline.translate))
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

    def normalize(self, items: Sequence[Item]) -> list[Outcome]:
        """Normalize documents for any endpoint, their sentences in one shared translation call;
        metrics for every document."""
        outcomes = self.loaded().normalize_many(items, self.translate)
        for outcome in outcomes:
            if outcome.document is not None:
                metrics.record_document(outcome.document)
        return outcomes
