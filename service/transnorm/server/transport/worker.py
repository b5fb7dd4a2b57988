"""The gunicorn worker: its life (accepting, the connection cap, graceful shutdown) and what it
counts. Each connection is a greenlet serving :func:`.exchange.serve`."""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import resource
import socket
import time
from collections import Counter
from typing import Any

import gevent
from gevent.threadpool import ThreadPool
from gunicorn.workers.ggevent import GeventWorker

from .connection import Connection
from .deadlines import Sweeper
from .exchange import serve
from .replies import error_response

log = logging.getLogger("transnorm.http")

#: The kernel's send buffer of each connection (Linux doubles it): what a client that stops
#: reading makes the kernel hold — Linux lets it grow to 4 MiB otherwise — and how much of a
#: response is written before the write deadline starts to matter. 2 MB/s at 100 ms round trip.
SEND_BUFFER = 128 * 1024
#: How often the log sums up the connections cut (one line each would let clients flood it).
EVENT_REPORT_SECONDS = 60.0
#: On shutdown, a connection that has not sent a byte yet gets this long to start its request.
SHUTDOWN_FIRST_BYTE = 2.0
#: Allocations between collections of the youngest generation (Python's default is 700): each
#: connection keeps dozens of objects for seconds, so with thousands of connections held the
#: default walks them again and again and promotes them all to the oldest generation, whose full
#: collections (hundreds of thousands of objects) stalled the event loop for up to half a second.
GC_YOUNG = 10_000
#: Open files kept for other uses than connections (spooled bodies, logs, models).
_SPARE_FILES = 1024
_ACCEPT_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_GONE = (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF)
_REASONS = (
    "idle",
    "header_timeout",
    "body_timeout",
    "response_timeout",
    "app_timeout",
    "malformed",
    "over_capacity",
)


def tune_collector() -> None:
    """Once the app is loaded: its objects (modules, the app, settings), there for the worker's
    life, leave the cyclic garbage collector's sight (``gc.freeze``), and the youngest generation
    is collected every :data:`GC_YOUNG` allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


class _WithoutRequestText(logging.Filter):
    """gunicorn logs a malformed request with the offending bytes ("Invalid request from ip=...:
    <error>"); those bytes can be document text, which never goes to a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Invalid request from ip="):
            record.msg = message.split(":", 1)[0] + ": malformed request (details withheld)"
            record.args = ()
        return True


