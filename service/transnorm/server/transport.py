"""Slow and malformed clients: deadlines on reading a request, and framing errors as 400s.

A worker thread reads a request's headers and body with blocking socket calls, so a client that
trickles bytes holds the thread for as long as it likes. Here every connection socket of the
gunicorn worker (:class:`Worker`, gunicorn's gthread worker with this one change) carries a
deadline, in the spirit of Apache's ``mod_reqtimeout``: the headers must arrive within
``header_timeout`` seconds, extended by one second per ``min_rate`` bytes received; the body
within ``body_timeout`` seconds, likewise extended. A client too slow is answered 408 and the
thread is free again. Framing errors in a chunked body (gunicorn raises them while the
application reads) become 400s, and their text — which can hold document text — is not logged.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger("transnorm.http")


class DeadlineExceeded(Exception):
    """The client did not send the request (headers or body) fast enough."""


class DeadlineSocket:
    """A connection socket whose reads fail once a deadline has passed.

    The deadline starts with :meth:`expect` and moves forward by one second per ``min_rate``
    bytes received, up to ``max_extension`` seconds beyond the base timeout.
    """

    def __init__(self, sock: socket.socket, min_rate: int) -> None:
        self._sock = sock
        self._min_rate = max(1, min_rate)
        self._deadline: float | None = None
        self._limit = 0.0
        #: The gunicorn request being served on this connection (see :func:`close_after`).
        self.request: Any = None

    def expect(self, timeout: float | None, max_extension: float = 0.0) -> None:
        """Reads must complete within ``timeout`` seconds (None: no deadline)."""
        now = time.monotonic()
        self._deadline = None if timeout is None else now + timeout
        self._limit = 0.0 if timeout is None else now + timeout + max_extension

    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("the request did not arrive in time")
        return remaining

    def _received(self, count: int) -> None:
        if self._deadline is not None and count:
            self._deadline = min(self._limit, self._deadline + count / self._min_rate)

    def recv(self, size: int, *flags: int) -> bytes:
        remaining = self._remaining()
        if remaining is None:
            return self._sock.recv(size, *flags)
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(size, *flags)
        except TimeoutError:
            raise DeadlineExceeded("the request did not arrive in time") from None
        finally:
            self._sock.settimeout(None)
        self._received(len(data))
        return data

    def recv_into(self, buffer: Any, size: int = 0, *flags: int) -> int:
        data = self.recv(size or len(buffer), *flags)
        buffer[: len(data)] = data
        return len(data)

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:  # send, sendall, fileno, close, ... as the socket
        return getattr(self._sock, name)


class Worker(ThreadWorker):
    """gunicorn's threaded worker, with deadlines on reading requests (settings from the
    environment: ``TRANSNORM_HEADER_TIMEOUT``, ``_BODY_TIMEOUT``, ``_MIN_RATE``)."""

    def init_process(self) -> None:
        from ..settings import Settings

        settings = Settings.from_env()
        self._header_timeout = settings.service.header_timeout
        self._min_rate = settings.service.min_rate
        self.log.error_log.addFilter(_WithoutRequestText())
        super().init_process()

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, self._min_rate)
        # The headers of the next request on this connection have their own deadline.
        conn.sock.expect(self._header_timeout, max_extension=2 * self._header_timeout)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.sock.request = req
        try:
            return super().handle_request(req, conn)
        finally:
            conn.sock.request = None

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, DeadlineExceeded):
            log.info('{"event": "request timeout", "phase": "headers"}')
            with contextlib.suppress(OSError):
                client.sendall(
                    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: 35\r\n\r\nthe request did not arrive in time\n"
                )
            return
        super().handle_error(req, client, addr, exc)


class _WithoutRequestText(logging.Filter):
    """gunicorn logs a malformed request with the offending bytes ("Invalid request from ip=...:
    <error>"); those bytes can be document text, which never goes to a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Invalid request from ip="):
            record.msg = message.split(":", 1)[0] + ": malformed request (details withheld)"
            record.args = ()
        return True


def start_body(environ: dict[str, Any], timeout: float, content_length: int | None) -> None:
    """The body of this request must arrive within ``timeout`` seconds, extended by its rate."""
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, DeadlineSocket):
        extension = 0.0 if content_length is None else content_length / sock._min_rate
        sock.expect(timeout, max_extension=max(extension, timeout))


def end_body(environ: dict[str, Any]) -> None:
    """The body has been read: no deadline while the request is served and answered."""
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, DeadlineSocket):
        sock.expect(None)


def close_after(environ: dict[str, Any]) -> None:
    """Answer this request with ``Connection: close`` and close the connection after it (gunicorn
    ignores a Connection header set by the application)."""
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, DeadlineSocket) and sock.request is not None:
        sock.request.must_close = True


def framing_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a malformed body raises while it is read (gunicorn's, werkzeug's)."""
    from werkzeug.exceptions import ClientDisconnected

    try:
        from gunicorn.http.errors import NoMoreData, ParseException
    except ImportError:  # pragma: no cover - gunicorn is a dependency
        return (ClientDisconnected,)
    return (ParseException, NoMoreData, ClientDisconnected)
