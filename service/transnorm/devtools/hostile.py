"""Hostile HTTP clients against a transnorm server on this machine, while normal requests probe it.

Kinds of client, ``clients`` of each at once: slow headers and slow bodies (one byte every
``slow_interval`` seconds; bodies with Content-Length and chunked), a trickle just above the
server's minimum rate (``TRANSNORM_MIN_RATE``) with a 10 MB body declared, a slow reader (uploads a
document with a small receive buffer and never reads the reply), an idle TCP connection that
sends nothing, and an idle keep-alive connection after one request. Each client misbehaves until
the server ends its connection, records how (status code, close, reset) and after how long, and
reconnects; they run in a process of their own, at a lower priority (``--nice``): they stand for
machines elsewhere. Meanwhile a probe every ``probe_interval`` seconds (``/healthz`` and a small
``/v1/normalize``, alternately, each on a new connection) measures latency, and a sampler sums
RSS and PSS over the server's processes from ``/proc``.

``python -m transnorm.devtools.hostile --clients 1000 --start`` starts ``transnorm serve`` as it
starts by default (models from ``TRANSNORM_MODELS_DIR``) and prints the table; ``--url`` and
``--pid`` measure a server already running. Loopback only, bounded in connections and time.

asyncio over raw non-blocking sockets (no HTTP library): a hostile client must control every
byte and every read, and one process must hold thousands of connections.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import ipaddress
import json
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
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

_TCP_STATES = {1: "established", 7: "close", 8: "close_wait"}


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


@dataclass
class Probe:
    path: str
    started: float
    seconds: float
    status: int | None  # None: no answer (timeout, refused, reset)


@dataclass
class Report:
    plan: Plan
    kinds: dict[str, dict[str, Any]]
    probes: dict[str, Any]
    memory: dict[str, Any]
    cpu: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["plan"]["kinds"] = list(self.plan.kinds)
        return data


# -- the probes: a process of their own, so that the harness's own load does not count ---------


def request_bytes(method: str, path: str, body: bytes = b"", content_type: str = "text/plain") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    if body or method == "POST":
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _probe_once(host: str, port: int, path: str, timeout: float) -> int | None:
    body = "第一句话。Short English.".encode() if path == "/v1/normalize" else b""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request_bytes("POST" if body else "GET", path, body))
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return None
    return _status(data)


def _status(data: bytes) -> int | None:
    if not data.startswith(b"HTTP/"):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def _prober(host: str, port: int, interval: float, timeout: float, control: Any) -> None:
    """Probe until ``control`` says stop; send back [(path, started, seconds, status)]."""
    results: list[tuple[str, float, float, int | None]] = []
    started = time.monotonic()

    def probe(path: str) -> None:
        t0 = time.monotonic()
        status = _probe_once(host, port, path, timeout)
        results.append((path, t0 - started, time.monotonic() - t0, status))

    paths = ("/healthz", "/v1/normalize")
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(timeout / interval) + 4) as pool:
        i = 0
        next_at = time.monotonic()
        while not control.poll(max(0.0, next_at - time.monotonic())):
            pool.submit(probe, paths[i % 2])
            i += 1
            next_at += interval
    control.send(results)


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
            status = _status(self._received)
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
            if _status(self._received) != 200:
                self.end(f"first request {_status(self._received)}")
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


# -- the run ---------------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def server_memory(pid: int) -> tuple[int, int, int]:
    """RSS and PSS (bytes) summed over ``pid`` and its descendants, and how many processes."""
    rss = pss = count = 0
    for p in _descendants(pid):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        count += 1
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
    return rss, pss, count


def server_cpu(pid: int) -> float:
    """CPU seconds (user and system) used so far by ``pid`` and its descendants."""
    ticks = 0
    for p in _descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def socket_memory() -> int:
    """Bytes the kernel holds in TCP buffers, machine-wide (``/proc/net/sockstat``)."""
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            fields = line.split()
            return int(fields[fields.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE")
    return 0


def _check_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(socket.gethostbyname(host) if host == "localhost" else host)
    except (ValueError, OSError):
        raise SystemExit(f"hostile: {host!r} is not an address on this machine") from None
    if not address.is_loopback:
        raise SystemExit(f"hostile: {host} is not a loopback address; this tool only targets this machine")


def raise_open_files(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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


def _clients_process(plan: Plan, host: str, port: int, nice: int, results: Any) -> None:
    """The hostile clients, in a process of their own at a lower priority (``nice``): they stand
    for machines elsewhere, and the probes, which stand for a normal client, keep theirs."""
    with contextlib.suppress(OSError):
        os.nice(nice)
    raise_open_files(len(plan.kinds) * plan.clients + 2000)
    stats, ramp_done = asyncio.run(hold_clients(plan, host, port))
    results.send((stats, ramp_done, time.process_time()))


async def run(plan: Plan, url: str, pid: int | None = None, nice: int = 10) -> Report:
    """Hold ``plan.clients`` hostile clients of each kind against ``url`` while probing it;
    ``pid``: the server's (master) process, whose tree's memory is sampled; ``nice``: how much
    lower the hostile clients' priority is than the probes'."""
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    _check_loopback(host)
    limit = raise_open_files(len(plan.kinds) * plan.clients + 2000)
    if limit < len(plan.kinds) * plan.clients + 200:
        raise SystemExit(f"hostile: only {limit} open files allowed; lower --clients")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    samples: list[tuple[float, int, int, int]] = []
    started = time.monotonic()

    async def sampler() -> None:
        while not stop.is_set() or len(samples) < 2:
            if pid is not None:
                rss, pss, _ = server_memory(pid)
                samples.append((time.monotonic() - started, rss, pss, socket_memory()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    context = multiprocessing.get_context("spawn")
    control, remote = context.Pipe()
    prober = context.Process(
        target=_prober, args=(host, port, plan.probe_interval, plan.probe_timeout, remote), daemon=True
    )
    results, results_remote = context.Pipe()
    clients = context.Process(target=_clients_process, args=(plan, host, port, nice, results_remote))
    sample_task = asyncio.create_task(sampler())
    await asyncio.sleep(1.0)  # a baseline sample before anything starts
    cpu_start = server_cpu(pid) if pid is not None else 0.0
    prober.start()
    clients.start()
    stats, ramp_done, harness_seconds = await loop.run_in_executor(None, results.recv)
    control.send("stop")
    stop.set()
    await sample_task
    probe_results = await loop.run_in_executor(None, control.recv)
    prober.join(10)
    clients.join(10)
    wall = time.monotonic() - started - 1.0
    cpu = {
        "server_seconds": round(server_cpu(pid) - cpu_start, 1) if pid is not None else None,
        "harness_seconds": round(harness_seconds, 1),
        "wall_seconds": round(wall, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }
    probes = [Probe(path, t, seconds, status) for path, t, seconds, status in probe_results]
    return Report(
        plan=plan,
        kinds={kind: s.summary() for kind, s in stats.items()},
        probes=_probe_summary(probes, plan.within, ramp_done),
        memory=_memory_summary(samples),
        cpu=cpu,
        seconds=round(time.monotonic() - started, 1),
    )


def _probe_summary(probes: list[Probe], within: float, ramp_done: float) -> dict[str, Any]:
    times = [p.seconds for p in probes if p.status is not None]
    in_time = sum(1 for p in probes if p.status is not None and p.status < 500 and p.seconds <= within)
    return {
        "count": len(probes),
        "within": within,
        "in_time": in_time,
        "share_in_time": round(in_time / len(probes), 4) if probes else None,
        "status": dict(Counter(str(p.status) if p.status else "none" for p in probes)),
        "server_errors": sum(1 for p in probes if p.status is not None and p.status >= 500),
        "no_answer": sum(1 for p in probes if p.status is None),
        "p50": _round(_percentile(times, 0.5)),
        "p99": _round(_percentile(times, 0.99)),
        "worst": _round(max((p.seconds for p in probes), default=None)),
        "ramp_seconds": round(ramp_done, 1),
        "late": [
            (round(p.started, 1), p.path, p.status, round(p.seconds, 2))
            for p in probes
            if p.status is None or p.status >= 500 or p.seconds > within
        ][:20],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _memory_summary(samples: list[tuple[float, int, int, int]]) -> dict[str, Any]:
    if not samples:
        return {}
    mib = 1024 * 1024
    return {
        "rss_start_mib": round(samples[0][1] / mib, 1),
        "rss_peak_mib": round(max(s[1] for s in samples) / mib, 1),
        "rss_end_mib": round(samples[-1][1] / mib, 1),
        "pss_start_mib": round(samples[0][2] / mib, 1),
        "pss_peak_mib": round(max(s[2] for s in samples) / mib, 1),
        "pss_end_mib": round(samples[-1][2] / mib, 1),
        "tcp_buffers_peak_mib": round(max(s[3] for s in samples) / mib, 1),
    }


def format_report(report: Report, title: str = "") -> str:
    plan = report.plan
    lines = [
        f"hostile clients{': ' + title if title else ''} — {plan.clients} of each kind, ramp "
        f"{report.probes['ramp_seconds']} s + hold {plan.hold:g} s ({report.seconds} s in all)",
        "",
        f"{'kind':16} {'opened':>7} {'held at end':>11}  {'ended after p50/max':>20}  ended by the server",
    ]
    for kind, s in report.kinds.items():
        ended = ", ".join(f"{how} {n}" for how, n in sorted(s["ended"].items(), key=lambda kv: -kv[1])) or "-"
        after = (
            "-" if s["ended_after_p50"] is None else f"{s['ended_after_p50']:g} / {s['ended_after_max']:g} s"
        )
        failed = f" (connect failed {s['connect_failed']})" if s["connect_failed"] else ""
        lines.append(f"{kind:16} {s['opened']:>7} {s['held_at_end']:>11}  {after:>20}  {ended}{failed}")
    p = report.probes
    lines += [
        "",
        f"probes: {p['count']} (/healthz and /v1/normalize), answered < {p['within']:g} s: "
        f"{p['in_time']} ({100 * (p['share_in_time'] or 0):.1f} %), p50 {p['p50']} s, p99 {p['p99']} s, "
        f"worst {p['worst']} s, 5xx {p['server_errors']}, no answer {p['no_answer']}",
    ]
    m = report.memory
    if m:
        lines.append(
            f"server memory (all processes): RSS {m['rss_start_mib']} → peak {m['rss_peak_mib']} → "
            f"{m['rss_end_mib']} MiB; PSS {m['pss_start_mib']} → peak {m['pss_peak_mib']} → "
            f"{m['pss_end_mib']} MiB; kernel TCP buffers peak {m['tcp_buffers_peak_mib']} MiB (machine)"
        )
    c = report.cpu
    if c.get("server_seconds") is not None:
        lines.append(
            f"CPU: server {c['server_seconds']} s, harness {c['harness_seconds']} s "
            f"over {c['wall_seconds']} s "
            f"(machine load average {c['load_average']} on {os.cpu_count()} cores)"
        )
    return "\n".join(lines)


TABLE_HEAD = (
    "| clients of each kind | probes < 1 s | p50 s | p99 s | worst s | 5xx | no answer "
    "| RSS peak MiB | PSS peak MiB |\n|---|---|---|---|---|---|---|---|---|"
)


def summary_row(report: Report) -> str:
    """One line for a before/after table."""
    p, m = report.probes, report.memory
    return (
        f"| {report.plan.clients} | {p['in_time']}/{p['count']} ({100 * (p['share_in_time'] or 0):.1f} %) "
        f"| {p['p50']} | {p['p99']} | {p['worst']} | {p['server_errors']} | {p['no_answer']} "
        f"| {m.get('rss_peak_mib')} | {m.get('pss_peak_mib')} |"
    )


# -- starting a server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    log: Path | None = None,
    ready: str = "/readyz",
    timeout: float = 120,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``transnorm serve ARGS`` on a free loopback port, once ``ready`` answers 200."""
    port = _free_port()
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "transnorm", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        env=full_env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready (exit code {proc.poll()})")
            try:
                with urllib.request.urlopen(base + ready, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m transnorm.devtools.hostile", description=__doc__.split("\n")[0]
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a server already running on this machine, e.g. http://127.0.0.1:8000")
    target.add_argument("--start", action="store_true", help="start `transnorm serve` (default settings)")
    parser.add_argument("--pid", type=int, help="with --url: the server's master process, for memory")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[100], help="of each kind (several: one run each)"
    )
    parser.add_argument(
        "--kinds", default=",".join(KIND_NAMES), help="comma-separated, from: " + ", ".join(KIND_NAMES)
    )
    parser.add_argument("--hold", type=float, default=Plan.hold)
    parser.add_argument("--ramp", type=float, default=Plan.ramp, help="new hostile connections per second")
    parser.add_argument(
        "--min-rate", type=int, default=int(os.environ.get("TRANSNORM_MIN_RATE", Plan.min_rate))
    )
    parser.add_argument(
        "--nice", type=int, default=10, help="how much lower the hostile clients' priority is"
    )
    parser.add_argument("--serve-args", default="", help="with --start: extra `transnorm serve` arguments")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = set(kinds) - set(KIND_NAMES)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    reports = []
    for clients in args.clients:
        plan = Plan(clients=clients, kinds=kinds, hold=args.hold, ramp=args.ramp, min_rate=args.min_rate)
        if args.start:
            with serve(tuple(args.serve_args.split())) as (base, proc):
                report = asyncio.run(run(plan, base, proc.pid, args.nice))
        else:
            report = asyncio.run(run(plan, args.url, args.pid, args.nice))
        reports.append(report)
        if not args.json:
            print(format_report(report), flush=True)
            print(flush=True)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        print(TABLE_HEAD)
        for report in reports:
            print(summary_row(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
