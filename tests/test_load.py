"""A bounded loopback load test against a real gunicorn server (2 workers and the translation
process, the tiny model): zero errors, resident memory flat within 10 % after warm-up, no worker
or translation process restarts.

TRANSNORM_LOAD_SECONDS sets the duration (default 20; CI runs 120)."""

from __future__ import annotations

import concurrent.futures
import os
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SEEDS, running_server

pytestmark = pytest.mark.slow  # a timed load run against a real server


def _rss_kb(pid: int) -> int:
    """Resident memory of a live process, in kB; an error when it cannot be read (a worker that
    exited has no VmRSS line: it must not read as zero, which would make the check below hold)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no resident memory for pid {pid}")


def _workers(pid: int) -> list[int]:
    """The server's processes: its gunicorn workers and its translation process."""
    return sorted(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


def _is_translator(pid: int) -> bool:
    return b"transnorm.translator" in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_load_concurrency_16(real_settings, tmp_path):
    seconds = float(os.environ.get("TRANSNORM_LOAD_SECONDS", "20"))
    args = ("--workers", "2", "--http-threads", "8")
    with running_server(real_settings.pipeline.models_dir, tmp_path, args=args) as (base, proc):
        documents = [p.read_bytes() for p in sorted(SEEDS.glob("*.txt"))]
        workers = _workers(proc.pid)  # the two workers and the translation process: none may restart
        assert len(workers) == 3 and sum(map(_is_translator, workers)) == 1
        deadline = time.monotonic() + seconds
        warm_at = time.monotonic() + seconds * 0.25
        counts = {"ok": 0, "errors": 0}
        rss_warm: list[int] = []
        kinds: dict[str, int] = {}

        def client(n: int) -> None:
            i = n
            while time.monotonic() < deadline:
                data = documents[i % len(documents)]
                i += 1
                req = urllib.request.Request(
                    base + "/v1/normalize", data=data, headers={"Content-Type": "text/plain"}
                )
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        r.read()
                        counts["ok" if r.status == 200 else "errors"] += 1
                except Exception as exc:
                    counts["errors"] += 1
                    kinds[type(exc).__name__ + ": " + str(exc)[:80]] = (
                        kinds.get(type(exc).__name__ + ": " + str(exc)[:80], 0) + 1
                    )
                if not rss_warm and time.monotonic() > warm_at and n == 0:
                    rss_warm.extend(_rss_kb(w) for w in workers)

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(client, range(16)))
        rss_end = [_rss_kb(w) for w in workers]
        assert counts["errors"] == 0 and counts["ok"] > 0, (counts, kinds)
        assert _workers(proc.pid) == workers, "a worker was restarted"
        assert rss_warm, "warm-up sample missing"
        # A worker holding the app and a loaded model is tens of MB: anything less is a misreading.
        assert min(rss_warm + rss_end) > 30_000, (rss_warm, rss_end)
        for warm, end in zip(rss_warm, rss_end, strict=True):
            assert end <= warm * 1.10, (rss_warm, rss_end)
        print(
            f"\nload: {counts['ok']} requests in {seconds:.0f} s at concurrency 16, "
            f"RSS warm {rss_warm} kB, end {rss_end} kB"
        )