class Worker(GeventWorker):
    """gunicorn's gevent worker, not monkey-patched, with deadlines on every phase of a request
    and the app in a pool of OS threads (settings: ``TRANSNORM_*``; see :mod:`..transport`)."""

    def patch(self) -> None:
        # No monkey.patch_all(): the app's threads, locks and queues stay real, so CPU work and
        # blocking calls never run on the event loop. The listeners become plain non-blocking
        # sockets the event loop watches; what connections inherit from them is set once here.
        listeners = []
        for s in self.sockets:
            listener = socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach())
            listener.setblocking(False)
            with contextlib.suppress(OSError):
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
                if s.FAMILY in (socket.AF_INET, socket.AF_INET6):
                    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            listeners.append(listener)
        self.sockets = listeners

    def init_process(self) -> None:
        from ...settings import Settings

        if self.cfg.is_ssl:  # this worker speaks plain HTTP/1.1: never serve TLS settings silently
            raise RuntimeError("transnorm's worker does not terminate TLS; put a TLS proxy in front")

        self.settings = Settings.from_env()
        self.log.error_log.addFilter(_WithoutRequestText())
        self.connections: dict[Connection, gevent.Greenlet] = {}
        self.refusing = 0
        self.events: Counter[str] = Counter()
        self.sweeper = Sweeper()
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

    def max_body(self) -> int:
        """The largest body read for the app; past it, the app answers 413."""
        limit = getattr(self.wsgi, "config", {}).get("MAX_CONTENT_LENGTH")
        return int(limit) if limit else self.settings.pipeline.max_bytes + 64 * 1024

    # -- the worker's life ----------------------------------------------------------------------

    def run(self) -> None:
        tune_collector()
        # Else each connection's greenlet records the stack and tree that spawned it, for
        # debugging tools that nothing here uses.
        gevent.config.track_greenlet_tree = False
        self.pool = ThreadPool(self.settings.service.http_threads)
        self._metrics()
        self.sweeper.start()
        acceptors = [gevent.spawn(self._accept, listener) for listener in self.sockets]
        last_report = time.monotonic()
        while self.alive:
            self.notify()
            gevent.sleep(1.0)
            self._open_gauge.set(len(self.connections))
            if time.monotonic() - last_report >= EVENT_REPORT_SECONDS:
                self._report_events()
                last_report = time.monotonic()
        for acceptor in acceptors:
            acceptor.kill()
        self._shut_down()

    def _shut_down(self) -> None:
        """SIGTERM: take what is queued on the listeners, close them, finish the requests in
        flight (within graceful_timeout); idle connections are closed."""
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
        self.sweeper.stop()
        self.pool.kill()

    def _close_silent(self) -> None:
        for conn, greenlet in list(self.connections.items()):
            if conn.state in ("new", "idle") and conn.received == 0:
                greenlet.kill(block=False)

    def _metrics(self) -> None:
        from prometheus_client import Counter as PromCounter
        from prometheus_client import Gauge

        cut = PromCounter(
            "transnorm_http_connections_cut_total", "Connections ended early, by reason", ["reason"]
        )
        self._cut = {reason: cut.labels(reason=reason) for reason in _REASONS}
        self._open_gauge = Gauge(
            "transnorm_http_connections_open", "Open client connections", multiprocess_mode="livesum"
        )

    def event(self, reason: str, **detail: Any) -> None:
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

    # -- connections ----------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        name = listener.getsockname()
        hub = gevent.get_hub()
        readable = hub.loop.io(listener.fileno(), 1)
        while self.alive:
            try:
                client, addr = listener.accept()
            except BlockingIOError:
                hub.wait(readable)
                continue
            except OSError as exc:
                if exc.errno in _ACCEPT_ERRORS:
                    self.log.error("cannot accept a connection: %s", exc.strerror)
                    gevent.sleep(0.1)
                continue
            gevent.spawn(self._serve, name, client, addr)

    def _accept_queued(self, listener: socket.socket) -> None:
        name = listener.getsockname()
        while True:
            try:
                client, addr = listener.accept()
            except OSError:
                return
            gevent.spawn(self._serve, name, client, addr)

    def _serve(self, listener_name: Any, client: socket.socket, addr: Any) -> None:
        client.setblocking(False)
        conn = Connection(client, addr, self.sweeper)
        if len(self.connections) >= self.cap:
            self._refuse(conn)
            return
        self.connections[conn] = gevent.getcurrent()
        closed = False
        try:
            closed = serve(self, listener_name, conn)
        except gevent.GreenletExit:
            pass
        except OSError as exc:
            if exc.errno not in _GONE:
                self.log.exception("socket error")
        except Exception:
            self.log.exception("error handling a connection")
        finally:
            del self.connections[conn]
            if not closed:
                with contextlib.suppress(OSError):
                    conn.close()

    def _refuse(self, conn: Connection) -> None:
        """Over the connection cap: 503 at once, then close (lingering, for a tenth of the cap)."""
        self.event("over_capacity")
        detail = "the server holds as many connections as it may (TRANSNORM_MAX_CONNECTIONS); retry shortly"
        response = error_response(503, detail, headers=[("Retry-After", "1")])
        if self.refusing >= max(1, self.cap // 10):
            with contextlib.suppress(OSError):
                conn.sock.send(response)
            conn.close()
            return
        self.refusing += 1
        try:
            conn.answer_and_close(response)
        finally:
            self.refusing -= 1
