"""What a worker (a local process or a Ray actor) does with a chunk of inputs: read each, skip it
if a previous run's outputs for it are intact, normalize it with
:meth:`~transnorm.pipeline.Pipeline.pipe`, write its outputs atomically and record its state.

The single documents of a chunk go through one ``pipe`` together (their sentences share a
translation call; a ``.html``/``.htm`` file is an HTML page); a stream of documents (JSON lines,
Parquet) is piped on its own into its results file. Never raises for a bad input: each gets its
:class:`~transnorm.batch.report.Record`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..document import Document, Outcome
from ..errors import TransnormError
from ..files import atomic_write, atomic_writer, display, os_reason, read_input
from ..htmlpage import options_for_file
from ..jsonl import normalize_stream
from ..pipeline import Pipeline
from ..render import render_bytes
from ..translate import Translate
from . import parquet
from .inputs import Work
from .job import Job
from .report import Record
from .state import RunState, file_sha256


@dataclass(frozen=True)
class Worker:
    """What a worker holds for the whole run."""

    job: Job
    pipeline: Pipeline
    translate: Translate
    state: RunState

    @property
    def fingerprint(self) -> str:
        return self.job.fingerprint(self.pipeline.engine.packages().values())

    def process(self, works: Sequence[Work]) -> list[Record]:
        """A record per input of ``works``, in order."""
        started = time.perf_counter()
        fingerprint = self.fingerprint
        records: dict[int, Record] = {}
        documents = []
        for i, work in enumerate(works):
            if work.stream:
                records[i] = self._stream(work, fingerprint)
            else:
                item = self._read(work, fingerprint)
                if isinstance(item, Record):
                    records[i] = item
                else:
                    documents.append((item, i))
        for outcome, (data, i) in self.pipeline.pipe(
            _items(self.job, works, documents), self.translate, as_tuples=True
        ):
            records[i] = self._write(works[i], data, outcome, fingerprint)
        each = round((time.perf_counter() - started) / max(1, len(works)), 4)
        out = [records[i] for i in range(len(works))]
        for record in out:
            record.seconds = record.seconds or each
        return out

    def _read(self, work: Work, fingerprint: str) -> bytes | Record:
        """The input's bytes to normalize, or its record when there is nothing to do."""
        try:
            data = read_input(work.path, self.job.settings.pipeline.max_bytes)
        except Exception as exc:
            return failed(work.name, exc, "read")
        state = self.state.done(work, hashlib.sha256(data).hexdigest(), fingerprint)
        if state is None:
            return data
        # What the run that wrote the outputs found stays in the report and the summary.
        return Record(
            file=work.name,
            status="unchanged",
            outputs=self._listed(work),
            complete=state.get("complete"),
            actions=state.get("actions"),
            warnings=state.get("warnings", []),
            lines=state.get("lines"),
        )

    def _write(self, work: Work, data: bytes, outcome: Outcome, fingerprint: str) -> Record:
        doc = outcome.document
        if doc is None:
            return failed(work.name, outcome.error or TransnormError("no result"))
        written: list[str] = []
        try:
            digests = {}
            for fmt, out in work.outputs.items():
                rendered = render_bytes(doc, fmt, self.job.options.markers, pretty=False)
                self._output(work, fmt, rendered)
                written.append(display(out.relative_to(self.job.out)))
                digests[fmt] = hashlib.sha256(rendered).hexdigest()
        except Exception as exc:
            record = failed(work.name, exc, "write")
            record.outputs = written  # what was written before the failure is there
            return record
        try:
            self.state.save(
                work, self._state(work, hashlib.sha256(data).hexdigest(), fingerprint, digests, doc)
            )
        except Exception as exc:
            return self._unrecorded(work, exc, written)
        return Record(
            file=work.name,
            status="ok",
            outputs=written,
            complete=doc.complete,
            actions=doc.stats["actions"],
            warnings=doc.warnings,
        )

    def _unrecorded(self, work: Work, exc: Exception, written: list[str]) -> Record:
        """The record of an input whose outputs were written but whose state could not be: the
        outputs stand, and the next run, finding no state for them, redoes them."""
        record = failed(work.name, exc, "write")
        if isinstance(exc, OSError):
            where = display(exc.filename) if exc.filename else "its state"
            record.error = (
                f"its outputs were written, but not its record {where} ({os_reason(exc)}); "
                "the next run redoes it"
            )
        record.outputs = written
        return record

    def _output(self, work: Work, fmt: str, data: bytes) -> None:
        out = work.outputs[fmt]
        try:
            atomic_write(out, data, durable=False, tmp_dir=self.state.tmp)
        except OSError as exc:
            exc.filename = str(out.relative_to(self.job.out))
            raise

    def _state(
        self, work: Work, input_sha256: str, fingerprint: str, outputs: dict[str, str], doc: Document | None
    ) -> dict[str, Any]:
        state: dict[str, Any] = {
            "input": work.name,
            "input_sha256": input_sha256,
            "fingerprint": fingerprint,
            "outputs": outputs,
        }
        if doc is not None:
            state.update(complete=doc.complete, actions=doc.stats["actions"], warnings=doc.warnings)
        return state

    def _stream(self, work: Work, fingerprint: str) -> Record:
        """A stream of documents: piped line by line (or row by row) into its results file."""
        started = time.perf_counter()
        ((fmt, out),) = work.outputs.items()
        try:
            input_sha256 = file_sha256(work.path)
            state = self.state.done(work, input_sha256, fingerprint)
            if state is not None:
                return Record(
                    file=work.name,
                    status="unchanged",
                    outputs=self._listed(work),
                    complete=state.get("complete"),
                    warnings=state.get("warnings", []),
                    lines=state.get("lines"),
                )
            lines = self._pipe_stream(work, fmt)
        except Exception as exc:
            return failed(work.name, exc)
        warnings = [f"{lines['failed']} of {lines['lines']} items failed; their errors are in the output"]
        state = self._state(work, input_sha256, fingerprint, {fmt: file_sha256(out)}, None)
        state.update(complete=not lines["failed"] and not lines["incomplete"], lines=lines)
        state["warnings"] = warnings if lines["failed"] else []
        try:
            self.state.save(work, state)
        except Exception as exc:
            return self._unrecorded(work, exc, self._listed(work))
        return Record(
            file=work.name,
            status="ok",
            outputs=self._listed(work),
            complete=state["complete"],
            warnings=state["warnings"],
            lines=lines,
            seconds=round(time.perf_counter() - started, 4),
        )

    def _pipe_stream(self, work: Work, fmt: str) -> dict[str, int]:
        out = work.outputs[fmt]
        options = self.job.options.model_copy(update={"format": "json"})
        try:
            if fmt == "parquet":
                return parquet.normalize_file(
                    work.path, out, self.pipeline, options, self.translate, self.state.tmp
                )
            with (
                open(work.path, "rb") as source,
                atomic_writer(out, durable=False, tmp_dir=self.state.tmp) as sink,
            ):
                return normalize_stream(source, sink, self.pipeline, options, self.translate).counts()
        except OSError as exc:
            if exc.filename is None or str(exc.filename).startswith(str(self.state.tmp)):
                exc.filename = str(out.relative_to(self.job.out))
            raise

    def _listed(self, work: Work) -> list[str]:
        return [display(p.relative_to(self.job.out)) for p in work.outputs.values()]


def _items(job: Job, works: Sequence[Work], documents: list[tuple[bytes, int]]) -> Iterator[Any]:
    for data, i in documents:
        options = options_for_file(job.options, works[i].path)
        yield (data, options, works[i].name), (data, i)


def failed(name: str, exc: BaseException, doing: str = "") -> Record:
    """The record of an input that failed: the error's own message, an OS error in a few words
    naming the file, or -- a bug must not stop the other files -- an internal error."""
    if isinstance(exc, TransnormError):
        error = str(exc)
    elif isinstance(exc, OSError):
        where = f" {display(exc.filename)}" if exc.filename else ""
        error = f"cannot {doing or 'read or write'}{where}: {os_reason(exc)}"
    else:
        error = f"internal error: {type(exc).__name__}: {exc}"
    return Record(file=name, status="failed", error=error)
