"""What a batch run tells: ``report.jsonl`` (a :class:`Record` per entry found, written as the
run goes) and ``summary.json`` (a :class:`Summary`, written at the end, interrupted or not).

Disk space for both is set aside when the run starts (the summary's first: it is small and
bounded), so that a disk the outputs fill up still gets them; a run on a disk without that room
does not start (the last run's report and summary stay). A report line that does not fit is cut
back off, kept, and tried again at the end; what still does not fit is counted in the summary.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..document import to_json
from ..errors import TransnormError
from ..files import ReservedFile, display, os_reason, reserve_space
from .job import REPORT, SUMMARY

#: The summary lists this many failures at most (the report has them all): it stays small.
MAX_LISTED_FAILURES = 100


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
    #: For a stream of documents (JSON lines, Parquet): lines, ok, failed, incomplete.
    lines: dict[str, int] | None = None


@dataclass
class Summary:
    """The run as a whole (``summary.json``); ``interrupted`` names the signal that stopped it."""

    files: int
    ok: int
    unchanged: int
    skipped: int
    failed: int
    incomplete: int
    with_warnings: int
    failed_lines: int
    seconds: float
    failures: list[dict[str, str | None]]
    partial_files_removed: int
    interrupted: str | None
    not_processed: int
    report_error: str | None
    engine: dict[str, Any]
    summary_error: str | None = None
    #: What stopped the run other than a signal (an error of the run itself, not of an input).
    error: str | None = None

    @classmethod
    def of(cls, records: Sequence[Record], found: int, **run: Any) -> Summary:
        """The summary of ``records`` out of ``found`` entries; ``run`` gives the other members."""
        failures = [{"file": r.file, "error": r.error} for r in records if r.status == "failed"]
        return cls(
            files=len(records),
            ok=sum(r.status == "ok" for r in records),
            unchanged=sum(r.status == "unchanged" for r in records),
            skipped=sum(r.status == "skipped" for r in records),
            failed=len(failures),
            incomplete=sum(r.complete is False for r in records),
            with_warnings=sum(bool(r.warnings) for r in records),
            failed_lines=sum((r.lines or {}).get("failed", 0) for r in records),
            failures=failures[:MAX_LISTED_FAILURES],
            not_processed=found - len(records),
            **run,
        )

    @property
    def succeeded(self) -> bool:
        """Every entry done, none failed, nothing lost from the report or the summary."""
        return not (
            self.failed
            or self.failed_lines
            or self.not_processed
            or self.interrupted
            or self.report_error
            or self.summary_error
            or self.error
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self, report: str) -> list[str]:
        """The summary in a few lines for a terminal (``report``: where the report is)."""
        if self.interrupted or self.error:
            lines = [
                f"transnorm batch: stopped by {self.interrupted or self.error}: {self.ok} written, "
                f"{self.unchanged} unchanged, {self.failed} failed, {self.not_processed} not processed; "
                f"report in {report}; run the same command again to finish"
            ]
        else:
            lines = [
                f"transnorm batch: {self.files} entries: {self.ok} written, {self.unchanged} unchanged, "
                f"{self.skipped} skipped, {self.failed} failed, {self.incomplete} incomplete, "
                f"{self.with_warnings} with warnings ({self.seconds} s); report in {report}"
            ]
        lines += [f"  failed: {f['file']}: {f['error']}" for f in self.failures]
        if self.failed > len(self.failures):
            lines.append(f"  ... and {self.failed - len(self.failures)} more (see the report)")
        lines += [f"transnorm batch: {p}" for p in (self.report_error, self.summary_error) if p]
        if self.failed_lines:
            lines.append(
                f"  {self.failed_lines} items of JSON-lines or Parquet inputs failed (see their outputs)"
            )
        return lines


class Report:
    """``report.jsonl``, a line per record, each written whole or not at all, and ``summary.json``
    written at the end into space set aside at the start."""

    def __init__(self, out: Path, entries: int, tmp_dir: Path) -> None:
        # Half a kilobyte an entry for its line; a kilobyte a failure the summary lists.
        summary_room = 4096 + 1024 * min(entries, MAX_LISTED_FAILURES)
        report_room = min(64 << 20, 4096 + 512 * entries)
        _check_room(out, summary_room + report_room)
        # summary.json tells of the last run that ended: not of this one until it ends.
        (out / SUMMARY).unlink(missing_ok=True)
        self._summary = ReservedFile(out / SUMMARY, summary_room, tmp_dir)
        try:
            self._fd = os.open(
                out / REPORT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o666
            )
        except OSError as exc:
            self._summary.discard()
            raise TransnormError(f"cannot write {display(out / REPORT)}: {os_reason(exc)}") from None
        reserve_space(self._fd, report_room)
        self._size = 0
        self._pending: list[bytes] = []
        self.error: str | None = None

    def add(self, record: Record) -> None:
        line = to_json(asdict(record), pretty=False).encode("utf-8")
        if self._pending or not self._write(line):
            self._pending.append(line)

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

    def finish(self, summary: Summary) -> Summary:
        """Close the report and write ``summary`` (with what could not be written said in it)."""
        summary.report_error = self.close()
        try:
            self._summary.write(to_json(summary.to_dict()).encode("utf-8"))
        except OSError as exc:
            summary.summary_error = f"cannot write {SUMMARY}: {os_reason(exc)}"
        return summary


def _check_room(out: Path, needed: int) -> None:
    """Refuse to start, before the last run's report and summary are replaced, on a disk without
    room for this run's (what they hold now counts as room: it is given back)."""
    try:
        fs = os.statvfs(out)
    except (OSError, AttributeError):
        return
    free = fs.f_bavail * fs.f_frsize
    for name in (REPORT, SUMMARY):
        with contextlib.suppress(OSError):
            free += os.stat(out / name).st_blocks * 512
    if free < needed:
        raise TransnormError(
            f"the output folder {display(out)} has {free >> 10} KiB free: the run's report and summary "
            f"need {-(-needed >> 10)} KiB set aside before it starts; free some space or choose another --out"
        )
