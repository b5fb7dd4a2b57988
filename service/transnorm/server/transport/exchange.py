"""One connection's requests, served as a buffering proxy would: each request read whole under
its deadlines, the app run on the complete request in a pool thread, the whole response written
under its deadline.

The clock of a request runs from the connection's start (its first request) or from its first
byte (the next ones on a keep-alive connection) for ``request_timeout`` seconds.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import gevent
from gunicorn import http
from gunicorn.http import wsgi
from gunicorn.http.body import ChunkedReader
from gunicorn.http.errors import NoMoreData, ParseException

from .connection import Connection
from .deadlines import Deadline, DeadlineExceeded
from .replies import error_response, framing_error, parse_error, route_style

if TYPE_CHECKING:
    from gevent.threadpool import ThreadPool

    from ...settings import ServiceSettings, Settings

#: A request body larger than this waits for its thread in a temporary file, not in memory.
SPOOL_BYTES = 64 * 1024
#: Requests on one keep-alive connection before it closes (nginx's keepalive_requests).
KEEPALIVE_REQUESTS = 1000
#: Above this share of max_connections, a response closes its connection instead of keeping it
#: (lower, it turns every idle keep-alive client that reconnects into a request rate).
KEEPALIVE_PRESSURE = 0.9
#: Seconds the app has to word the error for a body that failed at the request's deadline.
ERROR_GRACE = 5.0

#: The app closes the connection after its response when this environ key is true.
CLOSE_KEY = "transnorm.close_connection"

Answer = tuple[str, list[tuple[str, str]], list[bytes]]


class Worker(Protocol):
    """What an exchange needs of its worker (:class:`.worker.Worker`)."""

    cfg: Any
    log: Any
    wsgi: Any
    alive: bool
    settings: Settings
    cap: int
    connections: Any
    pool: ThreadPool

    def event(self, reason: str, **detail: Any) -> None: ...

    def max_body(self) -> int: ...


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


class _RequestClock:
    """Arms the deadline of a request's headers on ``conn``: from now for the first request; for
    the next ones, the keep-alive wait first, and the headers' deadline from their first byte.

    It holds no reference to the connection (which holds it): a cycle per connection would leave
    each closed connection to the cyclic garbage collector."""

    def __init__(self, service: ServiceSettings, conn: Connection, first: bool, keepalive: float) -> None:
        self.service = service
        conn.received = 0
        self.limit = time.monotonic() + service.request_timeout
        if first:
            conn.watch(self._headers_deadline())
            conn.on_first_bytes = _busy
        else:
            conn.state = "idle"
            conn.watch(Deadline(keepalive, 1, None, 0))
            conn.on_first_bytes = self.start

    def _headers_deadline(self) -> Deadline:
        s = self.service
        return Deadline(s.header_timeout, s.min_rate, self.limit, 2 * s.header_timeout)

    def start(self, conn: Connection) -> None:
        self.limit = time.monotonic() + self.service.request_timeout
        conn.watch(self._headers_deadline())
        conn.state = "busy"


def _busy(conn: Connection) -> None:
    conn.state = "busy"


def serve(worker: Worker, listener_name: Any, conn: Connection) -> bool:
    """Serve requests on ``conn`` until it is to close; True if it is closed already."""
    parser = http.get_parser(worker.cfg, conn, conn.addr)
    served = 0
    while True:
        if served and not worker.alive:
            return False
        clock = _RequestClock(worker.settings.service, conn, served == 0, worker.cfg.keepalive)
        if served and parser.unreader.buf.getbuffer().nbytes:  # pipelined: already here
            clock.start(conn)
        try:
            req = next(parser)
        except (StopIteration, NoMoreData):
            return False
        except DeadlineExceeded:
            return _waited_in_vain(worker, conn)
        except ParseException as exc:
            answer_and_close(worker, conn, *parse_error(exc), "malformed")
            return True
        conn.watch(None)
        conn.on_first_bytes = None
        conn.state = "busy"
        served += 1
        failure = framing_error(req)
        if failure is not None:
            answer_and_close(worker, conn, *failure, "malformed")
            return True
        outcome = handle(worker, listener_name, conn, req, clock.limit, served)
        if outcome != "keep":
            return outcome == "closed"


def _waited_in_vain(worker: Worker, conn: Connection) -> bool:
    """The headers' deadline passed: an idle connection is closed without a word (reset if a
    response is left unread in the kernel), a slow one is answered 408."""
    if conn.received:
        answer_and_close(worker, conn, 408, "the request headers did not arrive in time", "header_timeout")
        return True
    worker.event("idle")
    if conn.unacknowledged():
        worker.event("response_timeout")
        conn.reset()
        return True
    return False


def answer_and_close(
    worker: Worker, conn: Connection, status: int, detail: str, reason: str, style: str = "problem"
) -> None:
    """Answer an error the worker meets itself, then close the connection."""
    worker.event(reason, status=status, detail=detail)
    conn.answer_and_close(error_response(status, detail, style))


def handle(worker: Worker, listener_name: Any, conn: Connection, req: Any, limit: float, served: int) -> str:
    """Read the body, run the app in a thread, write the response. Then: "keep" the
    connection alive, "close" it, or it is "closed" already."""
    s = worker.settings.service
    started = datetime.now()
    max_body = worker.max_body()
    length = int(dict(req.headers).get("CONTENT-LENGTH") or 0)
    too_large = length > max_body
    if too_large and hasattr(req, "_expected_100_continue"):
        req._expected_100_continue = False  # no body is wanted: the app answers 413
    conn.watch(Deadline(s.body_timeout, s.min_rate, limit))  # for a 100 Continue
    try:
        resp, environ = wsgi.create(req, conn, conn.addr, listener_name, worker.cfg)
    except ParseException as exc:
        answer_and_close(worker, conn, *parse_error(exc), "malformed")
        return "closed"
    # The app runs in another thread: it must not touch the socket.
    environ.pop("gunicorn.socket", None)
    environ.pop("wsgi.early_hints", None)
    environ["wsgi.multithread"] = True
    unread = too_large  # part of the body is left unread: the connection cannot go on
    body: Any = io.BytesIO()
    if not too_large and (length or isinstance(req.body.reader, ChunkedReader)):
        try:
            body, unread = read_body(worker, conn, req, length, max_body, limit)
        except _ClientGone:
            return "close"
    conn.watch(None)
    if isinstance(body, FailedBody) and isinstance(body.error, DeadlineExceeded):
        # Answered here, in the route's format: slow clients cost no thread, even to be refused.
        detail = "the request body did not arrive in time"
        answer_and_close(worker, conn, 408, detail, "body_timeout", route_style(worker.wsgi, req))
        return "closed"
    environ["wsgi.input"] = body
    if isinstance(body, FailedBody):  # the app only words the error: it may take a moment more
        limit = max(limit, time.monotonic() + ERROR_GRACE)
    try:
        answer = run_app(worker, environ, limit)
    finally:
        body.close()
    if answer is None:
        detail = f"the request was not answered within TRANSNORM_REQUEST_TIMEOUT ({s.request_timeout} s)"
        answer_and_close(worker, conn, 503, detail, "app_timeout", route_style(worker.wsgi, req))
        return "closed"
    close = (
        unread
        or bool(environ.get(CLOSE_KEY))
        or not worker.alive
        or not worker.cfg.keepalive
        or served >= KEEPALIVE_REQUESTS
        or len(worker.connections) > worker.cap * KEEPALIVE_PRESSURE
    )
    outcome = write_response(worker, conn, resp, answer, close, limit)
    worker.log.access(resp, req, environ, datetime.now() - started)
    if outcome == "closed":
        return outcome
    if unread:
        conn.linger_close()  # so that the client reads the answer, not a reset
        return "closed"
    return outcome


def read_body(
    worker: Worker, conn: Connection, req: Any, length: int, max_body: int, limit: float
) -> tuple[Any, bool]:
    """The whole body, or a :class:`FailedBody`; and whether reading stopped over the limit."""
    s = worker.settings.service
    conn.watch(Deadline(s.body_timeout, s.min_rate, limit))
    if length:
        conn.expect_body(length - req.unreader.buf.getbuffer().nbytes)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
    total = 0
    try:
        while data := req.body.read(65536):
            spool.write(data)
            total += len(data)
            if total > max_body:
                spool.seek(0)
                return spool, True  # the app answers 413 (it reads past its limit)
    except (DeadlineExceeded, ParseException) as exc:
        spool.close()
        # Without its traceback, whose frames (the callers' too) would hold this body: a cycle.
        return FailedBody(exc.with_traceback(None)), True
    except (NoMoreData, OSError):
        spool.close()
        raise _ClientGone from None
    finally:
        conn.end_body()
        conn.watch(None)
        reader = req.body.reader
        if isinstance(reader, ChunkedReader):
            # It refers back to the request, and its parser (a generator) to it: cycles, each
            # connection's to the cyclic garbage collector. Neither is used once the body is in.
            reader.parser = reader.req = None
    if length and total < length:
        spool.close()
        raise _ClientGone
    spool.seek(0)
    return spool, False


class _Job:
    """Run the WSGI app on one request, in a pool thread, and render its whole response."""

    def __init__(self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> None:
        self.app = app
        self.environ = environ
        self.cancelled = False  # its request's deadline passed while it waited for a thread

    def __call__(self) -> Answer | None:
        if self.cancelled:
            return None
        answer: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return chunks.append

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


def run_app(worker: Worker, environ: dict[str, Any], limit: float) -> Answer | None:
    """The app's answer, from a pool thread; None if ``limit`` passed first."""
    job = _Job(worker.wsgi, environ)
    timer = gevent.Timeout(max(0.0, limit - time.monotonic()))
    timer.start()
    try:
        return worker.pool.spawn(job).get()
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        job.cancelled = True  # if it is still waiting for a thread, it never runs
        return None
    except Exception:
        worker.log.exception("error running the application")
        return ("500 Internal Server Error", [("Content-Type", "text/plain")], [b"internal error\n"])
    finally:
        timer.close()


def write_response(
    worker: Worker, conn: Connection, resp: Any, answer: Answer, close: bool, limit: float
) -> str:
    """Write the response under its deadline: "keep", "close", or "closed" (cut)."""
    s = worker.settings.service
    status, headers, chunks = answer
    conn.start_response(Deadline(s.body_timeout, s.min_rate, limit))
    try:
        resp.start_response(status, headers)
        if close:
            resp.force_close()
        for chunk in chunks:
            resp.write(chunk)
        resp.close()
        conn.release()
        chunks.clear()  # what the kernel holds now need not stay in memory twice
        if resp.should_close():
            conn.flush()
    except DeadlineExceeded:
        worker.event("response_timeout", sent=conn.sent)
        conn.reset()
        return "closed"
    finally:
        conn.watch(None)
    return "close" if resp.should_close() else "keep"
