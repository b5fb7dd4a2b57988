"""Batch mode: normalize every document in a folder into an output folder.

One output per input and format (``NAME.json``, ``NAME.en.txt``, ``NAME.html``), written
atomically; ``report.jsonl`` has a line per input and ``summary.json`` the totals. A state file
per input makes runs resumable: an unchanged input whose outputs are intact is skipped. A bad
file is reported and the others go on.

``--jobs N`` runs N worker processes. Each takes chunks of files and runs the pipeline's one
sequence (:meth:`~transnorm.pipeline.Pipeline.normalize_many`) on them, reading, planning,
assembling and writing itself; its translate strategy sends the chunk's sentences to this
process, which translates what every worker is waiting for in one call with N threads. Workers
never load a model. One job is the same code with one worker.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .errors import ModelError, TransnormError
from .files import atomic_write, find_inputs, read_input, remove_partial_files
from .options import Options
from .pipeline import Pipeline
from .render import render
from .settings import Settings
from .translate import Request, Result, Translate, translate_together

SUFFIXES = {"json": ".json", "text": ".en.txt", "html": ".html"}
STATE_DIR = ".transnorm-state"
REPORT = "report.jsonl"
SUMMARY = "summary.json"
MAX_CHUNK = 32


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
        base = self.out / rel.parent / rel.stem
        return {fmt: base.with_name(base.name + SUFFIXES[fmt]) for fmt in self.formats}


@dataclass
class Record:
    """What happened to one input file."""

    file: str
    status: str  # ok | skipped | failed
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    complete: bool | None = None
    actions: dict[str, int] | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _state_path(job: BatchJob, rel: Path) -> Path:
    return job.out / STATE_DIR / (str(rel) + ".json")


def _done_state(job: BatchJob, rel: Path, data: bytes, fp: str) -> dict[str, Any] | None:
    """The state of a previous run if its outputs for this exact input are complete and intact."""
    try:
        state = json.loads(_state_path(job, rel).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    if state.get("input_sha256") != _sha256(data) or state.get("fingerprint") != fp:
        return None
    for fmt, path in job.outputs(rel).items():
        try:
            if _sha256(path.read_bytes()) != state["outputs"].get(fmt):
                return None
        except (OSError, KeyError, AttributeError):
            return None
    return state


def _listed(job: BatchJob, rel: Path) -> list[str]:
    return [str(p.relative_to(job.out)) for p in job.outputs(rel).values()]


def _failed(rel: Path, exc: BaseException) -> Record:
    if isinstance(exc, TransnormError):
        error = str(exc)
    elif isinstance(exc, OSError):
        error = f"cannot read or write: {exc}"
    else:  # a bug must not stop the other files
        error = f"internal error: {type(exc).__name__}: {exc}"
    return Record(file=str(rel), status="failed", error=error)


def process_chunk(
    job: BatchJob, pipeline: Pipeline, files: Sequence[tuple[Path, Path]], translate: Translate, fp: str
) -> list[Record]:
    """Read, normalize (one shared translation call) and write a chunk of files. Never raises for a
    bad file: each gets its record."""
    started = time.perf_counter()
    records: list[Record | None] = [None] * len(files)
    todo: list[tuple[int, Path, bytes]] = []
    for i, (path, rel) in enumerate(files):
        try:
            data = read_input(path, job.settings.max_bytes)
            state = _done_state(job, rel, data, fp)
            if state is None:
                todo.append((i, rel, data))
                continue
            # What the run that wrote the outputs found stays in the report and the summary.
            records[i] = Record(
                file=str(rel),
                status="skipped",
                outputs=_listed(job, rel),
                complete=state.get("complete"),
                actions=state.get("actions"),
                warnings=state.get("warnings", []),
            )
        except Exception as exc:
            records[i] = _failed(rel, exc)
    try:
        docs = pipeline.normalize_many([(data, job.options, str(rel)) for _, rel, data in todo], translate)
    except Exception as exc:  # a model that cannot load fails the chunk's documents, not the run
        docs = [exc] * len(todo)  # type: ignore[list-item]
    for (i, rel, data), doc in zip(todo, docs, strict=True):
        if isinstance(doc, BaseException):
            records[i] = _failed(rel, doc)
            continue
        try:
            digests = {}
            for fmt, out in job.outputs(rel).items():
                rendered = render(doc, fmt, job.options.markers, pretty=False).encode("utf-8")
                atomic_write(out, rendered, durable=False)
                digests[fmt] = _sha256(rendered)
            stats = doc.stats
            state = {
                "input_sha256": _sha256(data),
                "fingerprint": fp,
                "outputs": digests,
                "complete": doc.complete,
                "actions": stats["actions"],
                "warnings": doc.warnings,
            }
            # The state file is written last: it vouches for the outputs above.
            atomic_write(_state_path(job, rel), json.dumps(state).encode(), durable=False)
            records[i] = Record(
                file=str(rel),
                status="ok",
                outputs=_listed(job, rel),
                complete=doc.complete,
                actions=stats["actions"],
                warnings=doc.warnings,
            )
        except Exception as exc:
            records[i] = _failed(rel, exc)
    seconds = round((time.perf_counter() - started) / max(1, len(files)), 4)
    out = [r for r in records if r is not None]
    for record in out:
        record.seconds = seconds
    return out


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
    # Ctrl-C reaches the whole process group: the main process decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    chunk: list[tuple[Path, Path]] = field(default_factory=list)


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

    def run(self, files: list[tuple[Path, Path]], translate: Translate) -> Any:
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

    def _died(self, worker: _Worker) -> Any:
        worker.process.join(5)
        code = worker.process.exitcode
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self.workers.remove(worker)
        for _, rel in worker.chunk:
            yield Record(file=str(rel), status="failed", error=f"the worker process died ({why})")

    def _retire(self, worker: _Worker) -> None:
        worker.process.join(10)
        worker.conn.close()
        self.workers.remove(worker)

    def close(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in self.workers:
            worker.process.join(5)
            worker.conn.close()
        self.workers.clear()


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not sys.stderr.isatty(), dynamic_ncols=True, leave=True)


def run_batch(
    job: BatchJob, pipeline: Pipeline | None = None, on_record: Callable[[Record], None] | None = None
) -> dict[str, Any]:
    """Run the batch; returns the summary (also written to ``OUT/summary.json``)."""
    input_dir, out_dir = Path(job.input), Path(job.out)
    if not input_dir.is_dir():
        raise TransnormError(f"{input_dir} is not a folder")
    if out_dir.resolve() == input_dir.resolve():
        raise TransnormError("--out must be a different folder from the input folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = remove_partial_files(out_dir)
    started = time.perf_counter()
    inputs = list(find_inputs(input_dir, out_dir, job.follow_symlinks))
    records: list[Record] = []
    if pipeline is None:
        settings = job.settings
        if settings.intra_threads == 0:
            # --jobs N means N cores: N worker processes, and N translation threads here.
            settings = settings.with_overrides(intra_threads=max(1, job.jobs))
        pipeline = Pipeline(settings)
    files = []
    with (out_dir / REPORT).open("w", encoding="utf-8") as report, _progress(len(inputs)) as bar:

        def emit(record: Record) -> None:
            records.append(record)
            report.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
            report.flush()
            bar.update(1)
            if on_record:
                on_record(record)

        for path, skip in inputs:
            rel = path.relative_to(input_dir)
            if skip:
                emit(Record(file=str(rel), status="failed", error=skip))
            else:
                files.append((path, rel))
        pool = _Pool(job, pipeline, max(1, job.jobs))
        try:
            for record in pool.run(files, pipeline.translate):
                emit(record)
        finally:
            pool.close()
    summary = {
        "files": len(records),
        "ok": sum(r.status == "ok" for r in records),
        "skipped": sum(r.status == "skipped" for r in records),
        "failed": sum(r.status == "failed" for r in records),
        "incomplete": sum(r.complete is False for r in records),
        "with_warnings": sum(bool(r.warnings) for r in records),
        "seconds": round(time.perf_counter() - started, 3),
        "failures": [{"file": r.file, "error": r.error} for r in records if r.status == "failed"],
        "partial_files_removed": removed,
    }
    atomic_write(out_dir / SUMMARY, (json.dumps(summary, indent=2) + "\n").encode())
    return summary
