"""Per-client request limits: the counter, the HTTP answers (problem+json for /v1, LibreTranslate's
``{"error"}`` for its endpoints, both 429 with Retry-After), and the limit shared by two real
gunicorn workers. Every limiter here reads a clock the test sets: none waits for, or depends on,
the wall-clock minute."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time
from pathlib import Path

import pytest
from conftest import MID_WINDOW, Clock, http_get, http_post, run_cli, running_server
from transnorm import Settings
from transnorm.server import ratelimit
from transnorm.server.ratelimit import RateLimiter


@pytest.mark.parametrize("shared", [False, True])
def test_limit_per_client_and_window(tmp_path, shared):
    clock = Clock(600.0)
    limiter = RateLimiter(3, tmp_path / "rl.sqlite" if shared else None, clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    clock.now = 615.2
    assert limiter.hit("a") == 45  # whole seconds until the next minute
    assert limiter.hit("b") is None  # another client has its own allowance
    clock.now = 660.0  # a new window
    assert limiter.hit("a") is None


def test_two_processes_share_one_count(tmp_path):
    # Two limiters on one file stand for two gunicorn workers.
    clock = Clock(0.0)
    first, second = (RateLimiter(4, tmp_path / "rl.sqlite", clock) for _ in range(2))
    results = [(first if i % 2 else second).hit("client") for i in range(6)]
    assert results[:4] == [None] * 4 and all(r is not None for r in results[4:])


def test_limiters_without_a_clock_read_the_default_one_at_each_hit(clock):
    limiter = RateLimiter(1)
    assert ratelimit.default_clock is clock and limiter.hit("a") is None
    assert limiter.hit("a") == 55  # MID_WINDOW is 5 s into its window
    clock.now += 55  # the next window
    assert limiter.hit("a") is None


@pytest.fixture
def limited(make_app, clock, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    return make_app(Settings(requests_per_minute=2, api_keys=("k1", "k2"))).test_client()


def test_http_answers_429_with_retry_after(limited):
    def post(key: str | None = "k1"):
        headers = {"X-API-Key": key} if key else {}
        return limited.post("/v1/normalize", data=b"Hi.", content_type="text/plain", headers=headers)

    assert [post().status_code for _ in range(2)] == [200, 200]
    r = post()
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert r.headers["Retry-After"] == "55" and "2 requests per minute" in r.json["detail"]
    assert post("k2").status_code == 200  # each key has its own allowance
    # Probes, metrics and the language list are never limited.
    assert (
        limited.get("/readyz").status_code == 200
        and limited.get("/v1/languages", headers={"X-API-Key": "k1"}).status_code == 200
    )
    # LibreTranslate's endpoints share the count and answer as LibreTranslate does.
    lt = {"source": "auto", "target": "en"}
    r = limited.post("/translate", json={"q": "科尔图诺夫。", "api_key": "k1", **lt})
    assert r.status_code == 429 and set(r.json) == {"error"} and r.json["error"].startswith("Slowdown: ")
    assert limited.post("/translate", json={"q": "Hi", "api_key": "k2", **lt}).status_code == 200


def test_a_new_window_gives_a_new_allowance(limited, clock):
    def post():
        return limited.post(
            "/v1/normalize", data=b"Hi.", content_type="text/plain", headers={"X-API-Key": "k1"}
        )

    assert [post().status_code for _ in range(3)] == [200, 200, 429]
    clock.now += 54.5  # still the same window: half a second left, announced as one
    r = post()
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    clock.now += 0.5
    assert [post().status_code for _ in range(3)] == [200, 200, 429]


def test_made_up_keys_do_not_buy_a_fresh_allowance(limited):
    statuses = [
        limited.post("/translate", json={"q": "Hi", "api_key": f"guess-{i}"}).status_code for i in range(4)
    ]
    # Invalid keys count against the address: refused for the key (403) until over the limit (429).
    assert statuses == [403, 403, 429, 429]


def test_a_negative_limit_is_refused_before_serving():
    r = run_cli(["serve", "--requests-per-minute", "-1"])
    assert r.returncode == 2 and b"requests_per_minute" in r.stderr


def _children(pid: int) -> list[int]:
    return sorted(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


@pytest.mark.slow
def test_real_server_limit_is_shared_by_workers_and_survives_restarts(real_settings, tmp_path):
    # Both workers read the time from this file (tests/clock_hook): the test moves it.
    now = tmp_path / "now"
    now.write_text(repr(MID_WINDOW))
    args = ("--workers", "2", "--requests-per-minute", "10")
    with running_server(real_settings.pipeline.models_dir, tmp_path, args=args, clock_file=now) as (
        base,
        proc,
    ):

        def post(_: int = 0) -> int:
            return http_post(base + "/v1/normalize", b"Plain English.", "text/plain")[0]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(24)))
        assert statuses.count(200) == 10 and statuses.count(429) == 14, statuses
        # Replace both workers: counts kept per process would start again from zero.
        old = _children(proc.pid)
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            new = _children(proc.pid)
            try:
                if len(new) == 2 and not set(new) & set(old) and http_get(base + "/readyz", 2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert len(new) == 2 and not set(new) & set(old), (old, new)  # both replaced, and ready
        assert post() == 429
        status, headers, body = http_post(
            base + "/translate", json.dumps({"q": "Hi"}).encode(), "application/json"
        )
        assert status == 429 and "Slowdown" in json.loads(body)["error"] and headers["Retry-After"] == "55"
        # The next window: a fresh allowance, shared again.
        now.write_text(repr(MID_WINDOW + 55))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(12)))
        assert statuses.count(200) == 10 and statuses.count(429) == 2, statuses
