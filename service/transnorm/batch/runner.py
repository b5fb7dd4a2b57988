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

import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
from .signals import Interrupted, Interruption, StopSignals
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
    stop = StopSignals()
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
        except Interruption as exc:  # before the lock was taken (or just as it was)
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


@dataclass
class _Opened:
    """What a run has set up so far (a signal or an error may stop it part way)."""

    entries: list[Entry] = field(default_factory=list)
    report: Report | None = None
    pool: Pool | None = None
    removed: int = 0


def _open(
    run: _Opened,
    source: Path,
    job: Job,
    state: RunState,
    follow_symlinks: bool,
    start_pool: Callable[[], Pool],
    stop: StopSignals,
) -> None:
    """Take over a dead run's leftovers, find the inputs, open the report and start the pool."""
    try:
        takeover = state.take_over()
        if takeover:
            print(f"transnorm batch: {terminal(takeover)}", file=sys.stderr)
        run.removed = state.remove_leftovers()
        run.entries = list(find_inputs(source, job.out, follow_symlinks))
        run.report = Report(job.out, len(run.entries), state.tmp)
        run.pool = start_pool()
    finally:
        stop.release()  # a signal that came while setting up stops the run here


def _feed(
    run: _Opened,
    job: Job,
    state: RunState,
    pipeline: Pipeline,
    records: list[Record],
    stop: StopSignals,
    on_record: Callable[[Record], None] | None,
) -> None:
    """Every input through the pool, each record into the report as it comes."""
    assert run.report is not None and run.pool is not None
    report = run.report
    with _progress(len(run.entries)) as bar:

        def emit(record: Record) -> None:
            with stop.held():  # in the report and the summary, or in neither
                records.append(record)
                report.add(record)
            bar.update(1)
            if on_record:
                on_record(record)

        works = []
        for planned in plan_outputs(job, run.entries, Folding.probe(state.tmp)):
            if isinstance(planned, Record):
                emit(planned)
            else:
                works.append(planned)
        for record in run.pool.run(works, pipeline.translate):
            emit(record)


def _error_text(failure: Exception | None) -> str | None:
    if failure is None:
        return None
    if isinstance(failure, TransnormError):
        return str(failure)
    return f"internal error: {type(failure).__name__}: {failure}"


def _locked(
    source: Path,
    job: Job,
    state: RunState,
    pipeline: Pipeline,
    jobs: int,
    follow_symlinks: bool,
    pool_factory: PoolFactory | None,
    on_record: Callable[[Record], None] | None,
    stop: StopSignals,
) -> Summary:
    started = time.perf_counter()
    records: list[Record] = []
    interrupted: str | None = None
    failure: Exception | None = None
    run = _Opened()
    try:
        make = pool_factory or (lambda j, s, p: LocalPool(j, s, p, max(1, jobs)))
        _open(run, source, job, state, follow_symlinks, lambda: make(job, state, pipeline), stop)
        _feed(run, job, state, pipeline, records, stop, on_record)
    except Interruption as exc:
        interrupted = str(exc)
    except Exception as exc:
        if run.report is None:
            raise
        failure = exc
    finally:
        stop.winding_down = True  # a second signal now is ignored
        if run.pool is not None:
            run.pool.close()
    if run.report is None:  # a signal came before the report was open: nothing was written
        raise Interrupted(stop.signum or signal.SIGTERM)
    summary = run.report.finish(
        Summary.of(
            records,
            len(run.entries),
            seconds=round(time.perf_counter() - started, 3),
            partial_files_removed=run.removed,
            interrupted=interrupted,
            report_error=None,
            engine=run.pool.describe() if run.pool is not None else {},
            error=_error_text(failure),
        )
    )
    if failure is not None:
        raise failure  # the summary says what stopped the run; the caller says it too
    return summary


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not sys.stderr.isatty(), dynamic_ncols=True, leave=True)
