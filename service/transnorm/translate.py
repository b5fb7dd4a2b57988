"""Translate stage: the sentences a plan left pending, into English (or an installed target).

The pipeline hands this stage a list of :class:`Request` (one per pending sentence, from any
number of documents) and gets back one :class:`Translation` or :class:`Failure` per request, in
order. :func:`translate_requests` is the direct strategy: it groups requests by language, target,
beam and hypotheses, sends each group to the engine in one call, and confines an engine error to
the sentences that cause it. :class:`SharedTranslator` is the strategy for concurrent callers
(HTTP request threads): it translates the requests of every caller waiting at that moment together.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Protocol

from .errors import ModelError
from .packages import PackageInfo


@dataclass(frozen=True, slots=True)
class Request:
    """One sentence to translate, and how."""

    lang: str
    text: str
    target: str = "en"
    beam_size: int | None = None
    alternatives: int = 0


@dataclass(frozen=True, slots=True)
class Translation:
    """A model's translation of one sentence."""

    text: str
    #: exp(mean log-probability per output token), in (0, 1].
    score: float
    tokens: int
    #: The model's next-best hypotheses, best first (only when asked for).
    alternatives: tuple[str, ...] = ()
    #: Answered from the engine's cache.
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Failure:
    """The engine could not translate this sentence; ``error`` says why."""

    error: str
    #: The sentence's model could not be loaded (not the sentence's fault).
    model: bool = False
    #: Not tried: its document's time budget had run out.
    deadline: bool = False


Result = Translation | Failure
#: A translation strategy: one result per request, in order.
Translate = Callable[[Sequence[Request]], list[Result]]


#: The result of a sentence whose document ran out of time before it was translated.
OVERDUE = Failure("the document's time budget ran out", deadline=True)
#: Sentences translated between two looks at the clock when documents have a time budget.
DEADLINE_SLICE = 64


def translate_within(
    requests: Sequence[Request],
    deadlines: Sequence[float],
    translate: Translate,
    clock: Callable[[], float],
    slice_size: int = DEADLINE_SLICE,
) -> list[Result]:
    """``translate`` over ``requests`` a slice at a time; a request whose deadline (a ``clock``
    time, one per request) has passed when its slice comes is not sent: :data:`OVERDUE`."""
    results: list[Result] = []
    for start in range(0, len(requests), slice_size):
        now = clock()
        part = range(start, min(start + slice_size, len(requests)))
        due = [i for i in part if deadlines[i] > now]
        answers = iter(translate([requests[i] for i in due]) if due else [])
        sent = set(due)
        results.extend(next(answers) if i in sent else OVERDUE for i in part)
    return results


@dataclass(frozen=True, slots=True)
class EngineStats:
    """Counters an engine keeps for this process."""

    cache_hits: int = 0
    cache_misses: int = 0
    #: Packages loaded now.
    models_loaded: int = 0
    #: Loads and unloads since the engine started, and the seconds spent loading.
    loads: int = 0
    unloads: int = 0
    load_seconds: float = 0.0
    load_failures: int = 0
    #: The loaded packages ("translate-zh_en 1.9"), least recently used first.
    loaded: tuple[str, ...] = ()
    #: Their size on disk, in bytes.
    loaded_bytes: int = 0


class Engine(Protocol):
    """What the pipeline needs from a translation backend."""

    def packages(self) -> Mapping[tuple[str, str], PackageInfo]:
        """Every installed package, by (source, target)."""
        ...

    @property
    def loaded(self) -> bool:
        """Whether any model is loaded in this process (a process with one must not fork)."""
        ...

    def load(self) -> None:
        """Load the models to have before serving (``settings.pipeline.preload``; the others load
        when first needed)."""
        ...

    def stats(self) -> EngineStats: ...

    def translate(
        self,
        lang: str,
        sentences: Sequence[str],
        beam_size: int | None = None,
        target: str = "en",
        alternatives: int = 0,
    ) -> list[Translation]:
        """Translate ``sentences`` (all in ``lang``) into ``target``, in order, each with up to
        ``alternatives`` next-best hypotheses. Raises :class:`ModelError` when no model can be
        used; any other exception is a failure of this call's sentences."""
        ...


