"""Batch mode: normalize every document in a folder into an output folder.

Outputs are named after the whole input name: ``a.md`` gives ``a.md.json``, ``a.md.en.txt`` and
``a.md.html`` (subfolders mirrored), so inputs sharing a stem never share outputs; a name too long
for the file system is shortened with a hash. The run's own files — ``report.jsonl`` (a line per
entry found), ``summary.json``, the state folder and the lock — are reserved, and any output that
would land on one of them or on another input's output is refused before anything is written,
naming both. Outputs are written atomically. A state file per input makes runs resumable: an
unchanged input whose outputs are intact is not redone. A bad file is reported and the others go
on; a lock keeps a second run off the same output folder; SIGTERM and SIGINT stop the workers,
discard what they were writing, and still write the report and the summary.

``--jobs N`` runs N worker processes. Each takes chunks of files and runs the pipeline's one
sequence (:meth:`~transnorm.pipeline.Pipeline.normalize_many`) on them, reading, planning,
assembling and writing itself; its translate strategy sends the chunk's sentences to this
process, which translates what every worker is waiting for in one call with N threads. Workers
never load a model. One job is the same code with one worker.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from .errors import ModelError, TransnormError
from .files import (
    Entry,
    FolderLock,
    ReservedFile,
    atomic_write,
    atomic_writer,
    display,
    find_inputs,
    fit_name,
    os_reason,
    read_input,
    remove_partial_files,
    reserve_space,
)
from .jsonl import normalize_stream
from .options import Options
from .pipeline import Pipeline
from .render import render, to_json
from .settings import Settings
from .translate import Request, Result, Translate, translate_together

SUFFIXES = {"json": ".json", "text": ".en.txt", "html": ".html"}
#: A ``.jsonl`` input is a stream of documents; its output is the stream of their results.
STREAM_INPUT, STREAM_SUFFIX = ".jsonl", ".results.jsonl"
STATE_DIR = ".transnorm-state"
REPORT = "report.jsonl"
SUMMARY = "summary.json"
#: The run's own files in the output folder: no input's output may take these names.
RESERVED = {
    REPORT: "the run's report",
    SUMMARY: "the run's summary",
    STATE_DIR: "the run's state",
    FolderLock.NAME: "the run's lock",
}
MAX_CHUNK = 32


class Interrupted(Exception):
    """The run was stopped by a signal (SIGTERM, SIGINT); the report and summary are written."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True)
class BatchJob:
    """Everything that decides a batch run's outputs, in one picklable object."""

    input: Path
    out: Path
    formats: tuple[str, ...]
    options: Options
    settings: Settings
    jobs: int = 1
    follow_symlinks: bool = False
    #: Wait for another run on the same output folder to finish, instead of refusing.
    wait: bool = False

    def fingerprint(self, pipeline: Pipeline) -> str:
        """What determines the outputs besides the input: options, formats, settings, model versions."""
        models = sorted((p.package, p.version) for p in pipeline.engine.packages().values())
        s = self.settings
        key = json.dumps(
            [
                self.options.to_dict(),
                list(self.formats),
                models,
                s.beam_size,
                s.compute_type,
                list(s.languages),
            ],
            sort_keys=True,
        )
        return hashlib.sha256(key.encode()).hexdigest()

    def outputs(self, rel: Path) -> dict[str, Path]:
        """The output files of the input ``rel`` (relative to the input folder)."""
        if rel.suffix == STREAM_INPUT:
            return {"jsonl": self.out / rel.parent / fit_name(rel.name, STREAM_SUFFIX)}
        return {fmt: self.out / rel.parent / fit_name(rel.name, SUFFIXES[fmt]) for fmt in self.formats}

    def state_path(self, rel: Path) -> Path:
        # Flat and fixed-length: an input's state can never clash with a folder of another's.
        return self.out / STATE_DIR / (hashlib.sha256(os.fsencode(rel)).hexdigest()[:40] + ".json")


