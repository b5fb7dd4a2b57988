"""The library call at the heart: bytes in, a :class:`~transnorm.document.Document` out.

:class:`Pipeline` holds what is loaded once (the translation engine, the langid model) and runs
the stages. The sequence is written once, in :meth:`Pipeline.pipe`:

    plan (decode, segment, detect, chrome, route) → translate → settle → post-normalize → assemble

An HTML page (``input_format``, or sniffed) is decoded in its charset and read
(:mod:`~transnorm.htmlpage`) before planning; the rest of the sequence is the same.

``pipe`` takes any iterable of documents, cuts it into chunks whose sentences share one
translation call, and yields one :class:`~transnorm.document.Outcome` per document, in order,
holding one chunk in memory. Every shell (CLI, JSON lines, batch workers, Ray actors, HTTP) calls
it; those that share translation across callers (the HTTP service, the batch mode) pass their own
translate strategy instead of copying the sequence.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from .assemble import assemble, settle
from .decode import decode
from .detect import Detector
from .document import Document, Outcome
from .errors import OptionsError, TooLargeError, TransnormError
from .htmlpage import is_page, read_page
from .options import Options
from .packages import PackageInfo, by_source
from .plan import Plan, plan_document
from .postnorm import postnormalize
from .settings import Settings
from .translate import Engine, Request, Result, Translate, translate_requests, translate_within

if TYPE_CHECKING:
    from .translator import TranslatorClient

#: One document to normalize: its bytes (or text), options (None: defaults) and id. ``pipe``
#: also takes an item that is already an :class:`~transnorm.document.Outcome` (a line that was
#: not a document, say): it passes through in its place.
Item = tuple[bytes | str, Options | None, str | None]
Context = TypeVar("Context")

#: A chunk of :meth:`Pipeline.pipe` ends after this many documents or input bytes.
CHUNK_DOCUMENTS = 32
CHUNK_BYTES = 4 << 20


class Pipeline:
    """Loaded models plus the stages; call it like a function.

    ``engine`` defaults to an :class:`~transnorm.engine.ArgosEngine` over ``settings.pipeline.models_dir``
    (models load on first use); tests and detection-only runs pass their own.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        engine: Engine | None = None,
        detector: Detector | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or Settings.from_env()
        #: What a document's time budget (``document_timeout``) is measured on.
        self.clock = clock
        #: The client of the host's translation process, when the settings name one and no
        #: engine is given (None: this process translates).
        self.remote: TranslatorClient | None = None
        if engine is None and self.settings.pipeline.translator_socket is not None:
            from .translator import TranslatorClient

            self.remote = TranslatorClient.of(self.settings)
        if engine is None:
            from .engine import ArgosEngine

            # This process translates: its engine gets the cores (one replica each, as the
            # translation process's), unless the threads were set.
            engine = ArgosEngine(self.settings.on_cores(os.cpu_count() or 1).pipeline)
        self.engine = engine
        self.detector = detector or Detector(self.settings.pipeline.languages)

    def __call__(self, data: bytes | str, options: Options | None = None, id: str | None = None) -> Document:
        """Normalize one document; raises :class:`~transnorm.errors.TransnormError` for bad input."""
        (outcome,) = self.pipe([(data, options, id)])
        if outcome.error is not None:
            raise outcome.error
        assert outcome.document is not None
        return outcome.document

    def normalize_many(self, items: Sequence[Item], translate: Translate | None = None) -> list[Outcome]:
        """:meth:`pipe` over a list taken as one chunk: all its sentences share one translation call."""
        return list(self.pipe(items, translate, chunk_documents=max(1, len(items)), chunk_bytes=1 << 62))

    @overload
    def pipe(
        self,
        items: Iterable[Item | Outcome],
        translate: Translate | None = None,
        *,
        as_tuples: Literal[False] = False,
        chunk_documents: int = CHUNK_DOCUMENTS,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> Iterator[Outcome]: ...

    @overload
    def pipe(
        self,
        items: Iterable[tuple[Item | Outcome, Context]],
        translate: Translate | None = None,
        *,
        as_tuples: Literal[True],
        chunk_documents: int = CHUNK_DOCUMENTS,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> Iterator[tuple[Outcome, Context]]: ...

    def pipe(
        self,
        items: Iterable[Any],
        translate: Translate | None = None,
        *,
        as_tuples: bool = False,
        chunk_documents: int = CHUNK_DOCUMENTS,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> Iterator[Any]:
        """Normalize a stream of documents; yields an :class:`Outcome` per item, in order.

        Items are taken lazily, a chunk at a time (``chunk_documents`` documents or
        ``chunk_bytes`` bytes of input), and the sentences of a chunk share one call of
        ``translate`` (the translation strategy; default: this pipeline's engine, directly).
        A document with bad input yields its error in place; the others are unaffected. With
        ``as_tuples``, items are ``(item, context)`` pairs and ``(outcome, context)`` pairs come
        back (spaCy's ``as_tuples``): a shell carries its own bookkeeping through.
        """
        chunk: list[tuple[Any, Any]] = []
        size = 0
        for entry in items:
            item, context = entry if as_tuples else (entry, None)
            chunk.append((item, context))
            size += _size(item)
            if len(chunk) >= chunk_documents or size >= chunk_bytes:
                yield from self._chunk(chunk, translate, as_tuples)
                chunk, size = [], 0
        if chunk:
            yield from self._chunk(chunk, translate, as_tuples)

    def _chunk(
        self, chunk: list[tuple[Any, Any]], translate: Translate | None, as_tuples: bool
    ) -> Iterator[Any]:
        """The sequence, once: plan each document, translate all their sentences together,
        settle, post-normalize and assemble each."""
        plans: list[Plan | Outcome] = []
        deadlines: list[float] = []
        budget = self.settings.pipeline.document_timeout or math.inf
        for item, _ in chunk:
            deadlines.append(self.clock() + budget)
            if isinstance(item, Outcome):
                plans.append(item)
                continue
            data, options, doc_id = item
            try:
                plans.append(self.plan(data, options, doc_id))
            except TransnormError as exc:
                plans.append(Outcome(doc_id, error=exc))
        results = iter(self._translate_plans(plans, deadlines, translate or self.translate))
        for plan, (_, context) in zip(plans, chunk, strict=True):
            if isinstance(plan, Outcome):
                outcome = plan
            else:
                settled = settle(plan, [next(results) for _ in plan.pending])
                units = postnormalize(settled.units, plan.text.endswith("\n"))
                outcome = Outcome(plan.id, assemble(plan, units, settled.problems, self._listed()))
            yield (outcome, context) if as_tuples else outcome

    def _translate_plans(
        self, plans: list[Plan | Outcome], deadlines: list[float], translate: Translate
    ) -> list[Result]:
        """The results of every pending sentence of ``plans``, in order; with a time budget, a
        slice at a time, and those of a document past its deadline not sent (``deadline``)."""
        pairs = [
            (d, u.request)
            for p, d in zip(plans, deadlines, strict=True)
            if isinstance(p, Plan)
            for u in p.pending
        ]
        if not pairs:
            return []
        if not self.settings.pipeline.document_timeout:
            return translate([r for _, r in pairs])
        return translate_within([r for _, r in pairs], [d for d, _ in pairs], translate, self.clock)

    def plan(self, data: bytes | str, options: Options | None = None, doc_id: str | None = None) -> Plan:
        """Decode and plan one document; raises :class:`~transnorm.errors.TransnormError` for bad input."""
        options = options or Options()
        size = _size((data, options, doc_id))
        if size > self.settings.pipeline.max_bytes:
            raise TooLargeError.of(size, self.settings.pipeline.max_bytes)
        if options.target not in self.targets():
            raise OptionsError(
                f"no installed package translates into {options.target!r}; targets: "
                + ", ".join(sorted(self.targets()))
            )
        packages = self.packages_for(options)
        if is_page(data, options.input_format):
            page = read_page(data, options.charset, options.errors)
            return plan_document(page.decoded, options, self.detector, packages, doc_id, page)
        return plan_document(decode(data, options.errors), options, self.detector, packages, doc_id)

    def translate(self, requests: list[Request]) -> list[Result]:
        """The default strategy: the host's translation process when ``translator_socket`` is
        set, else this pipeline's engine, one call per language and beam."""
        if self.remote is not None:
            return self.remote(requests)
        return translate_requests(self.engine, requests)

    def _listed(self) -> list[PackageInfo]:
        return list(self.engine.packages().values())

    def targets(self) -> set[str]:
        """Languages this pipeline can write: English, and the targets of installed packages."""
        return {"en"} | {p.to_code for p in self.engine.packages().values()}

    def packages_for(self, options: Options) -> Mapping[str, PackageInfo]:
        """The packages that translate into ``options.target``, by source language."""
        packages = self.engine.packages().values()
        if options.target == "en":
            return by_source(packages)
        return {
            p.from_code: p for p in packages if (p.from_code, p.to_code) == (options.source, options.target)
        }


def _size(item: Item | Outcome) -> int:
    if isinstance(item, Outcome):
        return 0
    data = item[0]
    return len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)


@functools.lru_cache(maxsize=1)
def default_pipeline() -> Pipeline:
    """The pipeline built from the environment's settings, loaded on first use."""
    return Pipeline(Settings.from_env())


def normalize(
    data: bytes | str, options: Options | Mapping[str, Any] | None = None, id: str | None = None
) -> Document:
    """Normalize one document with the default pipeline (settings from ``TRANSNORM_*``)."""
    if not isinstance(options, Options):
        options = Options.merged(options)
    return default_pipeline()(data, options, id)
