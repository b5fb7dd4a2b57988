"""What a batch run is asked to do: the :class:`Job` every worker and actor gets, and the names
of its outputs.

Outputs are named after the whole input name: ``a.md`` gives ``a.md.json``, ``a.md.en.txt`` and
``a.md.html`` (subfolders mirrored), so inputs sharing a stem never share outputs; a stream of
documents (``.jsonl``, ``.parquet``) gives one results file of its own kind. A name too long for
the file system is shortened with a hash. The run's own files (report, summary, state folder,
lock) are reserved names.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..options import Options
from ..packages import PackageInfo
from ..settings import Settings

#: Output suffix of each format of a single-document input.
SUFFIXES = {"json": ".json", "text": ".en.txt", "html": ".html"}
#: Inputs that are streams of documents, and the suffix of their results file.
STREAMS = {".jsonl": ".results.jsonl", ".parquet": ".results.parquet"}
STATE_DIR = ".transnorm-state"
REPORT = "report.jsonl"
SUMMARY = "summary.json"
LOCK = ".transnorm.lock"
#: The run's own files in the output folder: no input's output may take these names.
RESERVED = {
    REPORT: "the run's report",
    SUMMARY: "the run's summary",
    STATE_DIR: "the run's state",
    LOCK: "the run's lock",
}
#: The longest file name (in bytes) the common Linux file systems take.
NAME_MAX = 255


@dataclass(frozen=True)
class Job:
    """Everything that decides a batch's outputs: where they go, their formats, the document
    options and the engine settings. Picklable: workers and Ray actors get it whole."""

    out: Path
    formats: tuple[str, ...]
    options: Options
    settings: Settings

    def outputs(self, rel: Path) -> dict[str, Path]:
        """The output files of the input ``rel`` (relative to the input folder), by format."""
        stream = STREAMS.get(rel.suffix)
        if stream is not None:
            return {rel.suffix[1:]: self.out / rel.parent / fit_name(rel.name, stream)}
        return {fmt: self.out / rel.parent / fit_name(rel.name, SUFFIXES[fmt]) for fmt in self.formats}

    def state_path(self, rel: Path) -> Path:
        """Where the run records what it made of ``rel`` (flat and fixed-length: an input's state
        never clashes with a folder of another's)."""
        return self.out / STATE_DIR / (hashlib.sha256(os.fsencode(rel)).hexdigest()[:40] + ".json")

    def fingerprint(self, packages: Iterable[PackageInfo]) -> str:
        """What determines the outputs besides the input: options, formats, settings, models."""
        s = self.settings.pipeline
        key = [
            self.options.to_dict(),
            list(self.formats),
            sorted((p.package, p.version) for p in packages),
            s.beam_size,
            s.compute_type,
            list(s.languages),
        ]
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def fit_name(name: str, suffix: str) -> str:
    """``name + suffix``, or, when that is longer than :data:`NAME_MAX` bytes, the start of
    ``name`` and a hash of all of it, then ``suffix``: distinct names stay distinct."""
    whole = name + suffix
    if len(os.fsencode(whole)) <= NAME_MAX:
        return whole
    digest = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    room = NAME_MAX - len(os.fsencode(digest + suffix))
    head = os.fsencode(name)[:room]
    for cut in range(len(head), max(0, len(head) - 4), -1):  # not inside a UTF-8 character
        try:
            head[:cut].decode("utf-8")
            head = head[:cut]
            break
        except UnicodeDecodeError:
            continue
    return os.fsdecode(head) + digest + suffix
