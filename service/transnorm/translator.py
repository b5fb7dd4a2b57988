"""The translation process: the one process of a host that holds the loaded packages.

HTTP workers, batch workers, the JSON-lines stream and the library (when
``TRANSNORM_TRANSLATOR_SOCKET`` names it) plan and assemble their documents themselves and send
the sentences to translate here; so a package is in memory once per host however many processes
serve, and the sentences of every process waiting at a moment share one model call::

    worker: plan ─ Requests ─▶ Unix socket ─▶ translation process ─▶ SharedTranslator ─▶ engine
    worker: assemble ◀─ Results ─────────────────────────┘   (packages loaded on demand, LRU-bounded)

* :class:`TranslatorServer` runs in the translation process: a thread per connection (one per
  client process) hands each call to one :class:`~transnorm.translate.SharedTranslator` over the
  engine and writes the results back as they come (calls of one connection may overlap).
* :class:`TranslatorClient` *is* a translate strategy (``Pipeline.pipe(items, translate=client)``):
  one connection per client process, shared by its threads (or greenlets), each call a frame with
  an id. When the process dies with sentences in flight, or does not answer within
  ``translator_timeout``, those sentences come back as :class:`~transnorm.translate.Failure`
  (``untranslated``, ``reason: engine-error``): never a hung request.
* :class:`TranslatorProcess` starts the process (``python -m transnorm.translator serve``, or a fork
  carrying a given engine), restarts it when it dies and stops it: the gunicorn master (see
  ``server/host.py``) and each batch run own one.

Mechanism, chosen by measurement (``transnorm bench --only ipc``; the numbers in docs/models.md):
length-prefixed pickle frames over a Unix stream socket. A round trip costs tens of microseconds,
a sentence's translation tens of milliseconds or more, so the transport is never the bottleneck;
shared-memory queues would save microseconds but wait in ``sem_wait`` and
``multiprocessing.connection`` reads with ``os.read``: both block a gevent worker's event loop,
while a stdlib socket, monkey-patched, yields. One threaded process instead (all workers in one
process) measured slower: planning and assembling are Python, under one GIL. Frames carry only
tuples of strings and numbers, and the unpickler refuses every class; the socket is private to
its user (mode 0600, in a 0700 folder when transnorm picks it) and the peer's uid is checked.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import itertools
import logging
import os
import pickle
import queue
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from .errors import ModelError, TransnormError
from .settings import Settings
from .translate import Engine, Failure, Request, Result, SharedTranslator, Translation, translate_requests

log = logging.getLogger("transnorm.translator")

_HEADER = struct.Struct("!I")
#: How long a write may stall before the peer is taken for hung, and how often an idle reader wakes.
_IO_TIMEOUT = 10.0
#: How long a starting translation process may take to listen.
START_TIMEOUT = 120.0


class TranslatorError(ModelError):
    """The translation process cannot be started or reached."""


# -- the wire: frames of plain tuples --------------------------------------------------------------


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused: {module}.{name} (frames carry plain values only)")


def _send(sock: socket.socket, message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(payload)))
    sock.sendall(payload)


class _Frames:
    """Reads frames from a socket; a partial frame survives a timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def read(self) -> Any:
        """The next message; ``EOFError`` when the peer has closed."""
        while True:
            if len(self.buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self.buffer)
                end = _HEADER.size + size
                if len(self.buffer) >= end:
                    payload = bytes(self.buffer[_HEADER.size : end])
                    del self.buffer[:end]
                    return _PlainUnpickler(io.BytesIO(payload)).load()
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk


def _encode_requests(requests: Sequence[Request]) -> list[tuple[Any, ...]]:
    return [(r.lang, r.text, r.target, r.beam_size, r.alternatives) for r in requests]


def _decode_requests(rows: Any) -> list[Request]:
    out = []
    for lang, text, target, beam, alternatives in rows:
        if not all(isinstance(v, str) for v in (lang, text, target)):
            raise ValueError("a request's language, text and target are strings")
        if not (beam is None or isinstance(beam, int)) or not isinstance(alternatives, int):
            raise ValueError("a request's beam size and alternatives are integers")
        out.append(Request(lang, text, target, beam, alternatives))
    return out


def _encode_results(results: Sequence[Result]) -> list[tuple[Any, ...]]:
    return [
        ("t", r.text, r.score, r.tokens, r.alternatives, r.cached)
        if isinstance(r, Translation)
        else ("f", r.error, r.model)
        for r in results
    ]


def _decode_results(rows: Any) -> list[Result]:
    return [Translation(*row[1:]) if row[0] == "t" else Failure(*row[1:]) for row in rows]


