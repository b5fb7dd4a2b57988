"""Connections: an evented gunicorn worker where a slow or idle client holds a greenlet, never a thread.

:class:`Worker` is gunicorn's gevent worker with its request path replaced, and without
monkey-patching: the app keeps real OS threads and real locks. On the event loop, each
connection is a greenlet that

* reads the request's headers within ``header_timeout`` seconds, extended by one second per
  ``min_rate`` bytes up to three times that (Apache ``mod_reqtimeout``'s ``header=10-30,MinRate``);
  a connection that sends nothing at all is closed silently then, an idle keep-alive connection
  after ``keepalive`` seconds;
* answers framing errors itself: 400 (an HTTP/1.1 request without exactly one valid Host, as RFC
  9112 requires, or malformed), 414, 431, 501 (a transfer coding other than chunked);
* reads and buffers the whole body within ``body_timeout`` seconds, extended by one second per
  ``min_rate`` bytes without a cap, with Content-Length or chunked alike (a body past 64 KiB waits
  in a temporary file), as a buffering proxy would;
* hands the complete request to a pool of ``http_threads`` OS threads (gevent's threadpool), which
  run the WSGI app and render the whole response;
* writes the response within ``body_timeout`` seconds, extended by one second per ``min_rate``
  bytes the client has acknowledged (the kernel's count, so buffers it has not read earn
  nothing): a slow reader is cut with a reset, which frees the kernel's buffers too.

``request_timeout`` bounds every request from its first byte to its last: a body or response
still moving then is cut (408 while reading), an app that has not answered gets 503. A worker
holds ``max_connections`` connections; more are answered 503 at once. Under pressure (over half
of them) and after 1,000 requests a connection is not kept alive. On SIGTERM the worker accepts
what is already queued on its listener, closes it, closes idle connections and finishes every
request in flight (``graceful_timeout``). Every response the worker writes itself carries the
app's security headers (:mod:`.headers`).

A body too slow is answered 408 by the worker, in the format of the route it addresses
(LibreTranslate's ``{"error"}`` or problem+json), without taking a thread. The app's side of the
contract: the body is read before the app runs, so :func:`start_body` and :func:`end_body` do
nothing; a malformed chunked body raises its gunicorn error when the app reads it, and the app
answers 400 in its route's format; :func:`close_after` closes the connection after the response.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import http as http_status
import io
import json
import logging
import re
import resource
import socket
import struct
import tempfile
import termios
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import gevent
from gevent import socket as gsocket
from gevent.threadpool import ThreadPool
from gunicorn import http
from gunicorn.http import wsgi
from gunicorn.http.body import ChunkedReader
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    ExpectationFailed,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidHTTPVersion,
    InvalidRequestLine,
    InvalidRequestMethod,
    LimitRequestHeaders,
    LimitRequestLine,
    NoMoreData,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers.ggevent import GeventWorker

from .declare import LIBRETRANSLATE_BLUEPRINT
from .headers import DEFAULT_CSP, SECURITY_HEADERS

log = logging.getLogger("transnorm.http")

#: A request body larger than this waits for its thread in a temporary file, not in memory.
SPOOL_BYTES = 64 * 1024
#: The kernel's send buffer of each connection (Linux doubles it): what a client that stops
#: reading makes the kernel hold — Linux lets it grow to 4 MiB otherwise — and how much of a
#: response is written before the write deadline starts to matter. 2 MB/s at 100 ms round trip.
SEND_BUFFER = 128 * 1024
#: Requests on one keep-alive connection before it closes (nginx's keepalive_requests).
KEEPALIVE_REQUESTS = 1000
#: Above this share of max_connections, a response closes its connection instead of keeping it
#: (lower, it turns every idle keep-alive client that reconnects into a request rate).
KEEPALIVE_PRESSURE = 0.9
#: After an error the worker answers itself, it reads and drops what the client still sends for
#: this long (at most LINGER_BYTES), so that the client reads the answer rather than a reset.
LINGER_SECONDS = 2.0
LINGER_BYTES = 256 * 1024
#: Seconds the app has to word the error for a body that failed at the request's deadline.
ERROR_GRACE = 5.0
#: How often the log sums up the connections cut (one line each would let clients flood it).
EVENT_REPORT_SECONDS = 60.0
#: On shutdown, a connection that has not sent a byte yet gets this long to start its request.
SHUTDOWN_FIRST_BYTE = 2.0
#: The most one recv asks for.
_RECV_BYTES = 64 * 1024
#: Open files kept for other uses than connections (spooled bodies, logs, models).
_SPARE_FILES = 1024

#: The app closes the connection after its response when this environ key is true.
CLOSE_KEY = "transnorm.close_connection"

_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?")


class DeadlineExceeded(Exception):
    """The client did not send (or read) the request or its response in time."""


class Deadline:
    """When a transfer must be done: ``grace`` seconds from now plus one per ``min_rate`` bytes
    moved (at most ``max_extension`` seconds more), never after ``limit`` (``time.monotonic()``)."""

    def __init__(
        self, grace: float, min_rate: int, limit: float | None = None, max_extension: float | None = None
    ) -> None:
        self._base = time.monotonic() + grace
        self._min_rate = max(1, min_rate)
        self._limit = limit
        self._max_extension = max_extension
        self.moved = 0

    def at(self) -> float:
        extension = self.moved / self._min_rate
        if self._max_extension is not None:
            extension = min(extension, self._max_extension)
        at = self._base + extension
        return at if self._limit is None else min(at, self._limit)

    def remaining(self) -> float:
        """Seconds left; raises :class:`DeadlineExceeded` when none are."""
        left = self.at() - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the deadline passed")
        return left


class Connection:
    """A client socket as gunicorn's parser and response use it, with deadlines on both ways.

    ``reading`` bounds every ``recv`` (gunicorn's parser and body readers call it); ``writing``
    bounds ``sendall``, credited with the bytes the client has acknowledged.
    """

    def __init__(self, sock: Any, addr: Any) -> None:
        self.sock = sock
        self.addr = addr
        self.reading: Deadline | None = None
        self.writing: Deadline | None = None
        #: Called with the first bytes of a request (to start its header deadline).
        self.on_first_bytes: Callable[[], None] | None = None
        self.received = 0  # bytes of the current request
        self.sent = 0  # bytes ever sent on this connection
        self._sent_before_response = 0
        #: "new" (nothing received), "idle" (between requests), "busy"
        self.state = "new"

    # -- reading -----------------------------------------------------------------------------

    def recv(self, size: int, *flags: int) -> bytes:
        size = min(size, _RECV_BYTES)  # gunicorn asks for up to 1 MiB: a buffer that size, every time
        deadline = self.reading
        self.sock.settimeout(None if deadline is None else deadline.remaining())
        try:
            data = self.sock.recv(size, *flags)
        except TimeoutError:
            raise DeadlineExceeded("the request did not arrive in time") from None
        if data:
            if self.received == 0 and self.on_first_bytes is not None:
                self.on_first_bytes()
                deadline = self.reading
            self.received += len(data)
            if deadline is not None:
                deadline.moved += len(data)
        return data

    # -- writing -----------------------------------------------------------------------------

    def start_response(self, deadline: Deadline) -> None:
        self.writing = deadline
        self._sent_before_response = self.sent

    def unacknowledged(self) -> int:
        """Bytes sent but not acknowledged by the client (SIOCOUTQ); 0 where unknown."""
        try:
            raw = fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return 0
        return int(struct.unpack("i", raw)[0])

    def sendall(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        deadline = self.writing
        while view.nbytes:
            if deadline is None:
                self.sock.settimeout(None)
                self.sock.sendall(view)
                self.sent += view.nbytes
                return
            # Wake at least once a second to credit what the client has read meanwhile.
            self.sock.settimeout(min(1.0, deadline.remaining()))
            try:
                count = self.sock.send(view[: 1 << 20])
            except TimeoutError:
                count = 0
            view = view[count:]
            self.sent += count
            this_response = self.sent - self._sent_before_response
            deadline.moved = max(0, this_response - self.unacknowledged())

    def flush(self) -> None:
        """Wait until the client has acknowledged the whole response, under the write deadline: a
        response the kernel holds for a client that does not read is not delivered."""
        deadline = self.writing
        if deadline is None:
            return
        pause = 0.01
        while left := self.unacknowledged():
            deadline.moved = max(0, self.sent - self._sent_before_response - left)
            gevent.sleep(min(pause, deadline.remaining()))
            pause = min(1.0, pause * 2)
        deadline.moved = self.sent - self._sent_before_response

    def send(self, data: bytes, *flags: int) -> int:
        self.sendall(data)
        return len(data)

    # -- the rest, as the socket -------------------------------------------------------------

    def settimeout(self, value: float | None) -> None:
        self.sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self.sock.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self.sock.setblocking(flag)

    def fileno(self) -> int:
        return self.sock.fileno()

    def getpeername(self) -> Any:
        return self.sock.getpeername()

    def getsockname(self) -> Any:
        return self.sock.getsockname()

    def reset(self) -> None:
        """Close with a reset: the kernel drops what the client has not read."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def linger_close(self) -> None:
        """Close after reading (and dropping) what the client still sends, for a short while."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
            until = time.monotonic() + LINGER_SECONDS
            drained = 0
            while drained < LINGER_BYTES:
                left = until - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(65536)
                except TimeoutError:
                    break
                if not data:
                    break
                drained += len(data)
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


class FailedBody(io.RawIOBase):
    """A request body that could not be read: reading it raises why."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise self.error

    def read(self, size: int | None = -1) -> bytes:
        raise self.error

    def readline(self, size: int | None = -1) -> bytes:
        raise self.error


class _ClientGone(Exception):
    """The client closed its connection before its request was complete."""


class _Job:
    """Run the WSGI app on one request, in a pool thread, and render its whole response."""

    def __init__(self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> None:
        self.app = app
        self.environ = environ
        self.cancelled = False  # its request's deadline passed while it waited for a thread

    def __call__(self) -> tuple[str, list[tuple[str, str]], list[bytes]] | None:
        if self.cancelled:
            return None
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        result = self.app(self.environ, start_response)
        try:
            chunks.extend(chunk for chunk in result if chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not answer:
            raise RuntimeError("the application did not call start_response")
        return answer[0], answer[1], chunks


#: gunicorn's parse errors → status, title and a detail that quotes nothing the client sent.
_PARSE_ERRORS: tuple[tuple[type[BaseException], int, str], ...] = (
    (LimitRequestLine, 414, "the request line is too long"),
    (LimitRequestHeaders, 431, "the request's header fields are too large or too many"),
    (UnsupportedTransferCoding, 501, "transfer codings other than chunked are not implemented"),
    (ExpectationFailed, 417, "the only expectation supported is 100-continue"),
    (InvalidRequestLine, 400, "malformed request line"),
    (InvalidRequestMethod, 400, "malformed request method"),
    (InvalidHTTPVersion, 400, "unsupported HTTP version"),
    ((InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension), 400, "malformed chunked body"),  # type: ignore[arg-type]
    (ParseException, 400, "malformed request header"),
)


def _parse_error(exc: BaseException) -> tuple[int, str]:
    for kinds, status, detail in _PARSE_ERRORS:
        if isinstance(exc, kinds):
            return status, detail
    return 400, "malformed request"


def error_response(
    status: int, detail: str, style: str = "problem", headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A complete response the worker writes itself: problem+json (or LibreTranslate's
    ``{"error"}``), ``Connection: close``, the app's security headers."""
    title = http_status.HTTPStatus(status).phrase
    if style == "libretranslate":
        body = json.dumps({"error": detail}).encode()
        content_type = "application/json"
    else:
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        body = json.dumps(problem).encode()
        content_type = "application/problem+json"
    lines = [
        f"HTTP/1.1 {status} {title}",
        "Connection: close",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items()),
        f"Content-Security-Policy: {DEFAULT_CSP}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def request_framing_error(req: Any) -> tuple[int, str] | None:
    """What RFC 9112 forbids that gunicorn lets through: an HTTP/1.1 request without exactly one
    valid Host (400), a transfer coding other than chunked, which nothing here decodes (501)."""
    hosts = [value for name, value in req.headers if name == "HOST"]
    if len(hosts) > 1 or (req.version >= (1, 1) and not hosts):
        return 400, "an HTTP/1.1 request needs exactly one Host header field (RFC 9112, section 3.2)"
    if hosts and not _HOST.fullmatch(hosts[0]):
        return 400, "the Host header field is not a valid host"
    for name, value in req.headers:
        if name == "TRANSFER-ENCODING":
            codings = [c.strip(" \t").lower() for c in value.split(",") if c.strip(" \t")]
            if codings != ["chunked"]:
                return 501, "transfer codings other than chunked are not implemented"
    return None


class Worker(GeventWorker):
    """gunicorn's gevent worker, not monkey-patched, with deadlines on every phase of a request
    and the app in a pool of OS threads (settings: ``TRANSNORM_*``; see the module's text)."""

    def patch(self) -> None:
        # No monkey.patch_all(): the app's threads, locks and queues stay real, so CPU work and
        # blocking calls never run on the event loop. Only the listeners become gevent sockets.
        self.sockets = [
            gsocket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach()) for s in self.sockets
        ]

    def init_process(self) -> None:
        from ..settings import Settings

        if self.cfg.is_ssl:  # this worker speaks plain HTTP/1.1: never serve TLS settings silently
            raise RuntimeError("transnorm's worker does not terminate TLS; put a TLS proxy in front")

        self.settings = Settings.from_env()
        self.log.error_log.addFilter(_WithoutRequestText())
        self.connections: dict[Connection, gevent.Greenlet] = {}
        self.refusing = 0
        self.events: Counter[str] = Counter()
        self.cap = self._open_file_limit(self.settings.service.max_connections)
        super().init_process()

    def _open_file_limit(self, wanted: int) -> int:
        """Raise RLIMIT_NOFILE for ``wanted`` connections, and files to spare (spooled bodies,
        logs, models); the connections it allows."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = wanted + _SPARE_FILES
        if soft < need:
            soft = need if hard == resource.RLIM_INFINITY else min(need, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        cap = max(1, min(wanted, soft - _SPARE_FILES))
        if cap < wanted:
            self.log.warning(
                "open files limited to %d: at most %d connections (TRANSNORM_MAX_CONNECTIONS %d)",
                soft,
                cap,
                wanted,
            )
        return cap

    # -- the worker's life ----------------------------------------------------------------------

    def run(self) -> None:
        self.pool = ThreadPool(self.settings.service.http_threads)
        self._metrics()
        acceptors = [gevent.spawn(self._accept, listener) for listener in self.sockets]
        last_report = time.monotonic()
        while self.alive:
            self.notify()
            gevent.sleep(1.0)
            self._open_gauge.set(len(self.connections))
            if time.monotonic() - last_report >= EVENT_REPORT_SECONDS:
                self._report_events()
                last_report = time.monotonic()
        # Stopping (SIGTERM): take what is queued on the listeners, close them, finish the rest.
        for acceptor in acceptors:
            acceptor.kill()
        for listener in self.sockets:
            self._accept_queued(listener)
            listener.close()
        for conn, greenlet in list(self.connections.items()):
            if conn.state == "idle":
                greenlet.kill(block=False)
        gevent.spawn_later(SHUTDOWN_FIRST_BYTE, self._close_silent)
        until = time.monotonic() + self.cfg.graceful_timeout
        while (self.connections or self.refusing) and time.monotonic() < until:
            self.notify()
            gevent.sleep(0.1)
        if self.connections:
            self.log.warning("graceful timeout: %d connections cut", len(self.connections))
            for greenlet in list(self.connections.values()):
                greenlet.kill(block=False)
            gevent.sleep(0.5)
        self._report_events()
        self.pool.kill()

    def _metrics(self) -> None:
        from prometheus_client import Counter as PromCounter
        from prometheus_client import Gauge

        cut = PromCounter(
            "transnorm_http_connections_cut_total", "Connections ended early, by reason", ["reason"]
        )
        reasons = ("idle", "header_timeout", "body_timeout", "response_timeout", "app_timeout")
        self._cut = {reason: cut.labels(reason=reason) for reason in (*reasons, "malformed", "over_capacity")}
        self._open_gauge = Gauge(
            "transnorm_http_connections_open", "Open client connections", multiprocess_mode="livesum"
        )

    def _event(self, reason: str, **detail: Any) -> None:
        """A connection ended early: counted (metrics, the log's periodic summary), and logged
        one by one only at DEBUG — hostile clients would flood the log."""
        self.events[reason] += 1
        self._cut[reason].inc()
        if log.isEnabledFor(logging.DEBUG):
            log.debug(json.dumps({"event": "connection cut", "reason": reason, **detail}))

    def _report_events(self) -> None:
        if self.events:
            counts = dict(sorted(self.events.items()))
            log.info(
                json.dumps({"event": "connections cut", "counts": counts, "open": len(self.connections)})
            )
            self.events.clear()

    def _close_silent(self) -> None:
        for conn, greenlet in list(self.connections.items()):
            if conn.state in ("new", "idle") and conn.received == 0:
                greenlet.kill(block=False)

    def _accept(self, listener: Any) -> None:
        name = listener.getsockname()
        while self.alive:
            try:
                client, addr = listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.log.error("cannot accept a connection: %s", exc.strerror)
                    gevent.sleep(0.1)
                continue
            gevent.spawn(self._serve, name, client, addr)

    def _accept_queued(self, listener: Any) -> None:
        name = listener.getsockname()
        listener.settimeout(0.0)
        while True:
            try:
                client, addr = listener.accept()
            except OSError:
                return
            gevent.spawn(self._serve, name, client, addr)

    # -- one connection -----------------------------------------------------------------------

    def _serve(self, listener_name: Any, client: Any, addr: Any) -> None:
        if len(self.connections) >= self.cap:
            self._refuse(client)
            return
        conn = Connection(client, addr)
        self.connections[conn] = gevent.getcurrent()
        closed = False
        try:
            with contextlib.suppress(OSError):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            closed = self._requests(listener_name, conn)
        except gevent.GreenletExit:
            pass
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF):
                self.log.exception("socket error")
        except Exception:
            self.log.exception("error handling a connection")
        finally:
            del self.connections[conn]
            if not closed:
                with contextlib.suppress(OSError):
                    conn.close()

    def _refuse(self, client: Any) -> None:
        """Over the connection cap: 503 at once, then close."""
        self._event("over_capacity")
        detail = "the server holds as many connections as it may (TRANSNORM_MAX_CONNECTIONS); retry shortly"
        try:
            client.settimeout(1.0)
            client.sendall(error_response(503, detail, headers=[("Retry-After", "1")]))
        except OSError:
            client.close()
            return
        if self.refusing >= max(1, self.cap // 10):
            client.close()
            return
        self.refusing += 1
        try:
            Connection(client, None).linger_close()
        finally:
            self.refusing -= 1

    def _requests(self, listener_name: Any, conn: Connection) -> bool:
        """Serve requests on ``conn`` until it is to close; True if it is closed already."""
        s = self.settings.service
        parser = http.get_parser(self.cfg, conn, conn.addr)
        served = 0
        while True:
            # The request's clock runs from the connection's start (the first request) or from
            # the first byte of the request (the next ones on a keep-alive connection).
            limit = [time.monotonic() + s.request_timeout]

            def headers_start(limit: list[float] = limit) -> None:
                limit[0] = time.monotonic() + s.request_timeout
                conn.reading = Deadline(s.header_timeout, s.min_rate, limit[0], 2 * s.header_timeout)
                conn.state = "busy"

            conn.received = 0
            if served == 0:
                conn.reading = Deadline(s.header_timeout, s.min_rate, limit[0], 2 * s.header_timeout)
                conn.on_first_bytes = lambda: setattr(conn, "state", "busy")
            else:
                if not self.alive:
                    return False
                conn.state = "idle"
                conn.reading = Deadline(self.cfg.keepalive, s.min_rate, None, 0)
                conn.on_first_bytes = headers_start
                if parser.unreader.buf.getbuffer().nbytes:  # pipelined: already here
                    headers_start()
            try:
                req = next(parser)
            except StopIteration:
                return False
            except DeadlineExceeded:
                if conn.received == 0:  # an idle connection: closed without a word
                    self._event("idle")
                    if conn.unacknowledged():  # a response left unread would stay in the kernel
                        self._event("response_timeout")
                        conn.reset()
                        return True
                    return False
                self._answer_and_close(
                    conn, 408, "the request headers did not arrive in time", "header_timeout"
                )
                return True
            except NoMoreData:
                return False
            except ParseException as exc:
                self._answer_and_close(conn, *_parse_error(exc), "malformed")
                return True
            conn.reading = None
            conn.on_first_bytes = None
            conn.state = "busy"
            served += 1
            failure = request_framing_error(req)
            if failure is not None:
                self._answer_and_close(conn, *failure, "malformed")
                return True
            outcome = self._request(listener_name, conn, req, limit[0], served)
            if outcome != "keep":
                return outcome == "closed"

    def _answer_and_close(
        self, conn: Connection, status: int, detail: str, reason: str, style: str = "problem"
    ) -> None:
        """Answer an error the worker meets itself, then close the connection."""
        self._event(reason, status=status, detail=detail)
        conn.reading = conn.writing = None
        with contextlib.suppress(OSError):
            conn.sock.settimeout(1.0)
            conn.sock.sendall(error_response(status, detail, style))
            conn.linger_close()
        with contextlib.suppress(OSError):
            conn.sock.close()

    def _request(self, listener_name: Any, conn: Connection, req: Any, limit: float, served: int) -> str:
        """Read the body, run the app in a thread, write the response. Then: "keep" the
        connection alive, "close" it, or it is "closed" already."""
        s = self.settings.service
        started = datetime.now()
        max_body = self._max_body()
        length = int(dict(req.headers).get("CONTENT-LENGTH") or 0)
        too_large = length > max_body
        if too_large and hasattr(req, "_expected_100_continue"):
            req._expected_100_continue = False  # no body is wanted: the app answers 413
        try:
            resp, environ = wsgi.create(req, conn, conn.addr, listener_name, self.cfg)
        except ParseException as exc:
            self._answer_and_close(conn, *_parse_error(exc), "malformed")
            return "closed"
        # The app runs in another thread: it must not touch the socket.
        environ.pop("gunicorn.socket", None)
        environ.pop("wsgi.early_hints", None)
        environ["wsgi.multithread"] = True
        unread = too_large  # part of the body is left unread: the connection cannot go on
        body: Any = io.BytesIO()
        if not too_large and (length or isinstance(req.body.reader, ChunkedReader)):
            try:
                body, unread = self._read_body(conn, req, length, max_body, limit)
            except _ClientGone:
                return "close"
        if isinstance(body, FailedBody) and isinstance(body.error, DeadlineExceeded):
            # Answered here, in the route's format: slow clients cost no thread, even to be refused.
            detail = "the request body did not arrive in time"
            self._answer_and_close(conn, 408, detail, "body_timeout", self._style(req))
            return "closed"
        environ["wsgi.input"] = body
        if isinstance(body, FailedBody):  # the app only words the error: it may take a moment more
            limit = max(limit, time.monotonic() + ERROR_GRACE)
        try:
            answer = self._run_app(environ, limit)
        finally:
            body.close()
        if answer is None:
            detail = f"the request was not answered within TRANSNORM_REQUEST_TIMEOUT ({s.request_timeout} s)"
            self._answer_and_close(conn, 503, detail, "app_timeout", self._style(req))
            return "closed"
        status, headers, chunks = answer
        close = (
            unread
            or bool(environ.get(CLOSE_KEY))
            or not self.alive
            or not self.cfg.keepalive
            or served >= KEEPALIVE_REQUESTS
            or len(self.connections) > self.cap * KEEPALIVE_PRESSURE
        )
        conn.start_response(Deadline(s.body_timeout, s.min_rate, limit))
        try:
            resp.start_response(status, headers)
            if close:
                resp.force_close()
            for chunk in chunks:
                resp.write(chunk)
            resp.close()
            chunks.clear()  # what the kernel holds now need not stay in memory twice
            if resp.should_close():
                conn.flush()
        except DeadlineExceeded:
            self._event("response_timeout", sent=conn.sent)
            conn.reset()
            return "closed"
        finally:
            conn.writing = None
            self.log.access(resp, req, environ, datetime.now() - started)
        if unread:
            conn.linger_close()  # so that the client reads the answer, not a reset
            return "closed"
        return "close" if resp.should_close() else "keep"

    def _run_app(
        self, environ: dict[str, Any], limit: float
    ) -> tuple[str, list[tuple[str, str]], list[bytes]] | None:
        """The app's answer, from a pool thread; None if ``limit`` passed first."""
        job = _Job(self.wsgi, environ)
        timer = gevent.Timeout(max(0.0, limit - time.monotonic()))
        timer.start()
        try:
            return self.pool.spawn(job).get()
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            job.cancelled = True  # if it is still waiting for a thread, it never runs
            return None
        except Exception:
            self.log.exception("error running the application")
            return ("500 Internal Server Error", [("Content-Type", "text/plain")], [b"internal error\n"])
        finally:
            timer.close()

    def _read_body(
        self, conn: Connection, req: Any, length: int, max_body: int, limit: float
    ) -> tuple[Any, bool]:
        """The whole body, or a :class:`FailedBody`; and whether reading stopped over the limit."""
        s = self.settings.service
        conn.reading = Deadline(s.body_timeout, s.min_rate, limit)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
        total = 0
        try:
            while True:
                data = req.body.read(65536)
                if not data:
                    break
                spool.write(data)
                total += len(data)
                if total > max_body:
                    spool.seek(0)
                    return spool, True  # the app answers 413 (it reads past its limit)
        except DeadlineExceeded as exc:
            spool.close()
            return FailedBody(exc), True
        except NoMoreData:
            spool.close()
            raise _ClientGone from None
        except ParseException as exc:
            spool.close()
            return FailedBody(exc), True
        except OSError:
            spool.close()
            raise _ClientGone from None
        finally:
            conn.reading = None
        if length and total < length:
            spool.close()
            raise _ClientGone
        spool.seek(0)
        return spool, False

    def _max_body(self) -> int:
        limit = getattr(self.wsgi, "config", {}).get("MAX_CONTENT_LENGTH")
        return int(limit) if limit else self.settings.pipeline.max_bytes + 64 * 1024

    def _style(self, req: Any) -> str:
        """The error format of the route ``req`` addresses (the app's, when it is Flask)."""
        url_map = getattr(self.wsgi, "url_map", None)
        if url_map is None:
            return "problem"
        adapter = url_map.bind("localhost")
        for method in (req.method, None):
            try:
                endpoint, _ = adapter.match(req.path, method=method)
            except Exception:
                continue
            return "libretranslate" if str(endpoint).startswith(LIBRETRANSLATE_BLUEPRINT + ".") else "problem"
        return "problem"


class _WithoutRequestText(logging.Filter):
    """gunicorn logs a malformed request with the offending bytes ("Invalid request from ip=...:
    <error>"); those bytes can be document text, which never goes to a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Invalid request from ip="):
            record.msg = message.split(":", 1)[0] + ": malformed request (details withheld)"
            record.args = ()
        return True


# -- the app's side ---------------------------------------------------------------------------------


def start_body(environ: dict[str, Any], timeout: float, content_length: int | None) -> None:
    """Nothing to do: the worker has read the whole body, under its deadline, before the app runs."""


def end_body(environ: dict[str, Any]) -> None:
    """Nothing to do (see :func:`start_body`)."""


def close_after(environ: dict[str, Any]) -> None:
    """Close the connection after this response (gunicorn ignores a Connection header set by the
    application)."""
    environ[CLOSE_KEY] = True


def framing_errors() -> tuple[type[BaseException], ...]:
    """The exceptions reading a malformed body raises in the app (gunicorn's, werkzeug's)."""
    from werkzeug.exceptions import ClientDisconnected

    return (ParseException, NoMoreData, ClientDisconnected)
