"""The evented worker against the real server: framing that RFC 9112 forbids, the responses the
worker writes itself (with the app's security headers), the connection cap, deadlines on a
chunked body, on a request as a whole and on a response nobody reads, and SIGTERM under load."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT, _free_port, http_get, running_server
from test_hostile import exchange

pytestmark = pytest.mark.slow

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


def assert_security_headers(headers: dict[str, str]) -> None:
    for name, value in SECURITY.items():
        assert headers.get(name) == value, (name, headers)
    assert "default-src 'none'" in headers["content-security-policy"], headers


@pytest.fixture(scope="module")
def strict(real_settings, tmp_path_factory):
    """One worker with short deadlines: base URL."""
    logs = tmp_path_factory.mktemp("strict")
    env = {
        "TRANSNORM_HEADER_TIMEOUT": "1.5",
        "TRANSNORM_BODY_TIMEOUT": "1.5",
        "TRANSNORM_REQUEST_TIMEOUT": "6",
    }
    with running_server(real_settings.pipeline.models_dir, logs, env, args=("--workers", "1")) as (base, _):
        yield base


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


# -- framing RFC 9112 forbids ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /healthz HTTP/1.1\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n",
    ],
    ids=["no Host", "two Hosts", "invalid Host"],
)
def test_an_http11_request_without_exactly_one_valid_host_is_400(strict, raw):
    status, headers, body, _ = exchange(strict, raw)
    assert status == 400, body
    assert json.loads(body)["status"] == 400
    assert_security_headers(headers)


def test_an_http10_request_needs_no_host(strict):
    status, _, body, _ = exchange(strict, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert status == 200 and json.loads(body) == {"status": "ok"}


@pytest.mark.parametrize("codings", ["gzip, chunked", "deflate, chunked", "compress, chunked"])
def test_a_transfer_coding_other_than_chunked_is_501(strict, codings):
    gzipped = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # nothing here decodes it
    raw = (
        (
            f"POST /v1/normalize HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
            f"Transfer-Encoding: {codings}\r\n\r\n"
        ).encode()
        + b"a\r\n"
        + gzipped
        + b"\r\n0\r\n\r\n"
    )
    status, headers, body, _ = exchange(strict, raw)
    assert status == 501, body
    assert headers["connection"] == "close"
    assert_security_headers(headers)


# -- responses the worker writes itself -----------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"GET /healthz HTTP/1.1 x\r\nHost: t\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"X-A: b\r\n" * 120 + b"\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Unfinished: ", 408),
    ],
    ids=["request line", "long target", "long header", "many headers", "header name", "slow headers"],
)
def test_responses_the_worker_makes_carry_the_security_headers(strict, raw, expected):
    status, headers, body, took = exchange(strict, raw)
    assert status == expected, body
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == expected
    assert_security_headers(headers)
    assert took < 8


def test_over_the_connection_cap_a_client_gets_503(real_settings, tmp_path):
    env = {"TRANSNORM_MAX_CONNECTIONS": "10"}
    with running_server(real_settings.pipeline.models_dir, tmp_path, env, args=("--workers", "1")) as (
        base,
        _,
    ):
        idle = [socket.create_connection(("127.0.0.1", _port(base))) for _ in range(10)]
        try:
            time.sleep(0.5)  # the worker has accepted them
            status, headers, body, _ = exchange(base, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert status == 503, body
            assert headers["retry-after"] == "1"
            assert "TRANSNORM_MAX_CONNECTIONS" in json.loads(body)["detail"]
            assert_security_headers(headers)
        finally:
            for s in idle:
                s.close()
        time.sleep(0.5)
        assert http_get(base + "/healthz")[0] == 200


# -- deadlines ----------------------------------------------------------------------------------


def test_a_chunked_body_sent_steadily_is_not_cut(strict):
    """Past twice the body deadline (3 s): chunked bodies earn time by their rate, as bodies with
    a Content-Length do."""
    with socket.create_connection(("127.0.0.1", _port(strict)), timeout=30) as s:
        s.sendall(
            b"POST /v1/normalize?format=text HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        started = time.monotonic()
        while time.monotonic() - started < 5:
            s.sendall(b"7d0\r\n" + b"Hello. " * 285 + b"Hello\r\n")  # 2,000 bytes every 0.25 s
            time.sleep(0.25)
        s.sendall(b"0\r\n\r\n")
        reply = s.recv(200)
    assert reply.startswith(b"HTTP/1.1 200"), reply


def test_the_request_deadline_cuts_a_body_sent_above_the_minimum_rate(strict):
    """99 kB declared (under the fixture's size limit), sent at four times the minimum rate:
    allowed 50 s by the rate, cut by TRANSNORM_REQUEST_TIMEOUT (6 s) with 408."""
    with socket.create_connection(("127.0.0.1", _port(strict)), timeout=30) as s:
        s.sendall(
            b"POST /v1/normalize HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 99000\r\n\r\n"
        )
        started = time.monotonic()
        reply = b""
        while time.monotonic() - started < 20 and not reply:
            try:
                s.sendall(b"a" * 1000)
            except OSError:
                break
            s.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                reply = s.recv(200)
        took = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert 4 < took < 12


def _tcp_state(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def test_a_client_that_never_reads_its_response_is_cut(strict):
    """The response stays unread in the kernel: the worker waits for it to be read under the
    write deadline, then resets the connection (which frees the kernel's buffers)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", _port(strict)))
    body = b"x" * 8000  # a JSON reply of about 25 kB
    sock.sendall(
        b"POST /v1/normalize HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    started = time.monotonic()
    try:
        while _tcp_state(sock) == 1 and time.monotonic() - started < 20:  # ESTABLISHED
            time.sleep(0.2)
        assert _tcp_state(sock) == 7, "the connection was not reset"  # CLOSE
        assert time.monotonic() - started < 12
    finally:
        sock.close()


@pytest.fixture
def slow_app(tmp_path):
    """gunicorn with transnorm's settings and worker over tests/slow_app.py: base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "TRANSNORM_PORT": str(port),
        "TRANSNORM_REQUEST_TIMEOUT": "3",
        "TRANSNORM_WORKERS": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "gunicorn", "-c", "python:transnorm.server.gunicorn_conf"]
    command += ["--pythonpath", str(ROOT / "tests"), "slow_app:app"]
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            with contextlib.suppress(OSError):
                if http_get(base + "/", 1)[0] == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("server did not start: " + (tmp_path / "server.log").read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_an_app_slower_than_the_request_deadline_gets_503_and_the_worker_goes_on(slow_app):
    answers: list[tuple[int, dict[str, str], bytes, float]] = []
    slow = threading.Thread(
        target=lambda: answers.append(exchange(slow_app, b"GET /sleep?s=30 HTTP/1.1\r\nHost: t\r\n\r\n", 20))
    )
    slow.start()
    time.sleep(0.5)
    status, _, body, took = exchange(slow_app, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert status == 200 and took < 2  # the worker is not stuck behind the slow request
    slow.join(20)
    status, headers, body, took = answers[0]
    assert status == 503, body
    assert "TRANSNORM_REQUEST_TIMEOUT" in json.loads(body)["detail"]
    assert_security_headers(headers)
    assert 2.5 < took < 8


# -- graceful shutdown ------------------------------------------------------------------------------


def test_sigterm_finishes_every_request_in_flight(real_settings, seeds, tmp_path):
    """32 clients post documents without pause; SIGTERM: every request the server had accepted
    is answered, and later connections are refused — none is reset."""
    documents = [text for text in seeds.values()]
    outcomes: list[str] = []
    terminated = threading.Event()
    after_term: list[str] = []

    with running_server(real_settings.pipeline.models_dir, tmp_path, args=()) as (base, proc):
        port = _port(base)

        def client(i: int) -> None:
            n = 0
            while True:
                body = documents[(i + n) % len(documents)] + f"\n\nRequest {i}-{n}.".encode()
                n += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                try:
                    conn.request("POST", "/v1/normalize", body, {"Content-Type": "text/plain"})
                except ConnectionRefusedError:
                    outcomes.append("refused")
                    return
                except OSError as exc:
                    outcomes.append(f"send: {type(exc).__name__}")
                    return
                try:
                    response = conn.getresponse()
                    response.read()
                    outcome = str(response.status)
                except (OSError, http.client.HTTPException) as exc:
                    outcome = f"reset: {type(exc).__name__}"
                finally:
                    conn.close()
                outcomes.append(outcome)
                if terminated.is_set():
                    after_term.append(outcome)
                if outcome != "200":
                    return

        threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        terminated.set()
        for t in threads:
            t.join(60)
        code = proc.wait(60)
    print(f"\n{len(outcomes)} outcomes; after SIGTERM: {len(after_term)}")
    resets = [o for o in outcomes if o not in ("200", "refused")]
    assert resets == []
    assert outcomes.count("200") >= 32
    assert len(after_term) >= 16 and set(after_term) == {"200"}  # in flight at SIGTERM, answered
    assert code == 0