def _peer(sock: socket.socket) -> tuple[int | None, int | None]:
    """The (pid, uid) of the process at the other end (Linux), else (None, None)."""
    try:
        pid, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except (AttributeError, OSError):
        return None, None
    return pid, uid


# -- the server ---------------------------------------------------------------------------------


class TranslatorServer:
    """Translates for every connected process through one :class:`SharedTranslator`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shared = SharedTranslator(self._translate)
        self.started = time.time()
        self._lock = threading.Lock()
        self._preload: dict[str, Any] = {"packages": [], "done": False, "failed": {}}

    def _translate(self, requests: Sequence[Request]) -> list[Result]:
        # A package that cannot load fails only the callers that need it (Failure(model=True)).
        return translate_requests(self.engine, requests, model_errors=True)

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
                    self._preload["failed"][packages[pair].package] = f"{type(exc).__name__}: {exc}"
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
        settings = getattr(self.engine, "settings", None)
        return {
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3),
            "packages_installed": len(self.engine.packages()),
            "max_loaded_models": getattr(settings, "max_loaded_models", 0),
            "max_models_memory": getattr(settings, "max_models_memory", 0),
            "preload": preload,
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
        from .engine import ArgosEngine

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


# -- the client ---------------------------------------------------------------------------------


class _Unavailable(Exception):
    """The call could not be answered; the message says why."""


class _NotSent(Exception):
    """The connection was dead before the call went out (safe to try a new one)."""


class _Connection:
    """One connection to the translation process, shared by the threads of a client process: a
    call is a frame with an id; a reader thread hands each reply to its caller."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.pending: dict[int, Future[tuple[str, Any]]] = {}
        self.ids = itertools.count()
        self.dead: str | None = None
        threading.Thread(target=self._read, name="transnorm-translator-client", daemon=True).start()

    def call(self, kind: str, payload: Any) -> Future[tuple[str, Any]]:
        with self.lock:
            if self.dead is not None:
                raise _NotSent(self.dead)
            call = next(self.ids)
            future: Future[tuple[str, Any]] = Future()
            self.pending[call] = future
            try:
                _send(self.sock, (call, kind, payload))
            except OSError as exc:
                del self.pending[call]
                self._die(f"the translation process is gone ({exc})")
                raise _NotSent(str(exc)) from None
        return future

    def forget(self, future: Future[tuple[str, Any]]) -> None:
        with self.lock:
            for call, pending in list(self.pending.items()):
                if pending is future:
                    del self.pending[call]

    def _read(self) -> None:
        frames = _Frames(self.sock)
        try:
            while True:
                try:
                    call, kind, payload = frames.read()
                except TimeoutError:
                    continue  # idle: the partial frame, if any, is kept
                with self.lock:
                    future = self.pending.pop(call, None)
                if future is not None:
                    future.set_result((kind, payload))
        except (EOFError, OSError, TypeError, ValueError, pickle.UnpicklingError) as exc:
            ended = isinstance(exc, (EOFError, ConnectionResetError))
            reason = "ended" if ended else f"failed ({exc})"
            with self.lock:
                self._die(f"the translation process {reason} with these sentences in flight")

    def _die(self, reason: str) -> None:
        """Mark the connection dead and fail every call waiting on it (under ``lock``)."""
        if self.dead is None:
            self.dead = reason
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        for future in self.pending.values():
            future.set_exception(_Unavailable(reason))
        self.pending.clear()


