"""What :mod:`.hostile` measures: the probes (a process of their own), the server's memory and CPU
from ``/proc``, the report and its table, and a server started as ``transnorm serve`` starts."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .hostile_clients import Plan, request_bytes, status_of

_TCP_STATES = {1: "established", 7: "close", 8: "close_wait"}


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
    return status_of(data)


def prober(host: str, port: int, interval: float, timeout: float, control: Any) -> None:
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


def check_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(socket.gethostbyname(host) if host == "localhost" else host)
    except (ValueError, OSError):
        raise SystemExit(f"hostile: {host!r} is not an address on this machine") from None
    if not address.is_loopback:
        raise SystemExit(f"hostile: {host} is not a loopback address; this tool only targets this machine")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def probe_summary(probes: list[Probe], within: float, ramp_done: float) -> dict[str, Any]:
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


def memory_summary(samples: list[tuple[float, int, int, int]]) -> dict[str, Any]:
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
            f"CPU: server {c['server_seconds']} s ({c['server_ms_per_connection']} ms per hostile "
            f"connection, {c['hostile_connections']} opened), harness {c['harness_seconds']} s "
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
