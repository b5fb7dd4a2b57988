"""The hostile clients of :mod:`.hostile`: one asyncio protocol per kind, driven by timers, and
the process that holds them (at a lower priority: they stand for machines elsewhere)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

KIND_NAMES = (
    "slow_headers",
    "slow_body",
    "slow_chunked",
    "trickle",
    "slow_reader",
    "idle",
    "idle_keepalive",
)


@dataclass(frozen=True)
class Plan:
    """What to run. ``clients`` is per kind; every duration is in seconds."""

    clients: int = 100
    kinds: tuple[str, ...] = KIND_NAMES
    #: Hostile connections opened per second (all kinds together) until all are open.
    ramp: float = 400.0
    #: How long the hostile clients are held after the last one opened.
    hold: float = 30.0
    probe_interval: float = 0.1
    #: A probe is "answered in time" within this (the target), and abandoned after probe_timeout.
    within: float = 1.0
    probe_timeout: float = 10.0
    #: The server's TRANSNORM_MIN_RATE: the trickle sends 1.2 times this.
    min_rate: int = 500
    slow_interval: float = 2.0
    trickle_length: int = 10_000_000
    #: The slow reader's document: filler bytes whose JSON reply (~3x) outgrows the socket buffers.
    reader_bytes: int = 8_000
    reader_rcvbuf: int = 4096
    reconnect_delay: float = 1.0
    connect_timeout: float = 10.0


@dataclass
class KindStats:
    opened: int = 0
    connect_failed: int = 0
    #: How the server ended connections: "408", "503", ..., "closed" (no reply), "reset".
    ended: Counter[str] = field(default_factory=Counter)
    ended_after: list[float] = field(default_factory=list)
    held: int = 0

    def summary(self) -> dict[str, Any]:
        after = sorted(self.ended_after)
        return {
            "opened": self.opened,
            "connect_failed": self.connect_failed,
            "ended": dict(self.ended),
            "ended_after_p50": round(statistics.median(after), 1) if after else None,
            "ended_after_max": round(after[-1], 1) if after else None,
            "held_at_end": self.held,
        }


def request_bytes(method: str, path: str, body: bytes = b"", content_type: str = "text/plain") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    if body or method == "POST":
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def status_of(data: bytes) -> int | None:
    if not data.startswith(b"HTTP/"):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


# -- the hostile kinds: each connection a protocol, driven by timers --------------------------


class Hostile(asyncio.Protocol):
    """One hostile connection. It misbehaves (``start``, then ``tick`` every ``every`` seconds)
    until the server ends it; ``ended`` is set to how: the status of the server's answer,
    "closed" (no answer), "reset"."""

    every: float | None = None

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._received = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.start()
        self._schedule()

    def _schedule(self) -> None:
        if self.every is not None and not self.ended.done():
            self._timer = asyncio.get_running_loop().call_later(self.every, self._tick)

    def _tick(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.tick()
        self._schedule()

    def start(self) -> None:
        pass

    def tick(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def end(self, how: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self.ended.done():
            self.ended.set_result(how)
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self._received += data
        if b"\r\n" in self._received or len(self._received) > 64:
            status = status_of(self._received)
            self.end(str(status) if status else "garbage")

    def eof_received(self) -> bool:
        self.end("closed")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.end("reset" if isinstance(exc, ConnectionResetError) else "closed")


class SlowHeaders(Hostile):
    """Headers one byte every ``slow_interval`` seconds."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan)
        self.every = plan.slow_interval

    def start(self) -> None:
        self.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")

    def tick(self) -> None:
        self.write(b"a")


class SlowBody(SlowHeaders):
    """A 10,000-byte body (Content-Length) one byte every ``slow_interval`` seconds."""

    def start(self) -> None:
        self.write(
            b"POST /v1/normalize HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 10000\r\n\r\n"
        )


