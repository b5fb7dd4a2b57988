"""Cross-request batching: the translation phase of concurrent requests shares model calls.

Each request plans its documents itself (decode, detect), hands the plans to the worker's one
translation thread, and assembles its own result. The thread takes every plan waiting at that
moment and translates them together, so under load sentences from many requests go through one
``translate_batch`` call, and an idle server adds no waiting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from ..document import Document
from ..errors import TransnormError
from ..options import Options
from ..pipeline import Pipeline, Plan


class Batcher:
    def __init__(self, pipeline: Pipeline, max_plans: int = 256) -> None:
        self.pipeline = pipeline
        self.max_plans = max_plans
        self._queue: queue.SimpleQueue[tuple[list[Plan], Future[None]]] = queue.SimpleQueue()
        self.batches = 0
        self.requests = 0
        threading.Thread(target=self._run, name="transnorm-translate", daemon=True).start()

    def translate(self, plans: list[Plan]) -> None:
        """Translate ``plans`` in place, together with whatever else is waiting."""
        if not any(plan.needs_translation for plan in plans):
            return
        done: Future[None] = Future()
        self._queue.put((plans, done))
        done.result()

    def normalize_many(
        self, items: Sequence[tuple[bytes | str, Options | None, str | None]]
    ) -> list[Document | TransnormError]:
        """Like :meth:`Pipeline.normalize_many`, with the translation shared across requests."""
        plans: list[Plan | TransnormError] = []
        for data, options, doc_id in items:
            try:
                plans.append(self.pipeline.plan(data, options, doc_id))
            except TransnormError as exc:
                plans.append(exc)
        self.translate([p for p in plans if isinstance(p, Plan)])
        return [p if isinstance(p, TransnormError) else self.pipeline.assemble(p) for p in plans]

    def _run(self) -> None:
        while True:
            waiting = [self._queue.get()]
            count = len(waiting[0][0])
            while count < self.max_plans:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                waiting.append(item)
                count += len(item[0])
            plans = [plan for item_plans, _ in waiting for plan in item_plans]
            self.batches += 1
            self.requests += len(waiting)
            try:
                self.pipeline.translate(plans)
            except BaseException as exc:  # hand every waiting request the failure
                for _, done in waiting:
                    done.set_exception(exc)
            else:
                for _, done in waiting:
                    done.set_result(None)
