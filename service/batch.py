"""Batch mode: normalize every document in a folder into an output folder.

One output per input and format (``NAME.json``, ``NAME.en.txt``, ``NAME.html``), written
atomically; a state file per input makes runs resumable (an unchanged input whose outputs are
complete is skipped); ``report.jsonl`` has a line per input and ``summary.json`` the totals.
A bad file is reported and the others go on.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import TransnormError
from .options import Options
from .pipeline import Pipeline
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
            else:
                yield path, None


def output_paths(rel: Path, out_dir: Path, formats: list[str]) -> dict[str, Path]:
    base = out_dir / rel.parent / rel.stem
    return {fmt: base.with_name(base.name + SUFFIXES[fmt]) for fmt in formats}


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
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


def is_done(out_dir: Path, rel: Path, data: bytes, fp: str, formats: list[str]) -> bool:
    try:
        state = json.loads(_state_path(out_dir, rel).read_text())
    except (OSError, ValueError):
        return False
    if state.get("input_sha256") != _sha256(data) or state.get("fingerprint") != fp:
        return False
    for fmt, path in output_paths(rel, out_dir, formats).items():
        try:
            if _sha256(path.read_bytes()) != state["outputs"].get(fmt):
                return False
        except (OSError, KeyError):
            return False
    return True


def process_file(
    path: Path,
    rel: Path,
    out_dir: Path,
    formats: list[str],
    options: Options,
    pipeline: Pipeline,
    fp: str,
) -> Record:
    """Normalize one file and write its outputs; never raises for a bad file."""
    started = time.perf_counter()
    record = Record(file=str(rel), status="failed")
    try:
        data = path.read_bytes()
        if is_done(out_dir, rel, data, fp, formats):
            record.status = "skipped"
        else:
            doc = pipeline(data, options, id=str(rel))
            digests = {}
            for fmt, out in output_paths(rel, out_dir, formats).items():
                rendered = render(doc, fmt, options.markers).encode("utf-8")
                atomic_write(out, rendered)
                digests[fmt] = _sha256(rendered)
            state = {"input_sha256": _sha256(data), "fingerprint": fp, "outputs": digests}
            atomic_write(_state_path(out_dir, rel), json.dumps(state).encode())
            record.status = "ok"
            record.complete = doc.complete
            record.actions = doc.stats["actions"]
        record.outputs = [str(p.relative_to(out_dir)) for p in output_paths(rel, out_dir, formats).values()]
    except TransnormError as exc:
        record.error = str(exc)
    except OSError as exc:
        record.error = f"cannot read or write: {exc}"
    except Exception as exc:  # a bug must not stop the other files
        record.error = f"internal error: {type(exc).__name__}: {exc}"
    record.seconds = round(time.perf_counter() - started, 4)
    return record


_worker: dict[str, Any] = {}


def _init_worker(settings: Settings) -> None:
    # Each worker process loads its own models after the fork (CTranslate2 is not fork-safe).
    _worker["pipeline"] = Pipeline(settings)


def _work(args: tuple[Path, Path, Path, list[str], Options, str]) -> Record:
    path, rel, out_dir, formats, options, fp = args
    return process_file(path, rel, out_dir, formats, options, _worker["pipeline"], fp)


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
        # Models load lazily, so the parent of a parallel batch never loads one before forking.
        pipeline = pipeline or Pipeline(settings)
        fp = fingerprint(options, formats, pipeline)
        if jobs <= 1 or len(todo) <= 1:
            for path, rel in todo:
                emit(process_file(path, rel, out_dir, formats, options, pipeline, fp))
        else:
            with concurrent.futures.ProcessPoolExecutor(
                max_workers=jobs, initializer=_init_worker, initargs=(settings,)
            ) as pool:
                args = [(path, rel, out_dir, formats, options, fp) for path, rel in todo]
                for record in pool.map(_work, args):
                    emit(record)
    finally:
        report.close()
    summary = {
        "files": len(records),
        "ok": sum(r.status == "ok" for r in records),
        "skipped": sum(r.status == "skipped" for r in records),
        "failed": sum(r.status == "failed" for r in records),
        "incomplete": sum(r.complete is False for r in records),
        "seconds": round(time.perf_counter() - started, 3),
        "failures": [{"file": r.file, "error": r.error} for r in records if r.status == "failed"],
    }
    atomic_write(out_dir / SUMMARY, (json.dumps(summary, indent=2) + "\n").encode())
    return summary