class SlowChunked(SlowHeaders):
    """A chunked body, a one-byte chunk every ``slow_interval`` seconds."""

    def start(self) -> None:
        self.write(
            b"POST /v1/normalize HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )

    def tick(self) -> None:
        self.write(b"1\r\na\r\n")


class Trickle(Hostile):
    """A large declared body sent steadily at 1.2 times the server's minimum rate: each second
    what is owed since the start (a harness slowed by a busy machine catches up, as the client it
    stands for would not have fallen behind)."""

    every = 1.0

    def start(self) -> None:
        self.write(
            (
                "POST /v1/normalize HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {self.plan.trickle_length}\r\n\r\n"
            ).encode()
        )
        self.sent = 0
        self.started = time.monotonic()

    def tick(self) -> None:
        owed = int(self.plan.min_rate * 1.2 * (time.monotonic() - self.started)) - self.sent
        size = min(owed, self.plan.trickle_length - self.sent)
        if size > 0:
            self.write(b"a" * size)
            self.sent += size


class SlowReader(Hostile):
    """Uploads a document, never reads the reply (a small receive buffer, reading paused); the
    server's cut shows in the socket's TCP state, checked every second."""

    every = 1.0

    def start(self) -> None:
        assert self.transport is not None
        self.transport.pause_reading()
        self.write(request_bytes("POST", "/v1/normalize", b"x" * self.plan.reader_bytes))

    def tick(self) -> None:
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        if state != 1:  # TCP_ESTABLISHED: the server reset (CLOSE) or closed (CLOSE_WAIT) it
            self.end("reset" if state == 7 else "closed")


class Idle(Hostile):
    """Connects and sends nothing."""


class IdleKeepAlive(Hostile):
    """One request, then nothing on the kept-alive connection."""

    def start(self) -> None:
        self.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.answered = False

    def data_received(self, data: bytes) -> None:
        if self.answered:
            super().data_received(data)
            return
        self._received += data
        head, sep, body = self._received.partition(b"\r\n\r\n")
        if not sep:
            return
        length = next(
            (
                int(v)
                for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
                if k.strip().lower() == b"content-length"
            ),
            0,
        )
        if len(body) >= length:
            if status_of(self._received) != 200:
                self.end(f"first request {status_of(self._received)}")
            self.answered, self._received = True, b""


KINDS = {
    "slow_headers": SlowHeaders,
    "slow_body": SlowBody,
    "slow_chunked": SlowChunked,
    "trickle": Trickle,
    "slow_reader": SlowReader,
    "idle": Idle,
    "idle_keepalive": IdleKeepAlive,
}


def raise_open_files(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


async def hold_clients(plan: Plan, host: str, port: int) -> tuple[dict[str, KindStats], float]:
    """Open ``plan.clients`` hostile clients of each kind (``plan.ramp`` a second), hold them for
    ``plan.hold`` seconds, each reconnecting when cut; their stats and the ramp's seconds."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    stats = {kind: KindStats() for kind in plan.kinds}
    started = time.monotonic()

    async def connect(kind: str) -> Hostile:
        protocol = KINDS[kind](plan)
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if kind == "slow_reader":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, plan.reader_rcvbuf)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), plan.connect_timeout)
            await loop.create_connection(lambda: protocol, sock=sock)
        except BaseException:
            sock.close()
            raise
        return protocol

    async def client(kind: str) -> None:
        while not stop.is_set():
            try:
                protocol = await connect(kind)
            except (OSError, TimeoutError):
                stats[kind].connect_failed += 1
                await asyncio.sleep(plan.reconnect_delay)
                continue
            stats[kind].opened += 1
            opened = time.monotonic()
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait((protocol.ended, stopping), return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if protocol.ended.done():
                stats[kind].ended[protocol.ended.result()] += 1
                stats[kind].ended_after.append(time.monotonic() - opened)
            else:
                stats[kind].held += 1
                protocol.end("stopped")
            if not stop.is_set():
                await asyncio.sleep(plan.reconnect_delay)

    tasks = []
    per_step = max(1, int(plan.ramp / 20))
    for i, kind in enumerate(kind for _ in range(plan.clients) for kind in plan.kinds):
        tasks.append(asyncio.create_task(client(kind)))
        if (i + 1) % per_step == 0:
            await asyncio.sleep(1 / 20)
    ramp_done = time.monotonic() - started
    await asyncio.sleep(plan.hold)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats, ramp_done


def clients_process(plan: Plan, host: str, port: int, nice: int, results: Any) -> None:
    """The hostile clients, in a process of their own at a lower priority (``nice``): they stand
    for machines elsewhere, and the probes, which stand for a normal client, keep theirs."""
    with contextlib.suppress(OSError):
        os.nice(nice)
    raise_open_files(len(plan.kinds) * plan.clients + 2000)
    stats, ramp_done = asyncio.run(hold_clients(plan, host, port))
    results.send((stats, ramp_done, time.process_time()))
