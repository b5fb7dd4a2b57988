"""Batch mode: normalize every document in a folder into an output folder.

One output per input and format (``NAME.json``, ``NAME.en.txt``, ``NAME.html``), written
atomically. Documents go in chunks through three phases: worker processes decode and detect,
this process translates every sentence of the chunk in shared batches with all cores, and the
workers assemble, render and write. A state file per input makes runs resumable (an unchanged
input whose outputs are complete is skipped); ``report.jsonl`` has a line per input and
``summary.json`` the totals.
A bad file is reported and the others go on.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import InputError, TooLargeError, TransnormError
from .options import Options
from .pipeline import Pipeline, Plan
from .render import render

SUFFIXES = {"json": ".json", "text": ".en.txt", "html": ".html"}
STATE_DIR = ".transnorm-state"
REPORT = "report.jsonl"
SUMMARY = "summary.json"


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


def find_inputs(
    input_dir: Path, out_dir: Path, follow_symlinks: bool = False
) -> Iterator[tuple[Path, str | None]]:
    """(path, reason to skip or None) for each non-hidden file under ``input_dir``, sorted."""
    out_resolved = out_dir.resolve()
    for root, dirs, files in os.walk(input_dir, followlinks=follow_symlinks):
        root_path = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (root_path / d).resolve() != out_resolved
        )
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = root_path / name
            if path.is_symlink() and not follow_symlinks:
                yield path, "symbolic link (not followed without --follow-symlinks)"
            elif not path.exists():
                yield path, "broken symbolic link"
            elif not path.is_file():
                # A FIFO would block the whole batch on read; devices and sockets are not documents.
                yield path, "not a regular file (FIFO, socket or device)"
            else:
                yield path, None


def read_input(path: str | Path, limit: int, regular_only: bool = True) -> bytes:
    """The bytes of a document file, at most ``limit + 1`` of them (the pipeline rejects the excess).

    A regular file larger than ``limit`` is refused before reading. With ``regular_only`` anything
    else is refused; the file is opened without blocking and checked after opening, so a file
    swapped for a FIFO after listing cannot hang a batch.
    """
    flags = os.O_RDONLY | (getattr(os, "O_NONBLOCK", 0) if regular_only else 0)
    with os.fdopen(os.open(path, flags), "rb") as f:
        info = os.fstat(f.fileno())
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:
                raise TooLargeError(
                    f"document is {info.st_size} bytes; the limit is {limit} (TRANSNORM_MAX_BYTES)"
                )
        elif regular_only:
            raise InputError("not a regular file (FIFO, socket or device)")
        return f.read(limit + 1)


def remove_partial_files(out_dir: Path) -> int:
    """Delete temporary files an interrupted run (kill -9, power cut) left behind; returns how many."""
    count = 0
    for path in out_dir.rglob(".*.tmp"):
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            count += 1
    return count


def output_paths(rel: Path, out_dir: Path, formats: list[str]) -> dict[str, Path]:
    base = out_dir / rel.parent / rel.stem
    return {fmt: base.with_name(base.name + SUFFIXES[fmt]) for fmt in formats}


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    ``durable`` also flushes it to disk before the rename (survives a power cut, at a cost per
    file). The batch skips that: its state files record each output's sha256, so a resumed run
    redoes any output that a crash left damaged.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fingerprint(options: Options, formats: list[str], pipeline: Pipeline) -> str:
    """What determines the outputs besides the input: options, formats, settings, model versions."""
    models = sorted((m.package, m.version) for m in pipeline.engine.models().values())
    s = pipeline.settings
    key = json.dumps(
        [options.to_dict(), formats, models, s.beam_size, s.compute_type, list(s.latin_candidates)],
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _state_path(out_dir: Path, rel: Path) -> Path:
    return out_dir / STATE_DIR / (str(rel) + ".json")


def done_state(out_dir: Path, rel: Path, data: bytes, fp: str, formats: list[str]) -> dict[str, Any] | None:
    """The state of a previous run if its outputs for this exact input are complete and intact."""
    try:
        state = json.loads(_state_path(out_dir, rel).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    if state.get("input_sha256") != _sha256(data) or state.get("fingerprint") != fp:
        return None
    for fmt, path in output_paths(rel, out_dir, formats).items():
        try:
            if _sha256(path.read_bytes()) != state["outputs"].get(fmt):
                return None
        except (OSError, KeyError, AttributeError):
            return None
    return state


@dataclass
class Planned:
    """One input between the phases: its plan (or a final record), and what is needed to finish."""

    rel: Path
    input_sha256: str = ""
    plan: Plan | None = None
    record: Record | None = None
    seconds: float = 0.0


def plan_file(
    path: Path, rel: Path, out_dir: Path, formats: list[str], options: Options, pipeline: Pipeline, fp: str
) -> Planned:
    """Phase 1: read, skip if done, decode and detect. Never raises for a bad file."""
    started = time.perf_counter()
    item = Planned(rel)
    try:
        data = read_input(path, pipeline.settings.max_bytes)
        item.input_sha256 = _sha256(data)
        state = done_state(out_dir, rel, data, fp, formats)
        if state is not None:
            # What the run that wrote the outputs found stays in the report and the summary.
            item.record = Record(
                file=str(rel),
                status="skipped",
                outputs=_outputs(rel, out_dir, formats),
                complete=state.get("complete"),
                actions=state.get("actions"),
                warnings=state.get("warnings", []),
            )
        else:
            item.plan = pipeline.plan(data, options, str(rel))
    except Exception as exc:
        item.record = _failed(rel, exc)
    item.seconds = time.perf_counter() - started
    if item.plan is not None and not item.plan.needs_translation:
        # Nothing to translate (most documents): finish here rather than travel to the translator.
        item.record = finish_file(item, out_dir, formats, options, pipeline, fp)
        item.plan = None
    return item


def finish_file(
    item: Planned, out_dir: Path, formats: list[str], options: Options, pipeline: Pipeline, fp: str
) -> Record:
    """Phase 3: assemble, render and write atomically; the state file is written last."""
    if item.record is not None:
        return item.record
    started = time.perf_counter()
    try:
        assert item.plan is not None
        doc = pipeline.assemble(item.plan)
        digests = {}
        for fmt, out in output_paths(item.rel, out_dir, formats).items():
            rendered = render(doc, fmt, options.markers, pretty=False).encode("utf-8")
            atomic_write(out, rendered, durable=False)
            digests[fmt] = _sha256(rendered)
        state = {
            "input_sha256": item.input_sha256,
            "fingerprint": fp,
            "outputs": digests,
            "complete": doc.complete,
            "actions": doc.stats["actions"],
            "warnings": doc.warnings,
        }
        atomic_write(_state_path(out_dir, item.rel), json.dumps(state).encode(), durable=False)
        record = Record(
            file=str(item.rel),
            status="ok",
            outputs=_outputs(item.rel, out_dir, formats),
            complete=doc.complete,
            actions=doc.stats["actions"],
            warnings=doc.warnings,
        )
    except Exception as exc:
        record = _failed(item.rel, exc)
    record.seconds = round(item.seconds + time.perf_counter() - started, 4)
    return record


def _outputs(rel: Path, out_dir: Path, formats: list[str]) -> list[str]:
    return [str(p.relative_to(out_dir)) for p in output_paths(rel, out_dir, formats).values()]


def _failed(rel: Path, exc: Exception) -> Record:
    if isinstance(exc, TransnormError):
        error = str(exc)
    elif isinstance(exc, OSError):
        error = f"cannot read or write: {exc}"
    else:  # a bug must not stop the other files
        error = f"internal error: {type(exc).__name__}: {exc}"
    return Record(file=str(rel), status="failed", error=error)


_worker: dict[str, Any] = {}


def _init_worker(settings: Settings | None, pipeline: Pipeline | None) -> None:
    # Workers plan and finish documents; they never translate, so they load no model.
    _worker["pipeline"] = pipeline if pipeline is not None else Pipeline(settings)


def _plan_work(args: tuple[Path, Path, Path, list[str], Options, str]) -> Planned:
    path, rel, out_dir, formats, options, fp = args
    return plan_file(path, rel, out_dir, formats, options, _worker["pipeline"], fp)


def _finish_work(args: tuple[Planned, Path, list[str], Options, str]) -> Record:
    item, out_dir, formats, options, fp = args
    return finish_file(item, out_dir, formats, options, _worker["pipeline"], fp)


CHUNK_PER_JOB = 32


def _pool(jobs: int, pipeline: Pipeline) -> concurrent.futures.ProcessPoolExecutor:
    """Worker processes that plan and finish documents (they never translate).

    While no CTranslate2 model is loaded here, workers are forked and inherit the loaded langid
    model for free. Once one is, its threads would not survive a fork: workers then come from a
    clean forkserver and build their own pipeline.
    """
    methods = multiprocessing.get_all_start_methods()
    if getattr(pipeline.engine, "loaded", True) is False and "fork" in methods:
        context = multiprocessing.get_context("fork")
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_init_worker, initargs=(None, pipeline)
        )
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_init_worker, initargs=(pipeline.settings, None)
    )


def _translate_planned(pipeline: Pipeline, planned: list[Planned]) -> None:
    """Phase 2, in this process: every sentence of the chunk in shared batches, on all cores."""
    plans = [item.plan for item in planned if item.plan is not None]
    try:
        pipeline.translate(plans)
    except Exception as exc:
        for item in planned:
            if item.plan is not None:
                item.record, item.plan = _failed(item.rel, exc), None


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()

    def update(self, record: Record) -> None:
        self.done += 1
        if self.enabled:
            width = 30
            filled = width * self.done // max(1, self.total)
            name = record.file[-40:]
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name:<40}"
            )
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def run_batch(
    input_dir: Path,
    out_dir: Path,
    formats: list[str],
    options: Options,
    settings: Settings,
    jobs: int = 1,
    follow_symlinks: bool = False,
    pipeline: Pipeline | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> dict[str, Any]:
    """Run the batch; returns the summary (also written to ``OUT/summary.json``)."""
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if not input_dir.is_dir():
        raise TransnormError(f"{input_dir} is not a folder")
    if out_dir.resolve() == input_dir.resolve():
        raise TransnormError("--out must be a different folder from the input folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = remove_partial_files(out_dir)
    started = time.perf_counter()
    inputs = list(find_inputs(input_dir, out_dir, follow_symlinks))
    progress = Progress(len(inputs))
    records: list[Record] = []
    report = (out_dir / REPORT).open("w", encoding="utf-8")

    def emit(record: Record) -> None:
        records.append(record)
        report.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
        report.flush()
        progress.update(record)
        if on_record:
            on_record(record)

    try:
        todo = []
        for path, skip in inputs:
            rel = path.relative_to(input_dir)
            if skip:
                emit(Record(file=str(rel), status="failed", error=skip))
            else:
                todo.append((path, rel))
        # Models load lazily and only here, in this process: workers never translate.
        if pipeline is None:
            if settings.intra_threads == 0:
                # --jobs N means N cores: N worker processes, and N threads for translation here.
                settings = settings.with_overrides(intra_threads=max(1, jobs))
            pipeline = Pipeline(settings)
        fp = fingerprint(options, formats, pipeline)
        pool = _pool(jobs, pipeline) if jobs > 1 and len(todo) > 1 else None
        try:
            chunk = CHUNK_PER_JOB * max(1, jobs)
            for start in range(0, len(todo), chunk):
                part = todo[start : start + chunk]
                plan_args = [(path, rel, out_dir, formats, options, fp) for path, rel in part]
                if pool:
                    planned = list(pool.map(_plan_work, plan_args, chunksize=max(1, len(part) // (4 * jobs))))
                else:
                    planned = [plan_file(*a[:5], pipeline, fp) for a in plan_args]
                _translate_planned(pipeline, planned)
                for item in planned:
                    if item.record is not None:
                        emit(item.record)
                waiting = [item for item in planned if item.record is None]
                finish_args = [(item, out_dir, formats, options, fp) for item in waiting]
                if pool:
                    finished = pool.map(_finish_work, finish_args)
                else:
                    finished = (
                        finish_file(item, out_dir, formats, options, pipeline, fp) for item in waiting
                    )
                for record in finished:
                    emit(record)
        finally:
            if pool:
                pool.shutdown()
    finally:
        report.close()
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
