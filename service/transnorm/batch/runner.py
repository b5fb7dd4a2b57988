"""The batch run: one runner for every input kind (document folders, JSON-lines and Parquet files)
and every engine (local worker processes, Ray actors), so they share the lock, the report, resuming
and the handling of signals.

A run takes the output folder's lock (a second run refuses, or waits with ``wait``), clears what
an earlier, killed run left in its temporary folder, finds the inputs, decides every output name
before writing any, runs the pool, and writes ``report.jsonl`` as it goes and ``summary.json``
at the end. SIGTERM and SIGINT stop the workers, discard what they were writing, and still write
the report and the summary (:attr:`Summary.interrupted` names the signal).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from ..errors import InputError, TransnormError
from ..files import display, os_reason
from ..pipeline import Pipeline
from ..translate import Translate
from .inputs import Folding, Work, find_inputs, plan_outputs
from .job import LOCK, STREAMS, Job
from .pool import LocalPool
from .report import Record, Report, Summary
from .state import RunState


class Pool(Protocol):
    """Runs workers over the inputs somewhere: local processes (:class:`LocalPool`) or Ray actors
    (:class:`transnorm.ray.RayPool`)."""

    def run(self, works: list[Work], translate: Translate) -> Iterator[Record]: ...
    def describe(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


#: Makes the pool of a run; the default is :class:`LocalPool` over ``jobs`` processes.
PoolFactory = Callable[[Job, RunState, Pipeline], Pool]


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


class _Stop:
    """SIGTERM and SIGINT as :class:`_Interrupted`, raised where the run is, except inside a
    :meth:`held` block (a record half reported), where it waits for the block's end. Once the run
    winds down (:attr:`winding_down`), further signals are ignored."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.winding_down = False
        self._holding = 0

    def _handler(self, signum: int, _frame: Any) -> None:
        if self.signum is not None or self.winding_down:
            return
        self.signum = signum
        if not self._holding:
            raise _Interrupted(signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if self.signum is not None and not self._holding and not self.winding_down:
            raise _Interrupted(self.signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The handlers for the block (then the previous ones again)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def run_batch(
    source: Path,
    job: Job,
    *,
    jobs: int = 1,
    follow_symlinks: bool = False,
    wait: bool = False,
    pool: PoolFactory | None = None,
    pipeline: Pipeline | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> Summary:
    """Normalize every input under ``source`` (a folder, or one ``.jsonl``/``.parquet`` file) into
    ``job.out``; returns the summary (also written to ``summary.json``), interrupted or not.

    ``jobs`` is the cores to use (worker processes, and translations at a time); ``pipeline``
    replaces the one built from ``job.settings`` (its engine translates for the workers)."""
    source, out = Path(source), Path(job.out)
    if not source.is_dir() and not (source.is_file() and source.suffix in STREAMS):
        what = "does not exist" if not source.exists() else "is not a folder (nor a .jsonl or .parquet file)"
        raise InputError(f"{display(source)} {what}")
    if out.resolve() == source.resolve():
        raise TransnormError("--out must be a different folder from the input folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = FileLock(out / LOCK, timeout=-1 if wait else 0)
        lock.acquire()
    except Timeout:
        holder = RunState.holder(out) or "?"
        raise TransnormError(
            f"another transnorm run (pid {holder}) is writing to {display(out)}; wait for it, or add --wait"
        ) from None
    except OSError as exc:
        raise TransnormError(f"cannot write to the output folder {display(out)}: {os_reason(exc)}") from None
    try:
        state = RunState.start(out)
        try:
            # --jobs N means N cores: N worker processes, and N translations at a time here.
            pipeline = pipeline or Pipeline(job.settings.on_cores(jobs))
            return _locked(source, job, state, pipeline, jobs, follow_symlinks, pool, on_record)
        finally:
            state.close()
    finally:
        lock.release()


def _locked(
    source: Path,
    job: Job,
    state: RunState,
    pipeline: Pipeline,
    jobs: int,
    follow_symlinks: bool,
    pool_factory: PoolFactory | None,
    on_record: Callable[[Record], None] | None,
) -> Summary:
    started = time.perf_counter()
    takeover = state.take_over()
    if takeover:
        print(f"transnorm batch: {takeover}", file=sys.stderr)
    removed = state.remove_leftovers()
    entries = list(find_inputs(source, job.out, follow_symlinks))
    pool = (pool_factory or (lambda j, s, p: LocalPool(j, s, p, max(1, jobs))))(job, state, pipeline)
    report = Report(job.out, len(entries), state.tmp)
    records: list[Record] = []
    stop = _Stop()
    interrupted = None
    with stop.installed(), _progress(len(entries)) as bar:

        def emit(record: Record) -> None:
            with stop.held():  # in the report and the summary, or in neither
                records.append(record)
                report.add(record)
            bar.update(1)
            if on_record:
                on_record(record)

        try:
            works = []
            for planned in plan_outputs(job, entries, Folding.probe(state.tmp)):
                if isinstance(planned, Record):
                    emit(planned)
                else:
                    works.append(planned)
            for record in pool.run(works, pipeline.translate):
                emit(record)
        except _Interrupted as exc:
            interrupted = str(exc)
        finally:
            stop.winding_down = True  # a second signal now is ignored
            pool.close()
        summary = Summary.of(
            records,
            len(entries),
            seconds=round(time.perf_counter() - started, 3),
            partial_files_removed=removed,
            interrupted=interrupted,
            report_error=None,
            engine=pool.describe(),
        )
        return report.finish(summary)


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not sys.stderr.isatty(), dynamic_ncols=True, leave=True)
