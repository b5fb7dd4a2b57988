"""The translation process itself: one :class:`~transnorm.translate.SharedTranslator` over the engine
for every connected client process; listening, preloading, dying with its owner.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import queue
import signal
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..settings import Settings
from ..translate import Engine, Failure, Request, Result, SharedTranslator, translate_requests
from .wire import (
    TranslatorError,
    _decode_requests,
    _encode_results,
    _Frames,
    _peer,
    _send,
)


class TranslatorServer:
    """Translates for every connected process through one :class:`SharedTranslator`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shared = SharedTranslator(self._translate)
        self.started = time.time()
        self._lock = threading.Lock()
        self._preload: dict[str, Any] = {"packages": [], "done": False, "failed": {}}
        #: Packages that failed to load when a request needed them, and why.
        self._unavailable: dict[str, str] = {}

    def _translate(self, requests: Sequence[Request]) -> list[Result]:
        # A package that cannot load fails only the callers that need it (Failure(model=True)).
        results = translate_requests(self.engine, requests, model_errors=True)
        self._note_unavailable(requests, results)
        return results

    def _note_unavailable(self, requests: Sequence[Request], results: Sequence[Result]) -> None:
        """Keep for :meth:`status` the packages that could not be loaded (and forget those that now were)."""
        failed = {
            (r.lang, r.target): f.error
            for r, f in zip(requests, results, strict=True)
            if isinstance(f, Failure) and f.model
        }
        if not failed and not self._unavailable:
            return
        packages = self.engine.packages()

        def name(pair: tuple[str, str]) -> str:
            return packages[pair].package if pair in packages else f"{pair[0]}→{pair[1]}"

        with self._lock:
            for pair in {(r.lang, r.target) for r in requests} - failed.keys():
                self._unavailable.pop(name(pair), None)
            for pair, error in failed.items():
                self._unavailable[name(pair)] = error

    def preload(self) -> None:
        """Load the ``preload`` packages, one by one (each failure is kept for :meth:`status`)."""
        pairs_of = getattr(self.engine, "preload_pairs", None)
        try:
            pairs = pairs_of() if pairs_of else []
        except ModelError as exc:
            with self._lock:
                self._preload.update(done=True, failed={"preload": str(exc)})
            return
        packages = self.engine.packages()
        with self._lock:
            self._preload["packages"] = [packages[pair].package for pair in pairs]
        for pair in pairs:
            try:
                self.engine.load([pair[0]])  # type: ignore[call-arg]
            except Exception as exc:
                with self._lock:
                    error = f"{type(exc).__name__}: {exc}"
                    self._preload["failed"][packages[pair].package] = error
                    self._unavailable[packages[pair].package] = error
        if pairs_of is None:
            self.engine.load()
        with self._lock:
            self._preload["done"] = True

    def status(self) -> dict[str, Any]:
        """What is loaded, the preload's progress, the engine's and the batches' counters."""
        stats = asdict(self.engine.stats())
        stats["loaded"] = list(stats["loaded"])
        with self._lock:
            preload = {**self._preload, "failed": dict(self._preload["failed"])}
            unavailable = dict(self._unavailable)
        settings = getattr(self.engine, "settings", None)
        return {
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3),
            "packages_installed": len(self.engine.packages()),
            "max_loaded_models": getattr(settings, "max_loaded_models", 0),
            "max_models_memory": getattr(settings, "max_models_memory", 0),
            "preload": preload,
            "unavailable": unavailable,
            "engine": stats,
            "batches": asdict(self.shared.stats()),
        }

    def serve(self, listener: socket.socket) -> None:
        """Accept connections until the process ends, a thread for each."""
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        pid, uid = _peer(conn)
        if uid is not None and uid not in (os.getuid(), 0):
            conn.close()
            return
        outbox: queue.SimpleQueue[tuple[int, str, Any] | None] = queue.SimpleQueue()
        threading.Thread(target=self._writer, args=(conn, outbox), daemon=True).start()
        frames = _Frames(conn)
        try:
            while True:
                call, kind, payload = frames.read()
                if kind == "translate":
                    try:
                        requests = _decode_requests(payload)
                    except (TypeError, ValueError) as exc:
                        outbox.put((call, "error", f"malformed call: {exc}"))
                        continue
                    future = self.shared.submit(requests, origin=pid)
                    future.add_done_callback(partial(_reply, outbox, call))
                elif kind == "status":
                    outbox.put((call, "ok", self.status()))
                else:
                    outbox.put((call, "error", f"unknown call {kind!r}"))
        except (EOFError, OSError, TypeError, ValueError, pickle.UnpicklingError):
            pass  # the client went away (or spoke nonsense): its connection ends
        finally:
            outbox.put(None)

    @staticmethod
    def _writer(conn: socket.socket, outbox: queue.SimpleQueue[tuple[int, str, Any] | None]) -> None:
        """Writes a connection's replies, so that a client slow to read holds up only itself."""
        conn.settimeout(None)
        try:
            while (reply := outbox.get()) is not None:
                _send(conn, reply)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def _reply(outbox: queue.SimpleQueue[Any], call: int, future: Future[list[Result]]) -> None:
    try:
        outbox.put((call, "ok", _encode_results(future.result())))
    except Exception as exc:
        outbox.put((call, "error", f"{type(exc).__name__}: {exc}"))


def listen(path: Path) -> socket.socket:
    """A listening Unix socket at ``path``, readable and writable by this user only. A stale
    socket file (nothing listening) is replaced; a live one is an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_socket() or path.exists():
        if reachable(path):
            raise TranslatorError(f"a translation process already listens at {path}")
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise TranslatorError(f"cannot listen at {path}: {exc.strerror or exc}") from None
    finally:
        os.umask(umask)
    sock.listen(256)
    return sock


def reachable(path: str | Path, timeout: float = 1.0) -> bool:
    """Whether a process accepts connections at ``path``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def serve(settings: Settings, path: Path, ready_fd: int | None = None, engine: Engine | None = None) -> None:
    """Be the translation process: listen at ``path``, say so on ``ready_fd`` (whose other end
    sees end-of-file when this process ends), preload, and translate until killed."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the owner decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if engine is None:
        from ..engine import ArgosEngine

        engine = ArgosEngine(settings.pipeline)
    server = TranslatorServer(engine)
    listener = listen(path)
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
    threading.Thread(target=server.preload, name="transnorm-preload", daemon=True).start()
    server.serve(listener)


def _die_with_parent() -> None:
    """Ask Linux to end this process when the one that started it ends (elsewhere: end-of-file
    on the ready pipe tells the owner, and the owner stops it)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
