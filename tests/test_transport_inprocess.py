"""The evented worker's connection handling in this process (gevent's loop on this thread, clients
in OS threads), where what it leaves behind can be inspected: a connection, however it ends,
leaves no reference cycle for the cyclic garbage collector; and the sweeper that enforces every
deadline, driven by hand."""

from __future__ import annotations

import contextlib
import gc
import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.threadpool import ThreadPool
from gunicorn.config import Config
from gunicorn.glogging import Logger
from transnorm.server.transport import Worker
from transnorm.server.transport.connection import Connection
from transnorm.server.transport.deadlines import TICK, Deadline, DeadlineExceeded, Sweeper
from transnorm.settings import ServiceSettings, Settings

HEADERS = "Host: t\r\nContent-Type: text/plain\r\n"


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body) + 3))])
    return [b"ok:" + body]


@contextlib.contextmanager
def served(**service: Any) -> Iterator[tuple[tuple[str, int], Worker]]:
    """The transport worker's connection path on a loopback listener, in this process."""
    cfg = Config()
    cfg.set("keepalive", 1)
    worker = Worker.__new__(Worker)  # its gunicorn life (signals, the arbiter) is not wanted here
    worker.cfg, worker.log, worker.wsgi, worker.alive = cfg, Logger(cfg), _app, True
    worker.settings = Settings(service=ServiceSettings(**service))
    worker.connections, worker.refusing, worker.events, worker.cap = {}, 0, Counter(), 100
    worker._cut = defaultdict(_NullCounter)
    worker.sweeper = Sweeper()
    worker.pool = ThreadPool(2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    worker.sweeper.start()
    acceptor = gevent.spawn(worker._accept, listener)
    try:
        yield listener.getsockname(), worker
    finally:
        acceptor.kill()
        for greenlet in list(worker.connections.values()):
            greenlet.kill()
        worker.sweeper.stop()
        worker.pool.kill()
        listener.close()
        gevent.sleep(0.05)  # the sweeper ends on the loop's next turn


class _NullCounter:
    def inc(self) -> None:
        pass


def client(address: tuple[str, int], *steps: bytes | float) -> tuple[threading.Thread, list[bytes]]:
    """A client in an OS thread: sends each bytes step, sleeps each float step, then reads until
    the server closes. What it read is in the list once the thread has ended."""
    received: list[bytes] = []

    def run() -> None:
        with socket.create_connection(address, timeout=30) as sock:
            for step in steps:
                if isinstance(step, bytes):
                    sock.sendall(step)
                else:
                    time.sleep(step)
            with contextlib.suppress(OSError):
                while data := sock.recv(65536):
                    received.append(data)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, received


def wait_for(done: Callable[[], bool]) -> None:
    """Run the event loop until ``done()`` (a guard against a hang, not a measure of time)."""
    until = time.monotonic() + 30
    while not done():
        assert time.monotonic() < until, "the worker did not get there"
        gevent.sleep(0.02)


def cyclic_garbage() -> Counter[str]:
    """The transport's and gunicorn's objects only the cyclic garbage collector would free."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        kinds = Counter(
            f"{type(o).__module__}.{type(o).__qualname__}"
            for o in gc.garbage
            if type(o).__module__.startswith(("transnorm.server", "gunicorn.http", "socket", "gevent"))
            or isinstance(o, BaseException)
        )
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.collect()  # the cycles found are freed now (the first collection only saved them)
    return kinds


SLOW = 0.6  # past the 0.3 s deadlines below, with a sweep (0.25 s) to spare

#: How a connection goes: what the client sends (bytes) and waits (seconds); what it gets.
CASES: dict[str, tuple[tuple[bytes | float, ...], list[bytes]]] = {
    "idle, closed silently": ((), []),
    "slow headers, 408": ((b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: a", SLOW), [b"408"]),
    "slow body, 408": (
        (f"POST /x HTTP/1.1\r\n{HEADERS}Content-Length: 10\r\n\r\nab".encode(), SLOW),
        [b"408"],
    ),
    "slow chunked body, 408": (
        (f"POST /x HTTP/1.1\r\n{HEADERS}Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n".encode(), SLOW),
        [b"408"],
    ),
    "chunked body answered, then idle": (
        (f"POST /x HTTP/1.1\r\n{HEADERS}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n".encode(),),
        [b"200"],
    ),
    "answered, then idle": ((b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",), [b"200"]),
    "malformed, 400": ((b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",), [b"400"]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_connection_leaves_no_reference_cycles(case):
    """Each connection's objects are freed as soon as it ends: none waits for a full collection
    (which, with thousands of connections held, walks all of them). Measured in a fresh process:
    in a test session, objects other tests left behind reach the collector at any moment."""
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import test_transport_inprocess as t; "
        "print(json.dumps(t.connection_leftovers(sys.argv[2])))"
    )
    here = str(Path(__file__).resolve().parent)
    run = subprocess.run([sys.executable, "-c", script, here, case], capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    garbage, statuses = json.loads(run.stdout.decode().splitlines()[-1])
    assert not garbage, garbage
    assert statuses == [s.decode() for s in CASES[case][1]]


def connection_leftovers(case: str) -> tuple[dict[str, int], list[str]]:
    """One connection of ``case`` served in this process: the cyclic garbage it left, and the
    statuses its client read."""
    steps, _ = CASES[case]
    with served(header_timeout=0.3, body_timeout=0.3) as (address, worker):
        cyclic_garbage()
        thread, received = client(address, *steps)
        wait_for(lambda: not (thread.is_alive() or worker.connections or len(worker.sweeper)))
        garbage = cyclic_garbage()
    return dict(garbage), [s.decode() for s in statuses_of(b"".join(received))]


def statuses_of(answer: bytes) -> list[bytes]:
    return [line.split(b" ")[1] for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def test_the_worker_freezes_what_it_loaded_and_collects_the_young_less_often():
    from transnorm.server.transport.worker import GC_YOUNG, tune_collector

    threshold = gc.get_threshold()
    loaded = object.__new__(type("Loaded", (), {}))  # a container, tracked by the collector
    try:
        tune_collector()
        assert gc.get_threshold() == (GC_YOUNG, *threshold[1:])
        assert gc.get_freeze_count() > 0
        assert not any(o is loaded for o in gc.get_objects())  # frozen: out of every generation
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert any(o is loaded for o in gc.get_objects())


class _Watched:
    """A connection as the sweeper sees it: its deadline falls at ``at``."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.looks: list[float] = []

    def check(self, now: float) -> float | None:
        self.looks.append(now)
        return None if now >= self.at else self.at


def test_the_sweeper_looks_at_a_connection_when_its_deadline_may_have_come():
    sweeper = Sweeper()
    t0 = time.monotonic()
    steady, extended, closed = _Watched(t0 + 1.0), _Watched(t0 + 1.0), _Watched(t0 + 1.0)
    for watched in (steady, extended, closed):
        sweeper.watch(watched, watched.at)
    sweeper.forget(closed)
    sweeper.sweep(t0 + 0.75)
    assert steady.looks == extended.looks == [] and len(sweeper) == 2
    extended.at = t0 + 3.0  # bytes arrived: its deadline moved
    sweeper.sweep(t0 + 1.0 + TICK)
    assert steady.looks == extended.looks == [t0 + 1.0 + TICK] and len(sweeper) == 1
    for now in (t0 + 2.0, t0 + 2.5, t0 + 3.0 + TICK):
        sweeper.sweep(now)
    assert extended.looks == [t0 + 1.0 + TICK, t0 + 3.0 + TICK] and len(sweeper) == 0
    assert closed.looks == []


def test_the_sweeper_keeps_the_sooner_of_two_looks():
    sweeper = Sweeper()
    t0 = time.monotonic()
    watched = _Watched(t0 + 1.0)
    sweeper.watch(watched, t0 + 5.0)
    sweeper.watch(watched, t0 + 1.0)  # a new deadline, sooner
    sweeper.watch(watched, t0 + 9.0)  # and one later: the sooner look stays
    sweeper.sweep(t0 + 1.0 + TICK)
    assert watched.looks == [t0 + 1.0 + TICK] and len(sweeper) == 0


def test_a_response_nobody_reads_is_looked_at_a_few_times_then_cut_at_its_deadline():
    """Flushing a response waits for the client's acknowledgements; nothing wakes the worker
    when they come, so they are looked at after a tick, then ever less often (a client that never
    reads costs a few looks), and never after the write deadline."""
    sweeper = Sweeper()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(listener.getsockname())
        server, addr = listener.accept()
        server.setblocking(False)
        conn = Connection(server, addr, sweeper)
        looks: list[float] = []
        check = conn.check
        conn.check = lambda now: looks.append(now) or check(now)  # type: ignore[method-assign]
        t0 = time.monotonic()
        conn.start_response(Deadline(10.0, 500))

        def respond() -> str:
            conn.sendall(b"x" * 200_000)
            conn.release()
            try:
                conn.flush()
            except DeadlineExceeded:
                return "cut"
            return "flushed"

        flushing = gevent.spawn(respond)
        now = t0
        while not flushing.dead and now < t0 + 30:
            now += TICK
            sweeper.sweep(now)
            gevent.sleep(0.001)
        reader.close()
        conn.close()
    assert flushing.value == "cut"
    assert t0 + 10 <= now <= t0 + 10 + 200_000 / 500 + TICK  # cut when its deadline fell
    assert 5 <= len(looks) <= 15, looks  # not one each of the 40-odd ticks
