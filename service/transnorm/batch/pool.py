"""Local worker processes: each takes chunks of inputs and runs :class:`~transnorm.batch.process.Worker`
on them -- reading, planning, assembling and writing itself -- while its translate strategy sends
the chunk's sentences to this process, which translates what every worker is waiting for in one
call. Workers never load a model.

A worker dies with this process (Linux's parent-death signal, and end-of-file on its pipe), so
a killed run leaves no orphan holding the output folder's lock. A worker that dies fails only
the inputs of its chunk (the rerun redoes them), and another takes its place.

Kept our own rather than ``multiprocessing.Pool``/``concurrent.futures``: a worker here asks the
main process for translations in the middle of a task, which those pools cannot serve.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from ..errors import ModelError
from ..pipeline import Pipeline
from ..translate import Request, Result, Translate, translate_together
from .inputs import Work
from .job import Job
from .process import Worker
from .report import Record
from .state import RunState

MAX_CHUNK = 32


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
        return payload  # type: ignore[no-any-return]


def _die_with_parent(parent: int | None) -> None:
    """Ask Linux to kill this process when its parent dies (and check the parent is still here).
    ``parent`` is None for a worker the forkserver started: its parent is the forkserver, which
    ends with the main process."""
    # Not Linux: end-of-file on the pipe still ends the worker.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _serve(
    job: Job, state: RunState, conn: Connection, pipeline: Pipeline | None, parent: int | None
) -> None:
    _die_with_parent(parent)
    # Ctrl-C reaches the whole process group: the main process decides what happens, and stops
    # a worker with SIGTERM, which ends it at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    worker = Worker(job, pipeline or Pipeline(job.settings), _RemoteTranslate(conn), state)
    try:
        conn.send(("ready", []))
        while True:
            kind, works = conn.recv()
            if kind == "stop":
                return
            conn.send(("done", worker.process(works)))
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the main process is gone or stopping


@dataclass
class _Process:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    chunk: list[Work] = field(default_factory=list)


class LocalPool:
    """``size`` worker processes that each take chunks of inputs and ask this process to translate."""

    def __init__(self, job: Job, state: RunState, pipeline: Pipeline, size: int) -> None:
        self.job, self.state, self.pipeline, self.size = job, state, pipeline, size
        self.workers: list[_Process] = []

    def _start(self) -> None:
        # Forked workers inherit the loaded langid model; once a CTranslate2 model is loaded here
        # its threads would not survive a fork, so later workers start from a clean forkserver.
        methods = multiprocessing.get_all_start_methods()
        fork = "fork" in methods and not self.pipeline.engine.loaded
        context = multiprocessing.get_context(
            "fork" if fork else "forkserver" if "forkserver" in methods else "spawn"
        )
        parent, child = context.Pipe()
        pipeline, parent_pid = (self.pipeline, os.getpid()) if fork else (None, None)
        process = context.Process(
            target=_serve, args=(self.job, self.state, child, pipeline, parent_pid), daemon=True
        )
        process.start()
        child.close()
        self.workers.append(_Process(process, parent))

    def run(self, works: list[Work], translate: Translate) -> Iterator[Record]:
        """A record per input as chunks finish; a dead worker's inputs fail, the others go on."""
        size = max(1, min(MAX_CHUNK, math.ceil(len(works) / (2 * self.size)) if works else 1))
        chunks = [works[i : i + size] for i in range(0, len(works), size)]
        chunks.reverse()
        for _ in range(min(self.size, len(chunks))):
            self._start()
        while self.workers:
            ready = wait([w.conn for w in self.workers])
            asking: list[tuple[_Process, list[Request]]] = []
            for worker in [w for w in self.workers if w.conn in ready]:
                try:
                    kind, payload = worker.conn.recv()
                    if kind == "translate":
                        asking.append((worker, payload))
                        continue
                    yield from payload  # the records of a finished chunk ("done"), or none ("ready")
                    worker.chunk = chunks.pop() if chunks else []
                    worker.conn.send(("chunk", worker.chunk) if worker.chunk else ("stop", []))
                except (EOFError, OSError):
                    yield from self._died(worker, bool(chunks))
                    continue
                if not worker.chunk:
                    self._retire(worker)
            yield from self._answer(asking, translate, bool(chunks))

    def _answer(
        self, asking: list[tuple[_Process, list[Request]]], translate: Translate, more: bool
    ) -> Iterator[Record]:
        """Translate what the asking workers sent, together, and send each its results."""
        if not asking:
            return
        try:
            answers: list[tuple[str, Any]] = [
                ("results", r) for r in translate_together(translate, [a for _, a in asking])
            ]
        except ModelError as exc:
            answers = [("error", str(exc))] * len(asking)
        for (worker, _), answer in zip(asking, answers, strict=True):
            try:
                worker.conn.send(answer)
            except OSError:
                yield from self._died(worker, more)

    def describe(self) -> dict[str, Any]:
        return {"name": "local", "workers": self.size}

    def _died(self, worker: _Process, restart: bool) -> Iterator[Record]:
        worker.process.join(5)
        code = worker.process.exitcode
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self.workers.remove(worker)
        worker.conn.close()
        for work in worker.chunk:
            yield Record(
                file=work.name,
                status="failed",
                error=f"the worker process died ({why}); run again to redo it",
            )
        if restart:
            self._start()

    def _retire(self, worker: _Process) -> None:
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