def translate_requests(
    engine: Engine, requests: Sequence[Request], model_errors: bool = False
) -> list[Result]:
    """Translate ``requests`` with one engine call per (language, target, beam, hypotheses).

    An engine error other than :class:`ModelError` fails only the sentences that cause it: the
    group is split in halves and retried until the failing sentences stand alone. A
    :class:`ModelError` is raised, or with ``model_errors`` answered in place as a
    ``Failure(model=True)`` for the sentences of that model (a process translating for many
    callers confines it to those that need the model).
    """
    groups: defaultdict[tuple[str, str, int | None, int], list[int]] = defaultdict(list)
    for i, r in enumerate(requests):
        groups[(r.lang, r.target, r.beam_size, r.alternatives)].append(i)
    results: list[Result | None] = [None] * len(requests)
    for (lang, target, beam, alternatives), indices in groups.items():
        texts = [requests[i].text for i in indices]
        try:
            outcomes = _isolating(engine, lang, texts, beam, target, alternatives)
        except ModelError as exc:
            if not model_errors:
                raise
            outcomes = [Failure(str(exc), model=True)] * len(texts)
        for i, outcome in zip(indices, outcomes, strict=True):
            results[i] = outcome
    return [r for r in results if r is not None]


def _isolating(
    engine: Engine, lang: str, texts: list[str], beam: int | None, target: str, alternatives: int
) -> list[Result]:
    try:
        return list(engine.translate(lang, texts, beam, target, alternatives))
    except ModelError:
        raise
    except Exception as exc:
        if len(texts) == 1:
            return [Failure(f"{type(exc).__name__}: {exc}")]
    half = len(texts) // 2
    return _isolating(engine, lang, texts[:half], beam, target, alternatives) + _isolating(
        engine, lang, texts[half:], beam, target, alternatives
    )


def translate_together(translate: Translate, batches: Sequence[Sequence[Request]]) -> list[list[Result]]:
    """Translate several callers' requests in one call; each caller gets its own results back."""
    flat = [r for batch in batches for r in batch]
    results = translate(flat) if flat else []
    out, pos = [], 0
    for batch in batches:
        out.append(results[pos : pos + len(batch)])
        pos += len(batch)
    return out


@dataclass(frozen=True, slots=True)
class BatchStats:
    """What a :class:`SharedTranslator` did: its translation calls, how many joined several
    callers, and how many joined callers of different origins (processes, for the translation
    process)."""

    batches: int = 0
    calls: int = 0
    sentences: int = 0
    shared_batches: int = 0
    mixed_batches: int = 0
    #: Sentences handed in and not yet answered.
    in_flight: int = 0


class SharedTranslator:
    """A strategy for concurrent callers: one thread translates, for every caller waiting at that
    moment, all their requests together; an idle translator adds no waiting.

    Under load, sentences of many requests go through one model call instead of one each.
    ``origin`` (any hashable: a process id, say) is only counted, in :meth:`stats`.
    """

    def __init__(self, translate: Translate, max_requests: int = 4096) -> None:
        self._translate = translate
        self._max = max_requests
        self._queue: queue.SimpleQueue[tuple[Sequence[Request], Future[list[Result]], Hashable]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._stats = BatchStats()
        threading.Thread(target=self._run, name="transnorm-translate", daemon=True).start()

    def __call__(self, requests: Sequence[Request], origin: Hashable = None) -> list[Result]:
        return self.submit(requests, origin).result()

    def submit(self, requests: Sequence[Request], origin: Hashable = None) -> Future[list[Result]]:
        """Hand ``requests`` over; the future is done when they are translated."""
        done: Future[list[Result]] = Future()
        if not requests:
            done.set_result([])
            return done
        self._count(calls=1, in_flight=len(requests))
        self._queue.put((requests, done, origin))
        return done

    def stats(self) -> BatchStats:
        with self._lock:
            return self._stats

    def _count(self, **add: int) -> None:
        with self._lock:
            self._stats = replace(self._stats, **{k: getattr(self._stats, k) + v for k, v in add.items()})

    def _run(self) -> None:
        while True:
            waiting = [self._queue.get()]
            count = len(waiting[0][0])
            while count < self._max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                waiting.append(item)
                count += len(item[0])
            try:
                results = translate_together(self._translate, [requests for requests, _, _ in waiting])
            except BaseException as exc:  # hand every waiting caller the failure
                for _, done, _ in waiting:
                    done.set_exception(exc)
            else:
                for (_, done, _), result in zip(waiting, results, strict=True):
                    done.set_result(result)
            finally:
                self._count(
                    batches=1,
                    sentences=count,
                    in_flight=-count,
                    shared_batches=int(len(waiting) > 1),
                    mixed_batches=int(len({origin for _, _, origin in waiting}) > 1),
                )
