"""The batch run: one runner for every input kind (document folders, JSON-lines and Parquet files)
and every engine (local worker processes, Ray actors), so they share the lock, the report, resuming
and the handling of signals.

A run takes the output folder's lock (a second run refuses, or waits with ``wait``; a lock whose
run is gone is taken over), clears what an earlier, killed run left in its temporary folder,
finds the inputs, decides every output name before writing any, runs the pool, and writes
``report.jsonl`` as it goes and ``summary.json`` at the end. SIGTERM and SIGINT stop the
workers, discard what they were writing, and still write the report and the summary
(:attr:`Summary.interrupted` names the signal); a signal before the lock is taken raises
:class:`Interrupted`. A bug in the run still writes the summary (:attr:`Summary.error`).
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
from ..files import display, os_reason, terminal
from ..pipeline import Pipeline
from ..translate import Translate
from .inputs import Entry, Folding, Work, find_inputs, plan_outputs
from .job import LOCK, STREAMS, Job
from .pool import LocalPool
from .report import Record, Report, Summary
from .state import RunState, alive

#: How long a run waits for the lock of a run that is gone (its workers are being killed with it).
DYING_SECONDS = 10.0


class Pool(Protocol):
    """Runs workers over the inputs somewhere: local processes (:class:`LocalPool`) or Ray actors
    (:class:`transnorm.ray.RayPool`)."""

    def run(self, works: list[Work], translate: Translate) -> Iterator[Record]: ...
    def describe(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


#: Makes the pool of a run; the default is :class:`LocalPool` over ``jobs`` processes.
PoolFactory = Callable[[Job, RunState, Pipeline], Pool]


class _Interrupted(BaseException):
    """Raised where the run is when a signal comes: a BaseException, like KeyboardInterrupt, so
    that no ``except Exception`` on the way (the engine's error isolation) takes it for an error
    of what was being done."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interrupted(TransnormError):
    """A signal stopped the run before it took the output folder's lock: nothing was written."""

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} before the run started; nothing was written")
        self.signum = signum


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

    def hold(self) -> None:
        """Signals wait until :meth:`release`."""
        self._holding += 1

    def release(self) -> None:
        """Raise the signal that came while held, if this was the last hold."""
        self._holding -= 1
        if self.signum is not None and not self._holding and not self.winding_down:
            raise _Interrupted(self.signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.hold()
        try:
            yield
        except BaseException:
            self._holding -= 1
            raise
        self.release()

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
    stop = _Stop()
    with stop.installed():
        try:
            lock = _lock(out, wait)
            stop.hold()  # from here on a signal ends the run with its summary (_locked releases)
            try:
                state = RunState.start(out)
                try:
                    # --jobs N means N cores: N worker processes, and N translations at a time here.
                    pipeline = pipeline or Pipeline(job.settings.on_cores(jobs))
                    return _locked(source, job, state, pipeline, jobs, follow_symlinks, pool, on_record, stop)
                finally:
                    state.close()
            finally:
                lock.release()
        except _Interrupted as exc:  # before the lock was taken (or just as it was)
            raise Interrupted(exc.signum) from None


def _lock(out: Path, wait: bool) -> FileLock:
    """The output folder's lock. A lock still held after its run is gone (the run recorded in the
    folder no longer exists: killed, its workers dying with it) is waited for a few seconds."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = FileLock(out / LOCK, timeout=-1 if wait else 0)
        try:
            lock.acquire()
            return lock
        except Timeout:
            pass
        holder = RunState.holder(out)
        if holder is None or alive(holder.pid):
            who = f"pid {holder.pid}" if holder else "pid ?"
            raise TransnormError(
                f"another transnorm run ({who}) is writing to {display(out)}; wait for it, or add --wait"
            )
        try:
            lock.acquire(timeout=DYING_SECONDS)
            return lock
        except Timeout:
            raise TransnormError(
                f"the run that held the lock of {display(out)} ({holder}) is gone, but a process it "
                f"started still holds {LOCK}; end that process (fuser {display(out / LOCK)})"
            ) from None
    except OSError as exc:
        raise TransnormError(f"cannot write to the output folder {display(out)}: {os_reason(exc)}") from None


def _locked(
    source: Path,
    job: Job,
    state: RunState,
    pipeline: Pipeline,
    jobs: int,
    follow_symlinks: bool,
    pool_factory: PoolFactory | None,
    on_record: Callable[[Record], None] | None,
    stop: _Stop,
) -> Summary:
    started = time.perf_counter()
    records: list[Record] = []
    interrupted: str | None = None
    failure: Exception | None = None
    report: Report | None = None
    pool: Pool | None = None
    entries: list[Entry] = []
    removed = 0
    try:
        try:
            takeover = state.take_over()
            if takeover:
                print(f"transnorm batch: {terminal(takeover)}", file=sys.stderr)
            removed = state.remove_leftovers()
            entries = list(find_inputs(source, job.out, follow_symlinks))
            report = opened = Report(job.out, len(entries), state.tmp)
            pool = (pool_factory or (lambda j, s, p: LocalPool(j, s, p, max(1, jobs))))(job, state, pipeline)
        finally:
            stop.release()  # a signal that came while setting up stops the run here
        with _progress(len(entries)) as bar:

            def emit(record: Record) -> None:
                with stop.held():  # in the report and the summary, or in neither
                    records.append(record)
                    opened.add(record)
                bar.update(1)
                if on_record:
                    on_record(record)

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
    except Exception as exc:
        if report is None:
            raise
        failure = exc
    finally:
        stop.winding_down = True  # a second signal now is ignored
        if pool is not None:
            pool.close()
    if report is None:  # a signal came before the report was open: nothing was written
        raise Interrupted(stop.signum or signal.SIGTERM)
    error = None
    if failure is not None:
        what = failure if isinstance(failure, TransnormError) else f"{type(failure).__name__}: {failure}"
        error = f"{'' if isinstance(failure, TransnormError) else 'internal error: '}{what}"
    summary = report.finish(
        Summary.of(
            records,
            len(entries),
            seconds=round(time.perf_counter() - started, 3),
            partial_files_removed=removed,
            interrupted=interrupted,
            report_error=None,
            engine=pool.describe() if pool is not None else {},
            error=error,
        )
    )
    if failure is not None:
        raise failure  # the summary says what stopped the run; the caller says it too
    return summary


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not sys.stderr.isatty(), dynamic_ncols=True, leave=True)
