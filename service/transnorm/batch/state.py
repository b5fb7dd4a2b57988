"""The run's own folder in the output folder (``.transnorm-state``): what each input became, so
a rerun redoes only what changed or was lost; this run's temporary files; who ran last.

A batch touches only files it created: every temporary file of a run is made in the run's own
folder here (and renamed into place when whole), so what an interrupted run leaves behind is
removed by removing that folder -- never by a pattern matched over the user's files.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import atomic_write
from .inputs import Work
from .job import STATE_DIR

#: The record of the run in progress, in the state folder.
RUN = "run.json"


@dataclass(frozen=True)
class Holder:
    """A run as recorded in the state folder."""

    pid: int
    started: str = ""

    def __str__(self) -> str:
        return f"pid {self.pid}" + (f", started {self.started}" if self.started else "")


@dataclass(frozen=True)
class RunState:
    """The state folder of an output folder, for the run that holds its lock (picklable: the
    workers write through it)."""

    dir: Path
    #: This run's temporary files (outputs being written, the summary's reserved space).
    tmp: Path

    @classmethod
    def start(cls, out: Path) -> RunState:
        folder = out / STATE_DIR
        tmp = folder / "tmp" / f"{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir(parents=True)
        return cls(folder, tmp)

    @staticmethod
    def holder(out: Path) -> Holder | None:
        """The run recorded in ``out``: the one holding its lock, if any, or one that never finished."""
        try:
            record = json.loads((out / STATE_DIR / RUN).read_text())
            return Holder(int(record["pid"]), str(record.get("started", "")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    @property
    def _runs(self) -> Path:
        return self.tmp.parent

    def remove_leftovers(self) -> int:
        """Remove what earlier runs left in their temporary folders (killed, power cut); the
        number of files removed. Only called with the lock held: no other run is writing."""
        count = 0
        for folder in self._runs.iterdir():
            if folder == self.tmp or not folder.is_dir() or folder.is_symlink():
                continue
            count += sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
        return count

    def take_over(self) -> str | None:
        """Record this run as the folder's current one (only called with the lock held); if a
        previous run's record is still there, that run never finished: say so."""
        previous = self.holder(self.dir.parent)
        started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        atomic_write(
            self.dir / RUN,
            json.dumps({"pid": os.getpid(), "started": started}).encode(),
            durable=False,
            tmp_dir=self.tmp,
        )
        if previous is None:
            return None
        return f"the previous run ({previous}) did not finish; resuming where it stopped"

    def close(self) -> None:
        """The run is over: its record and its temporary folder go."""
        (self.dir / RUN).unlink(missing_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def done(self, work: Work, input_sha256: str, fingerprint: str) -> dict[str, Any] | None:
        """The state a previous run recorded for this exact input, if its outputs are intact."""
        try:
            state = json.loads(work.state.read_text())
            if state.get("input_sha256") != input_sha256 or state.get("fingerprint") != fingerprint:
                return None
            for fmt, path in work.outputs.items():
                if file_sha256(path) != state["outputs"].get(fmt):
                    return None
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            return None
        return state if isinstance(state, dict) else None

    def save(self, work: Work, state: dict[str, Any]) -> None:
        """Record what ``work`` became; written last, it vouches for the outputs before it."""
        try:
            atomic_write(work.state, json.dumps(state).encode(), durable=False, tmp_dir=self.tmp)
        except OSError as exc:
            exc.filename = str(Path(STATE_DIR) / work.state.name)
            raise


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def alive(pid: int) -> bool:
    """Whether a process ``pid`` (other than this one) exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()
