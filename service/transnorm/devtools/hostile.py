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
byte and every read, and one process must hold thousands of connections. The kinds are in
:mod:`.hostile_clients`; the probes, ``/proc`` sampling and the report in :mod:`.hostile_measure`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from .hostile_clients import KIND_NAMES, Plan, clients_process, raise_open_files
from .hostile_measure import (
    TABLE_HEAD,
    Probe,
    Report,
    check_loopback,
    format_report,
    memory_summary,
    probe_summary,
    prober,
    serve,
    server_cpu,
    server_memory,
    socket_memory,
    summary_row,
)

__all__ = ["KIND_NAMES", "Plan", "Report", "format_report", "main", "run", "serve", "summary_row"]


async def run(plan: Plan, url: str, pid: int | None = None, nice: int = 10) -> Report:
    """Hold ``plan.clients`` hostile clients of each kind against ``url`` while probing it;
    ``pid``: the server's (master) process, whose tree's memory is sampled; ``nice``: how much
    lower the hostile clients' priority is than the probes'."""
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    check_loopback(host)
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
    probing = context.Process(
        target=prober, args=(host, port, plan.probe_interval, plan.probe_timeout, remote), daemon=True
    )
    results, results_remote = context.Pipe()
    clients = context.Process(target=clients_process, args=(plan, host, port, nice, results_remote))
    sample_task = asyncio.create_task(sampler())
    await asyncio.sleep(1.0)  # a baseline sample before anything starts
    cpu_start = server_cpu(pid) if pid is not None else 0.0
    probing.start()
    clients.start()
    stats, ramp_done, harness_seconds = await loop.run_in_executor(None, results.recv)
    control.send("stop")
    stop.set()
    await sample_task
    probe_results = await loop.run_in_executor(None, control.recv)
    probing.join(10)
    clients.join(10)
    wall = time.monotonic() - started - 1.0
    server_seconds = server_cpu(pid) - cpu_start if pid is not None else None
    opened = sum(s.opened for s in stats.values())
    cpu = {
        "server_seconds": None if server_seconds is None else round(server_seconds, 1),
        # Runs last as long as a starved harness takes: per connection they compare.
        "server_ms_per_connection": (
            round(1000 * server_seconds / opened, 2) if server_seconds is not None and opened else None
        ),
        "hostile_connections": opened,
        "harness_seconds": round(harness_seconds, 1),
        "wall_seconds": round(wall, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }
    probes = [Probe(path, t, seconds, status) for path, t, seconds, status in probe_results]
    return Report(
        plan=plan,
        kinds={kind: s.summary() for kind, s in stats.items()},
        probes=probe_summary(probes, plan.within, ramp_done),
        memory=memory_summary(samples),
        cpu=cpu,
        seconds=round(time.monotonic() - started, 1),
    )


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
    parser.add_argument("--server-log", type=Path, help="with --start: write the server's output here")
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
            with serve(tuple(args.serve_args.split()), log=args.server_log) as (base, proc):
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
