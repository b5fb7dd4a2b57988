"""Local worker processes: each takes chunks of inputs and runs :class:`~transnorm.batch.process.Worker`
on them -- reading, planning, assembling and writing itself -- while its translate strategy sends
the chunk's sentences to the run's translation process (:mod:`transnorm.translator`), which
translates what every worker is waiting for in one call. This process only hands out chunks and
collects records; neither it nor the workers load a model.

The translation process is the host's when ``TRANSNORM_TRANSLATOR_SOCKET`` names one, else one
this run starts (a fork serving the run's engine) and restarts when it dies: the sentences it
had in flight are left untranslated (``engine-error``) in their documents, and the run goes on.

A worker dies with this process (Linux's parent-death signal, and end-of-file on its pipe), so
a killed run leaves no orphan holding the output folder's lock. A worker that dies fails only
the inputs of its chunk (the rerun redoes them), and another takes its place.

Kept our own rather than ``multiprocessing.Pool``/``concurrent.futures``: a worker that dies
must fail only its own chunk, and a new one take its place, which those pools do not do.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from ..pipeline import Pipeline
from ..translate import Translate
from ..translator import TranslatorClient, TranslatorError, TranslatorProcess, reachable
from .inputs import Work
from .job import Job
from .process import Worker
from .report import Record
from .state import RunState

MAX_CHUNK = 32
#: The name a worker process goes by in ``ps``/``top`` (``/proc/PID/comm``).
WORKER_NAME = b"transnorm-batch"


def _die_with_parent(parent: int | None) -> None:
    """Ask Linux to kill this process when its parent dies (and check that a forked worker's
    parent, ``parent``, is still here; a forkserver's child has the forkserver for parent)."""
    # Not Linux: end-of-file on the pipe still ends the worker.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
        libc.prctl(15, WORKER_NAME)  # 15: PR_SET_NAME, what ps and top show
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _serve(
    job: Job,
    state: RunState,
    conn: Connection,
    pipeline: Pipeline | None,
    parent: int | None,
    translate: Translate,
) -> None:
    _die_with_parent(parent)
    # Ctrl-C reaches the whole process group: the main process decides what happens, and stops
    # a worker with SIGTERM, which ends it at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    worker = Worker(job, pipeline or Pipeline(job.settings), translate, state)
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
    """``size`` worker processes that each take chunks of inputs; the translation process
    translates for all of them."""

    def __init__(self, job: Job, state: RunState, pipeline: Pipeline, size: int) -> None:
        self.job, self.state, self.pipeline, self.size = job, state, pipeline, size
        self.workers: list[_Process] = []
        #: The run's own translation process (None: the host's is used).
        self.translator: TranslatorProcess | None = None
        self.translate: TranslatorClient | None = None

    def _translation(self) -> TranslatorClient:
        """The client of the host's translation process, or of one started for this run (a fork
        carrying the run's engine, unless that engine has a model loaded: then a fresh one)."""
        settings = self.pipeline.settings
        if settings.pipeline.translator_socket is not None:
            if not reachable(settings.pipeline.translator_socket):
                raise TranslatorError(
                    f"no translation process answers at {settings.pipeline.translator_socket} "
                    "(TRANSNORM_TRANSLATOR_SOCKET): start one (python -m transnorm.translator), or unset it"
                )
            return TranslatorClient.of(settings)
        engine = None if self.pipeline.engine.loaded else self.pipeline.engine
        self.translator = TranslatorProcess(settings, engine=engine).start()
        return TranslatorClient(self.translator.path, settings.pipeline.translator_timeout)

    def _start(self) -> None:
        # Forked workers inherit the loaded langid model; once a CTranslate2 model is loaded here
        # its threads would not survive a fork, so later workers start from a clean forkserver.
        methods = multiprocessing.get_all_start_methods()
        fork = "fork" in methods and not self.pipeline.engine.loaded
        context = multiprocessing.get_context(
            "fork" if fork else "forkserver" if "forkserver" in methods else "spawn"
        )
        parent, child = context.Pipe()
        pipeline = self.pipeline if fork else None
        process = context.Process(
            target=_serve,
            args=(self.job, self.state, child, pipeline, os.getpid() if fork else None, self.translate),
            daemon=True,
        )
        process.start()
        child.close()
        self.workers.append(_Process(process, parent))

    def run(self, works: list[Work], translate: Translate | None = None) -> Iterator[Record]:
        """A record per input as chunks finish; a dead worker's inputs fail, the others go on
        (``translate`` is unused: the workers send their sentences to the translation process)."""
        size = max(1, min(MAX_CHUNK, math.ceil(len(works) / (2 * self.size)) if works else 1))
        chunks = [works[i : i + size] for i in range(0, len(works), size)]
        chunks.reverse()
        if not chunks:
            return
        self.translate = self._translation()
        for _ in range(min(self.size, len(chunks))):
            self._start()
        while self.workers:
            notice = [self.translator.sentinel] if self.translator else []
            ready = wait([w.conn for w in self.workers] + notice)
            if self.translator and self.translator.sentinel in ready:
                self.translator.restart_if_dead()
            for worker in [w for w in self.workers if w.conn in ready]:
                try:
                    _, records = worker.conn.recv()
                    yield from records  # of a finished chunk ("done"), or none ("ready")
                    worker.chunk = chunks.pop() if chunks else []
                    worker.conn.send(("chunk", worker.chunk) if worker.chunk else ("stop", []))
                except (EOFError, OSError):
                    yield from self._died(worker, bool(chunks))
                    continue
                if not worker.chunk:
                    self._retire(worker)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": "local", "workers": self.size}
        if self.translator is not None and self.translator.restarts:
            out["translation_process_restarts"] = self.translator.restarts
        return out

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
        if self.translate is not None:
            self.translate.close()
        if self.translator is not None:
            self.translator.stop()