class TranslatorClient:
    """A translate strategy that sends the sentences to the translation process at ``path``.

    Safe to share between threads (and greenlets: only stdlib sockets, which gevent's
    monkey-patching makes cooperative). A call waits at most ``timeout`` seconds, reconnecting
    while the process restarts; sentences it cannot get answered come back as
    :class:`~transnorm.translate.Failure`. A package that cannot be loaded raises
    :class:`~transnorm.errors.ModelError`, as the engine itself does.
    """

    def __init__(self, path: str | Path, timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: _Connection | None = None
        self._pid = os.getpid()

    @classmethod
    def of(cls, settings: Settings) -> TranslatorClient:
        """The client of ``settings.pipeline.translator_socket``."""
        if settings.pipeline.translator_socket is None:
            raise TranslatorError("no translation process is configured (TRANSNORM_TRANSLATOR_SOCKET)")
        return cls(settings.pipeline.translator_socket, settings.pipeline.translator_timeout)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["timeout"])  # type: ignore[misc]

    def __call__(self, requests: Sequence[Request]) -> list[Result]:
        if not requests:
            return []
        try:
            kind, payload = self._call("translate", _encode_requests(requests))
        except _Unavailable as exc:
            return [Failure(str(exc))] * len(requests)
        if kind != "ok":
            return [Failure(f"translation process: {payload}")] * len(requests)
        results = _decode_results(payload)
        model = next((r for r in results if isinstance(r, Failure) and r.model), None)
        if model is not None:
            raise ModelError(model.error)
        return results

    def status(self, timeout: float | None = None) -> dict[str, Any]:
        """The translation process's :meth:`TranslatorServer.status`; raises
        :class:`TranslatorError` when it does not answer within ``timeout`` seconds."""
        try:
            kind, payload = self._call("status", None, timeout)
        except _Unavailable as exc:
            raise TranslatorError(str(exc)) from None
        if kind != "ok":
            raise TranslatorError(str(payload))
        return payload  # type: ignore[no-any-return]

    def _call(self, kind: str, payload: Any, timeout: float | None = None) -> tuple[str, Any]:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            conn = self._connection(deadline)
            try:
                future = conn.call(kind, payload)
            except _NotSent:
                self._drop(conn)
                continue
            try:
                return future.result(max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                conn.forget(future)
                raise _Unavailable(
                    f"the translation process did not answer within {self.timeout:g} s "
                    "(TRANSNORM_TRANSLATOR_TIMEOUT)"
                ) from None

    def _connection(self, deadline: float) -> _Connection:
        """The open connection, or a new one (retried while the process is restarting)."""
        pause = 0.02
        while True:
            with self._lock:
                if self._pid != os.getpid():  # a forked copy: the parent's connection is not ours
                    self._conn, self._pid = None, os.getpid()
                if self._conn is not None and self._conn.dead is None:
                    return self._conn
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(min(_IO_TIMEOUT, max(0.05, deadline - time.monotonic())))
                try:
                    sock.connect(str(self.path))
                except OSError as exc:
                    sock.close()
                    error = exc
                else:
                    sock.settimeout(_IO_TIMEOUT)
                    self._conn = _Connection(sock)
                    return self._conn
            if time.monotonic() + pause > deadline:
                raise _Unavailable(
                    f"no translation process answers at {self.path} ({error.strerror or error})"
                )
            time.sleep(pause)
            pause = min(0.5, pause * 2)

    def _drop(self, conn: _Connection) -> None:
        with self._lock:
            if self._conn is conn:
                self._conn = None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with conn.lock:
                conn._die("closed")


# -- the owner: start, restart, stop ------------------------------------------------------------


class TranslatorProcess:
    """Starts the translation process at ``path`` (None: a private folder of its own), restarts
    it when it dies, stops it.

    With ``engine`` (one with no model loaded), the process is a fork of this one serving that
    engine; else a fresh ``python -m transnorm.translator serve`` with ``settings``. The process
    owns every core (``Settings.on_cores``) unless the threads are set explicitly.
    """

    def __init__(
        self, settings: Settings, path: str | Path | None = None, engine: Engine | None = None
    ) -> None:
        self.settings = settings.on_cores(os.cpu_count() or 1)
        self._folder: Path | None = None
        if path is None:
            self._folder = Path(tempfile.mkdtemp(prefix="transnorm-translator-"))
            path = self._folder / "socket"
        self.path = Path(path)
        self.engine = engine
        self.pid: int | None = None
        self.restarts = 0
        self._popen: subprocess.Popen[bytes] | None = None
        self._notice: int | None = None  # read end of the ready pipe: end-of-file when it dies
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started = 0.0

    def start(self, timeout: float = START_TIMEOUT) -> TranslatorProcess:
        """Start it and return once it listens; raises :class:`TranslatorError` if it cannot."""
        if reachable(self.path):
            raise TranslatorError(f"a translation process already listens at {self.path}")
        read, write = os.pipe()
        try:
            if self.engine is not None:
                self.pid = self._fork(read, write)
            else:
                self._popen = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "transnorm.translator",
                        "serve",
                        "--socket",
                        str(self.path),
                        "--ready-fd",
                        str(write),
                    ],
                    pass_fds=(write,),
                    stdin=subprocess.DEVNULL,
                    env={
                        **os.environ,
                        **self.settings.to_env(),
                        "OMP_NUM_THREADS": str(max(1, self.settings.pipeline.intra_threads)),
                    },
                )
                self.pid = self._popen.pid
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self._notice = read
        self._started = time.monotonic()
        ready, _, _ = select.select([read], [], [], timeout)
        line = os.read(read, 64) if ready else b""
        if not line.startswith(b"ready"):
            self._kill()
            why = "did not start in time" if not ready else "ended while starting (see its log above)"
            raise TranslatorError(f"the translation process at {self.path} {why}")
        return self

    def _fork(self, read: int, write: int) -> int:
        pid = os.fork()
        if pid:
            return pid
        try:  # the child: nothing of the parent's but the engine and the ready pipe
            os.close(read)
            for fd in _open_fds() - {0, 1, 2, write}:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for sig in (signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            serve(self.settings, self.path, write, self.engine)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                print(f"transnorm translator: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        finally:
            os._exit(1)
        return 0  # not reached

    @property
    def sentinel(self) -> int:
        """A file descriptor that becomes readable (end-of-file) when the process has ended."""
        assert self._notice is not None, "not started"
        return self._notice

    def alive(self) -> bool:
        if self._notice is None:
            return False
        ready, _, _ = select.select([self._notice], [], [], 0)
        return not ready

    def restart_if_dead(self) -> bool:
        """Restart the process if it has ended; returns whether it did. Raises
        :class:`TranslatorError` if it cannot be restarted."""
        if self.alive() or self._stopping.is_set():
            return False
        code = self._reap()
        log.warning("transnorm: the translation process (pid %s) ended (%s); restarting it", self.pid, code)
        self.restarts += 1
        self.start()
        return True

    def watch(self) -> TranslatorProcess:
        """Restart the process whenever it dies, from a thread of this process, until :meth:`stop`."""

        def run() -> None:
            pause = 0.0
            while not self._stopping.is_set():
                notice = self._notice
                if notice is not None:
                    select.select([notice], [], [])
                if self._stopping.wait(pause):
                    return
                # A process that dies soon after starting is restarted ever more slowly.
                pause = 0.0 if time.monotonic() - self._started > 30 else min(30.0, max(0.1, pause * 2))
                try:
                    self.restart_if_dead()
                except TranslatorError as exc:
                    log.error("transnorm: %s; trying again", exc)

        self._watcher = threading.Thread(target=run, name="transnorm-translator-watch", daemon=True)
        self._watcher.start()
        return self

    def _reap(self) -> str:
        if self._notice is not None:
            os.close(self._notice)
            self._notice = None
        if self.pid is None:
            return "not started"
        try:
            _, raw = os.waitpid(self.pid, 0)
        except ChildProcessError:  # reaped already (a gunicorn master reaps every child)
            return "exit status unknown"
        status = os.waitstatus_to_exitcode(raw)
        if self._popen is not None:
            self._popen.returncode = status
        return f"signal {-status}" if status < 0 else f"exit code {status}"

    def _kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and remove the folder made for it."""
        self._stopping.set()
        if self.pid is not None and self._notice is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            ready, _, _ = select.select([self._notice], [], [], timeout)
            if not ready:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        elif self.path.is_socket():
            with contextlib.suppress(OSError):
                self.path.unlink()


def _open_fds() -> set[int]:
    try:
        return {int(name) for name in os.listdir("/proc/self/fd")}
    except OSError:
        return set(range(3, 256))


def translate_strategy(settings: Settings) -> Callable[[Sequence[Request]], list[Result]] | None:
    """The client of the host's translation process when ``translator_socket`` names one, else None."""
    if settings.pipeline.translator_socket is None:
        return None
    return TranslatorClient.of(settings)


# -- python -m transnorm.translator ----------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m transnorm.translator [--socket PATH]``: run the host's translation process in
    the foreground (restarted when it dies) until SIGTERM or Ctrl-C. ``serve`` is the process
    itself (what the owner starts)."""
    parser = argparse.ArgumentParser(prog="python -m transnorm.translator", description=main.__doc__)
    parser.add_argument("mode", nargs="?", choices=("host", "serve"), default="host")
    parser.add_argument("--socket", type=Path, help="its Unix socket (default: TRANSNORM_TRANSLATOR_SOCKET)")
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    path = args.socket or settings.pipeline.translator_socket
    if path is None:
        parser.error("give --socket or set TRANSNORM_TRANSLATOR_SOCKET")
    try:
        if args.mode == "serve":
            serve(settings, path, args.ready_fd)
            return 0
        owner = TranslatorProcess(settings, path).start()
    except TransnormError as exc:
        print(f"transnorm translator: {exc}", file=sys.stderr)
        return 4
    print(f"transnorm translator: listening at {path} (pid {owner.pid})", file=sys.stderr, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    owner.watch()
    stop.wait()
    owner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
