"""The client side: :class:`TranslatorClient` is a translate strategy that sends a process's sentences to
the translation process over one shared connection; a dead or silent process fails them in place.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..settings import Settings
from ..translate import Failure, Request, Result
from .wire import (
    _IO_TIMEOUT,
    TranslatorError,
    _decode_results,
    _encode_requests,
    _Frames,
    _send,
)


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
        return self.translate(requests)

    def translate(self, requests: Sequence[Request], model_errors: bool = False) -> list[Result]:
        """The results of ``requests``; with ``model_errors`` a package that cannot be loaded is
        a ``Failure(model=True)`` for its sentences only, not a :class:`ModelError`."""
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
        if model is not None and not model_errors:
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


def translate_strategy(settings: Settings) -> Callable[[Sequence[Request]], list[Result]] | None:
    """The client of the host's translation process when ``translator_socket`` names one, else None."""
    if settings.pipeline.translator_socket is None:
        return None
    return TranslatorClient.of(settings)
