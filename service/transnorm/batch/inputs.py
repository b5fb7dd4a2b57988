"""A batch's inputs: every entry under the input folder (documents, and what is skipped or
failed with the reason), and where each document's outputs go -- decided for all of them before
anything is written, so no output can land on the run's own files or on another input's."""

from __future__ import annotations

import contextlib
import os
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files import display, os_reason
from .job import RESERVED, STREAMS, Job
from .report import Record


@dataclass(frozen=True)
class Entry:
    """Something found under a batch's input folder. ``skip`` says why it is not a document to
    read (hidden, a link not followed, a FIFO…); ``fail`` why it could not be looked at."""

    path: Path
    rel: Path
    skip: str | None = None
    fail: str | None = None


@dataclass(frozen=True)
class Work:
    """One input file to process, with where its outputs go (decided before any is written)."""

    path: Path
    #: The relative name, displayable (bytes that are not UTF-8 escaped): report line and id.
    name: str
    outputs: dict[str, Path]
    state: Path

    @property
    def stream(self) -> bool:
        """A stream of documents (JSON lines, Parquet) rather than one document."""
        return self.path.suffix in STREAMS


def find_inputs(input_path: Path, out_dir: Path, follow_symlinks: bool = False) -> Iterator[Entry]:
    """Every entry under ``input_path`` in name order, each once (or the one stream file it
    names). Folders are walked, never read."""
    if input_path.is_file():
        yield Entry(input_path, Path(input_path.name))
        return
    out_real = os.path.realpath(out_dir)
    seen = {os.path.realpath(input_path)}

    def walk(folder: Path, rel: Path) -> Iterator[Entry]:
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield Entry(folder, rel, fail=f"cannot list the folder: {os_reason(exc)}")
            return
        for item in items:
            path, item_rel = Path(item.path), rel / item.name
            try:
                verdict = _look(item, path, follow_symlinks, out_real, seen)
            except OSError as exc:
                yield Entry(path, item_rel, fail=f"cannot look at it: {os_reason(exc)}")
                continue
            if verdict == "walk":
                yield from walk(path, item_rel)
            elif verdict.startswith("fail:"):
                yield Entry(path, item_rel, fail=verdict[5:])
            else:
                yield Entry(path, item_rel, skip=verdict or None)

    yield from walk(input_path, Path())


def _look(item: os.DirEntry[str], path: Path, follow: bool, out_real: str, seen: set[str]) -> str:
    """What to do with one folder entry: "" read it, "walk" it, "fail:why", or why it is skipped."""
    is_link = item.is_symlink()
    kind = "folder" if item.is_dir(follow_symlinks=True) else "file"
    if item.name.startswith("."):
        return f"hidden {kind}"
    if is_link and not follow:
        return f"symbolic link to a {kind} (not followed without --follow-symlinks)"
    if is_link and not os.path.exists(path):
        return "fail:broken symbolic link"
    if item.is_dir(follow_symlinks=follow):
        real = os.path.realpath(path)
        if real == out_real:
            return "the output folder"
        if real in seen:
            return "a folder already walked (symbolic link loop)"
        seen.add(real)
        return "walk"
    if item.is_file(follow_symlinks=follow):
        return ""
    return "not a regular file (FIFO, socket or device)"


def plan_outputs(job: Job, entries: Sequence[Entry], folding: Folding) -> Iterator[Work | Record]:
    """Decide where each input's outputs go, before anything is written: a record for what is
    skipped or failed (an output on a reserved name, or on another input's output), else its
    :class:`Work`. The first input in name order keeps a contested name."""
    files: dict[str, str] = {}  # output key → input name
    folders: dict[str, str] = {}  # output folder key → an input name with outputs in it
    for entry in entries:
        name = display(entry.rel)
        if entry.skip or entry.fail:
            status = "skipped" if entry.skip else "failed"
            yield Record(file=name, status=status, error=entry.skip or entry.fail)
            continue
        outputs = job.outputs(entry.rel)
        rels = [path.relative_to(job.out) for path in outputs.values()]
        problem = next((p for rel in rels if (p := _clash(rel, folding, files, folders))), None)
        if problem:
            yield Record(file=name, status="failed", error=problem)
            continue
        for rel in rels:
            files[folding.key(rel)] = name
            for parent in rel.parents:
                if parent != Path():
                    folders.setdefault(folding.key(parent), name)
        yield Work(entry.path, name, outputs, job.state_path(entry.rel))


def _clash(rel: Path, folding: Folding, files: dict[str, str], folders: dict[str, str]) -> str | None:
    """Why the output ``rel`` cannot be written, or None."""
    key = folding.key(rel)
    if len(rel.parts) == 1 and rel.name in RESERVED:
        return f"its output {display(rel)} would overwrite {RESERVED[rel.name]}; rename the input"
    if key in files:
        return f"its output {display(rel)} would overwrite the output of {files[key]}"
    if key in folders:
        return f"its output {display(rel)} is a folder of outputs of {folders[key]}"
    owner = next((files[k] for p in rel.parents if p != Path() and (k := folding.key(p)) in files), None)
    if owner:
        return f"its outputs go in a folder named like an output of {owner}"
    return None


@dataclass(frozen=True)
class Folding:
    """How the output folder's file system compares names: whether it folds case (FAT, exFAT,
    macOS) and whether it treats Unicode-equivalent names (NFC/NFD) as one (macOS)."""

    case: bool = False
    unicode: bool = False

    def key(self, path: Path) -> str:
        text = os.fsencode(path).decode("utf-8", "surrogateescape")
        if self.unicode:
            text = unicodedata.normalize("NFC", text)
        return text.casefold() if self.case else text

    @classmethod
    def probe(cls, folder: Path) -> Folding:
        """Find out by creating a file and looking it up under another spelling."""
        pid = os.getpid()
        return cls(
            case=_same(folder, f".transnorm-Case-{pid}.probe", f".transnorm-case-{pid}.probe"),
            unicode=_same(folder, f".transnorm-\u00e9-{pid}.probe", f".transnorm-e\u0301-{pid}.probe"),
        )


def _same(folder: Path, name: str, other: str) -> bool:
    probe = folder / name
    try:
        probe.touch()
        return (folder / other).exists()
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