@dataclass(frozen=True)
class Work:
    """One input file to process, with where its outputs go (decided before any is written)."""

    path: Path
    name: str  # the relative name, displayable (not-UTF-8 bytes escaped): report line and id
    outputs: dict[str, Path]
    state: Path


@dataclass
class Record:
    """What happened to one entry of the input folder (a line of ``report.jsonl``)."""

    file: str
    status: str  # ok | unchanged | skipped | failed
    outputs: list[str] = field(default_factory=list)
    error: str | None = None  # why it failed, or why it was skipped
    complete: bool | None = None
    actions: dict[str, int] | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: For a JSON-lines input: lines, ok, failed, incomplete.
    lines: dict[str, int] | None = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _done_state(work: Work, input_sha256: str, fp: str) -> dict[str, Any] | None:
    """The state of a previous run if its outputs for this exact input are complete and intact."""
    try:
        state = json.loads(work.state.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    if state.get("input_sha256") != input_sha256 or state.get("fingerprint") != fp:
        return None
    for fmt, path in work.outputs.items():
        try:
            if _sha256(path.read_bytes()) != state["outputs"].get(fmt):
                return None
        except (OSError, KeyError, AttributeError):
            return None
    return state


def _listed(job: BatchJob, work: Work) -> list[str]:
    return [display(p.relative_to(job.out)) for p in work.outputs.values()]


def _failed(name: str, exc: BaseException, doing: str = "") -> Record:
    if isinstance(exc, TransnormError):
        error = str(exc)
    elif isinstance(exc, OSError):
        where = f" {display(exc.filename)}" if exc.filename else ""
        error = f"cannot {doing or 'read or write'}{where}: {os_reason(exc)}"
    else:  # a bug must not stop the other files
        error = f"internal error: {type(exc).__name__}: {exc}"
    return Record(file=name, status="failed", error=error)


def process_chunk(
    job: BatchJob, pipeline: Pipeline, files: Sequence[Work], translate: Translate, fp: str
) -> list[Record]:
    """Read, normalize (one shared translation call) and write a chunk of files. Never raises for a
    bad file: each gets its record."""
    started = time.perf_counter()
    records: list[Record | None] = [None] * len(files)
    todo: list[tuple[int, Work, bytes]] = []
    for i, work in enumerate(files):
        if "jsonl" in work.outputs:
            records[i] = _process_stream(job, pipeline, work, translate, fp)
            continue
        try:
            data = read_input(work.path, job.settings.max_bytes)
            state = _done_state(work, _sha256(data), fp)
            if state is None:
                todo.append((i, work, data))
                continue
            # What the run that wrote the outputs found stays in the report and the summary.
            records[i] = Record(
                file=work.name,
                status="unchanged",
                outputs=_listed(job, work),
                complete=state.get("complete"),
                actions=state.get("actions"),
                warnings=state.get("warnings", []),
                lines=state.get("lines"),
            )
        except Exception as exc:
            records[i] = _failed(work.name, exc, "read")
    try:
        docs = pipeline.normalize_many([(data, job.options, w.name) for _, w, data in todo], translate)
    except Exception as exc:  # a model that cannot load fails the chunk's documents, not the run
        docs = [exc] * len(todo)  # type: ignore[list-item]
    for (i, work, data), doc in zip(todo, docs, strict=True):
        if isinstance(doc, BaseException):
            records[i] = _failed(work.name, doc)
            continue
        try:
            digests = {}
            for fmt, out in work.outputs.items():
                rendered = render(doc, fmt, job.options.markers, pretty=False).encode("utf-8")
                try:
                    atomic_write(out, rendered, durable=False)
                except OSError as exc:
                    exc.filename = str(out.relative_to(job.out))
                    raise
                digests[fmt] = _sha256(rendered)
            stats = doc.stats
            state = {
                "input": work.name,
                "input_sha256": _sha256(data),
                "fingerprint": fp,
                "outputs": digests,
                "complete": doc.complete,
                "actions": stats["actions"],
                "warnings": doc.warnings,
            }
            # The state file is written last: it vouches for the outputs above.
            atomic_write(work.state, json.dumps(state).encode(), durable=False)
            records[i] = Record(
                file=work.name,
                status="ok",
                outputs=_listed(job, work),
                complete=doc.complete,
                actions=stats["actions"],
                warnings=doc.warnings,
            )
        except Exception as exc:
            records[i] = _failed(work.name, exc, "write")
    seconds = round((time.perf_counter() - started) / max(1, len(files)), 4)
    out = [r for r in records if r is not None]
    for record in out:
        record.seconds = record.seconds or seconds
    return out


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _process_stream(job: BatchJob, pipeline: Pipeline, work: Work, translate: Translate, fp: str) -> Record:
    """A JSON-lines input: its documents streamed through the pipeline into its results file."""
    started = time.perf_counter()
    (out,) = work.outputs.values()
    try:
        input_sha256 = _file_sha256(work.path)
        state = _done_state(work, input_sha256, fp)
        if state is not None:
            return Record(
                file=work.name,
                status="unchanged",
                outputs=_listed(job, work),
                complete=state.get("complete"),
                warnings=state.get("warnings", []),
                lines=state.get("lines"),
            )
        with open(work.path, "rb") as source:
            try:
                with atomic_writer(out, durable=False) as sink:
                    stats = normalize_stream(
                        source, sink, pipeline, job.options.model_copy(update={"format": "json"}), translate
                    )
            except OSError as exc:
                exc.filename = str(out.relative_to(job.out))
                raise
        lines = {"lines": stats.lines, "ok": stats.ok, "failed": stats.failed, "incomplete": stats.incomplete}
        warnings = (
            [f"{stats.failed} of {stats.lines} lines failed; their errors are in the output"]
            if stats.failed
            else []
        )
        complete = not stats.failed and not stats.incomplete
        state = {
            "input": work.name,
            "input_sha256": input_sha256,
            "fingerprint": fp,
            "outputs": {"jsonl": _file_sha256(out)},
            "complete": complete,
            "warnings": warnings,
            "lines": lines,
        }
        atomic_write(work.state, json.dumps(state).encode(), durable=False)
    except Exception as exc:
        return _failed(work.name, exc)
    return Record(
        file=work.name,
        status="ok",
        outputs=_listed(job, work),
        complete=complete,
        warnings=warnings,
        lines=lines,
        seconds=round(time.perf_counter() - started, 4),
    )


# -- worker processes ----------------------------------------------------------------------------


class _RemoteTranslate:
    """A worker's translate strategy: the sentences go to the main process, which translates them
    together with those of the other workers."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __call__(self, requests: Sequence[Request]) -> list[Result]:
        self.conn.send(("translate", list(requests)))
        kind, payload = self.conn.recv()
        if kind == "error":
            raise ModelError(payload)
        return payload


def _worker(job: BatchJob, conn: Connection, pipeline: Pipeline | None) -> None:
    # Ctrl-C reaches the whole process group: the main process decides what happens, and stops
    # a worker with SIGTERM, which ends it at once (a forked worker must not keep the main
    # process's handler).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pipeline = pipeline or Pipeline(job.settings)
    fp = job.fingerprint(pipeline)
    translate = _RemoteTranslate(conn)
    conn.send(("ready", []))
    try:
        while True:
            kind, files = conn.recv()
            if kind == "stop":
                return
            conn.send(("done", process_chunk(job, pipeline, files, translate, fp)))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return  # the main process is gone or stopping


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    chunk: list[Work] = field(default_factory=list)


class _Pool:
    """Worker processes that each take chunks of files and ask this process to translate."""

    def __init__(self, job: BatchJob, pipeline: Pipeline, size: int) -> None:
        self.job, self.pipeline, self.size = job, pipeline, size
        self.workers: list[_Worker] = []

    def _start(self) -> None:
        # Forked workers inherit the loaded langid model; once a CTranslate2 model is loaded here
        # its threads would not survive a fork, so later workers start from a clean forkserver.
        methods = multiprocessing.get_all_start_methods()
        fork = "fork" in methods and not self.pipeline.engine.loaded
        context = multiprocessing.get_context(
            "fork" if fork else "forkserver" if "forkserver" in methods else "spawn"
        )
        parent, child = context.Pipe()
        process = context.Process(
            target=_worker, args=(self.job, child, self.pipeline if fork else None), daemon=True
        )
        process.start()
        child.close()
        self.workers.append(_Worker(process, parent))

    def run(self, files: list[Work], translate: Translate) -> Iterator[Record]:
        """Yield a record per file as chunks finish."""
        size = math.ceil(len(files) / (2 * self.size)) if files else 1
        size = max(1, min(MAX_CHUNK, size))
        chunks = [files[i : i + size] for i in range(0, len(files), size)]
        chunks.reverse()
        for _ in range(min(self.size, len(chunks))):
            self._start()
        while self.workers:
            ready = wait([w.conn for w in self.workers])
            asking: list[tuple[_Worker, list[Request]]] = []
            for worker in [w for w in self.workers if w.conn in ready]:
                try:
                    kind, payload = worker.conn.recv()
                except (EOFError, OSError):
                    yield from self._died(worker)
                    if chunks:
                        self._start()
                    continue
                if kind == "translate":
                    asking.append((worker, payload))
                    continue
                yield from payload  # the records of a finished chunk ("done"), or none ("ready")
                worker.chunk = chunks.pop() if chunks else []
                worker.conn.send(("chunk", worker.chunk) if worker.chunk else ("stop", []))
                if not worker.chunk:
                    self._retire(worker)
            if asking:
                try:
                    answers = [("results", r) for r in translate_together(translate, [a for _, a in asking])]
                except ModelError as exc:
                    answers = [("error", str(exc))] * len(asking)
                for (worker, _), answer in zip(asking, answers, strict=True):
                    worker.conn.send(answer)

    def describe(self) -> dict[str, Any]:
        return {"name": "local", "workers": self.size}

    def _died(self, worker: _Worker) -> Any:
        worker.process.join(5)
        code = worker.process.exitcode
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self.workers.remove(worker)
        for work in worker.chunk:
            yield Record(file=work.name, status="failed", error=f"the worker process died ({why})")

    def _retire(self, worker: _Worker) -> None:
        worker.process.join(10)
        worker.conn.close()
        self.workers.remove(worker)

    def close(self) -> None:
        """Stop every worker (a worker killed while writing leaves only a temporary file)."""
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in self.workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)
            worker.conn.close()
        self.workers.clear()


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not sys.stderr.isatty(), dynamic_ncols=True, leave=True)


class Report:
    """``report.jsonl``, a line per record, each written whole or not at all: a line that does
    not fit (disk full) is cut back off, kept, and tried again at the end."""

    def __init__(self, path: Path, reserve: int = 0) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o666)
        reserve_space(self._fd, reserve)  # the lines fit even if the outputs fill the disk
        self._size = 0
        self._pending: list[bytes] = []
        self.error: str | None = None

    def _write(self, data: bytes) -> bool:
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
                os.lseek(self._fd, self._size, os.SEEK_SET)
            self.error = f"cannot write {REPORT}: {os_reason(exc)}"
            return False
        self._size += written
        return True

    def add(self, record: Record) -> None:
        line = (to_json(asdict(record), pretty=False)).encode("utf-8")
        if self._pending or not self._write(line):
            self._pending.append(line)

    def close(self) -> str | None:
        """Write what is still pending, sync, close; the error if some lines could not be written."""
        while self._pending and self._write(self._pending[0]):
            self._pending.pop(0)
        if not self._pending:
            self.error = None
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._size)  # gives back the space set aside and not used
            os.fsync(self._fd)
        os.close(self._fd)
        if self._pending:
            return f"{self.error}; {len(self._pending)} lines are missing from it"
        return None


def plan_outputs(job: BatchJob, entries: Sequence[Entry], case_insensitive: bool) -> Iterator[Work | Record]:
    """Decide where each input's outputs go, before anything is written: a record for what is
    skipped or failed (an output on a reserved name, or on another input's output), else its
    :class:`Work`. The first input in name order keeps a contested name."""

    def key(path: Path) -> str:
        text = unicodedata.normalize("NFC", os.fsencode(path).decode("utf-8", "surrogateescape"))
        return text.casefold() if case_insensitive else text

    files: dict[str, str] = {}  # output key → input name
    folders: dict[str, str] = {}  # output folder key → an input name with outputs in it
    for entry in entries:
        name = display(entry.rel)
        if entry.skip or entry.fail:
            yield Record(
                file=name, status="skipped" if entry.skip else "failed", error=entry.skip or entry.fail
            )
            continue
        outputs = job.outputs(entry.rel)
        problem = None
        for path in outputs.values():
            rel = path.relative_to(job.out)
            if len(rel.parts) == 1 and rel.name in RESERVED:
                problem = f"its output {display(rel)} would overwrite {RESERVED[rel.name]}; rename the input"
            elif key(rel) in files:
                problem = f"its output {display(rel)} would overwrite the output of {files[key(rel)]}"
            elif key(rel) in folders:
                problem = f"its output {display(rel)} is a folder of outputs of {folders[key(rel)]}"
            else:
                parents = [key(p) for p in rel.parents if p != Path()]
                clash = next((files[p] for p in parents if p in files), None)
                if clash:
                    problem = f"its outputs go in a folder named like an output of {clash}"
            if problem:
                break
        if problem:
            yield Record(file=name, status="failed", error=problem)
            continue
        for path in outputs.values():
            rel = path.relative_to(job.out)
            files[key(rel)] = name
            for parent in rel.parents:
                if parent != Path():
                    folders.setdefault(key(parent), name)
        yield Work(entry.path, name, outputs, job.state_path(entry.rel))


def case_insensitive(folder: Path) -> bool:
    """Whether ``folder``'s file system folds case (a FAT, exFAT or macOS volume)."""
    probe = folder / f".transnorm-Case-{os.getpid()}.probe"
    try:
        probe.touch()
        return (folder / probe.name.lower()).exists()
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


class _Stop:
    """SIGTERM and SIGINT as :class:`Interrupted`, raised where the run is, except inside a
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
            raise Interrupted(signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if self.signum is not None and not self._holding and not self.winding_down:
            raise Interrupted(self.signum)

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


class Pool(Protocol):
    """Runs :func:`process_chunk` over the files somewhere: local worker processes (the default)
    or another engine (:class:`transnorm.ray.RayPool`)."""

    def run(self, files: list[Work], translate: Translate) -> Iterator[Record]: ...
    def describe(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


def run_batch(
    job: BatchJob,
    pipeline: Pipeline | None = None,
    on_record: Callable[[Record], None] | None = None,
    pool: Pool | None = None,
) -> dict[str, Any]:
    """Run the batch; returns the summary (also written to ``OUT/summary.json``). ``pool`` runs
    the files (default: local worker processes, ``job.jobs`` of them).

    Raises :class:`Interrupted` after SIGTERM or SIGINT, once the report and summary are written.
    """
    input_dir, out_dir = Path(job.input), Path(job.out)
    if not input_dir.is_dir() and not (input_dir.is_file() and input_dir.suffix == STREAM_INPUT):
        raise TransnormError(f"{display(input_dir)} is not a folder (nor a .jsonl file)")
    if out_dir.resolve() == input_dir.resolve():
        raise TransnormError("--out must be a different folder from the input folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = FolderLock(out_dir, job.wait)
        lock.__enter__()
    except OSError as exc:
        raise TransnormError(
            f"cannot write to the output folder {display(out_dir)}: {os_reason(exc)}"
        ) from None
    try:
        return _run_locked(job, pipeline, on_record, input_dir, out_dir, pool)
    finally:
        lock.__exit__()


def _run_locked(
    job: BatchJob,
    pipeline: Pipeline | None,
    on_record: Callable[[Record], None] | None,
    input_dir: Path,
    out_dir: Path,
    pool: Pool | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    removed = remove_partial_files(out_dir)
    if input_dir.is_dir():
        entries = list(find_inputs(input_dir, out_dir, job.follow_symlinks))
    else:  # one JSON-lines file
        entries = [Entry(input_dir, Path(input_dir.name))]
    if pipeline is None:
        # --jobs N means N cores: N worker processes, and N translations at a time here.
        pipeline = Pipeline(job.settings.on_cores(job.jobs))
    pool = pool or _Pool(job, pipeline, max(1, job.jobs))
    stop = _Stop()
    with stop.installed():  # until the summary is written
        return _run_pool(job, pipeline, pool, on_record, out_dir, entries, removed, started, stop)


def _run_pool(
    job: BatchJob,
    pipeline: Pipeline,
    pool: Pool,
    on_record: Callable[[Record], None] | None,
    out_dir: Path,
    entries: list[Entry],
    removed: int,
    started: float,
    stop: _Stop,
) -> dict[str, Any]:
    """Plan the outputs, run the pool, write the report and the summary."""
    records: list[Record] = []
    interrupted: Interrupted | None = None
    # Disk space for the report and the summary is set aside now: a disk the outputs fill up
    # still gets them (half a kilobyte an entry, for its line and its place in the summary).
    reserve = min(64 << 20, 4096 + 512 * len(entries))
    try:
        report = Report(out_dir / REPORT, reserve)
    except OSError as exc:
        raise TransnormError(f"cannot write {display(out_dir / REPORT)}: {os_reason(exc)}") from None
    summary_file = ReservedFile(out_dir / SUMMARY, reserve)
    with _progress(len(entries)) as bar:

        def emit(record: Record) -> None:
            with stop.held():  # in the report and the summary, or in neither
                records.append(record)
                report.add(record)
            bar.update(1)
            if on_record:
                on_record(record)

        files: list[Work] = []
        for planned in plan_outputs(job, entries, case_insensitive(out_dir)):
            if isinstance(planned, Record):
                emit(planned)
            else:
                files.append(planned)
        try:
            for record in pool.run(files, pipeline.translate):
                emit(record)
        except Interrupted as exc:
            interrupted = exc
        finally:
            stop.winding_down = True  # a second signal now is ignored
            pool.close()
            if interrupted is not None:
                # What the stopped workers were writing.
                remove_partial_files(out_dir, keep=frozenset({summary_file.tmp}))
    report_error = report.close()
    summary = {
        "files": len(records),
        "ok": sum(r.status == "ok" for r in records),
        "unchanged": sum(r.status == "unchanged" for r in records),
        "skipped": sum(r.status == "skipped" for r in records),
        "failed": sum(r.status == "failed" for r in records),
        "incomplete": sum(r.complete is False for r in records),
        "with_warnings": sum(bool(r.warnings) for r in records),
        "failed_lines": sum((r.lines or {}).get("failed", 0) for r in records),
        "seconds": round(time.perf_counter() - started, 3),
        "failures": [{"file": r.file, "error": r.error} for r in records if r.status == "failed"],
        "partial_files_removed": removed,
        "interrupted": interrupted.args[0] if interrupted else None,
        "not_processed": len(entries) - len(records),
        "report_error": report_error,
        "engine": pool.describe(),
    }
    try:
        summary_file.write((json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
        summary["summary_error"] = None
    except OSError as exc:
        summary["summary_error"] = f"cannot write {SUMMARY}: {os_reason(exc)}"
    if interrupted is not None:
        interrupted.summary = summary  # type: ignore[attr-defined]
        raise interrupted
    return summary
