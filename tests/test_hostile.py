"""Hostile clients against the real server (gunicorn, the transnorm worker): malformed framing,
slow headers and bodies, trickling clients, deep JSON, lone surrogates, odd LibreTranslate
parameters, broken models. Each answers 4xx (or 503 for broken models), frees its thread, and
leaves document text out of the log."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.parse

import pytest
from conftest import http_get, http_post, running_server

pytestmark = pytest.mark.slow

SECRET = "SECRET-DOCUMENT-TEXT"


@pytest.fixture(scope="module")
def hostile(real_settings, tmp_path_factory):
    """A server with short read deadlines: (base URL, log file)."""
    logs = tmp_path_factory.mktemp("hostile")
    env = {"TRANSNORM_HEADER_TIMEOUT": "1.5", "TRANSNORM_BODY_TIMEOUT": "1.5"}
    with running_server(real_settings.pipeline.models_dir, logs, env) as (base, _):
        yield base, logs / "server.log"


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def exchange(base: str, raw: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes, float]:
    """Send raw bytes; read until the server closes or a full response is in. Returns status,
    headers (lower-case names), body and seconds taken."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(body) >= length:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body, time.monotonic() - started


def chunked(path: str, content_type: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + body


MALFORMED_CHUNKS = {
    "chunk size zz": f"zz\r\n{SECRET}\r\n0\r\n\r\n".encode(),
    "no CRLF after chunk data": f"5\r\nhello{SECRET}\r\n0\r\n\r\n".encode(),
    "chunk size with a sign": f"+5\r\n{SECRET}\r\n0\r\n\r\n".encode(),
}


@pytest.mark.parametrize("name", MALFORMED_CHUNKS)
@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/v1/normalize", "text/plain"),
        ("/v1/normalize/batch", "application/json"),
        ("/translate", "application/json"),
        ("/translate", "application/x-www-form-urlencoded"),
        ("/detect", "application/json"),
    ],
)
@pytest.mark.slow
def test_malformed_chunked_body_is_400_and_never_logged(hostile, path, content_type, name):
    base, log = hostile
    status, headers, body, _ = exchange(base, chunked(path, content_type, MALFORMED_CHUNKS[name]))
    assert status == 400, body
    assert headers["connection"] == "close"  # where the next request would start is unknown
    if path.startswith("/v1"):
        assert headers["content-type"].startswith("application/problem+json")
        assert json.loads(body)["status"] == 400
    else:
        assert json.loads(body) == {"error": "malformed request body (chunked framing)"}
    time.sleep(0.2)
    assert SECRET not in log.read_text(errors="replace")


@pytest.mark.slow
def test_malformed_request_line_and_headers_are_4xx_and_never_logged(hostile):
    base, log = hostile
    for raw in (
        f"GET /{SECRET} HTTP/1.1 x\r\nHost: t\r\n\r\n".encode(),
        f"POST /v1/normalize HTTP/1.1\r\nHost: t\r\nContent-Length: {SECRET}\r\n\r\n".encode(),
        f"GET /healthz HTTP/1.1\r\nHost: {SECRET}\x00\r\n\r\n".encode(),
        b"POST /v1/normalize HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    ):
        status, _, _, _ = exchange(base, raw)
        assert 400 <= status < 500, raw
    time.sleep(0.2)
    assert SECRET not in log.read_text(errors="replace")


@pytest.mark.slow
def test_slow_headers_and_unfinished_bodies_get_408(hostile):
    base, _ = hostile
    # Headers never finished.
    status, headers, body, took = exchange(base, b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
    assert status == 408 and headers["connection"] == "close" and took < 6
    # A declared body that never comes, on /v1 and on LibreTranslate's routes (each its own format).
    for path, content_type in (("/v1/normalize", "text/plain"), ("/translate", "application/json")):
        raw = (
            f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
            "Content-Length: 1000\r\n\r\nab"
        )
        status, headers, body, took = exchange(base, raw.encode())
        assert status == 408 and headers["connection"] == "close" and took < 6, body
        parsed = json.loads(body)
        assert parsed["status"] == 408 if path.startswith("/v1") else "error" in parsed
    # A chunked body whose last chunk never comes.
    status, _, _, took = exchange(base, chunked("/v1/normalize", "text/plain", b"5\r\nhello\r\n"))
    assert status == 408 and took < 6


@pytest.mark.slow
def test_a_client_sending_at_the_minimum_rate_is_served(hostile):
    """The deadline grows with what arrives: a large body sent steadily is not cut off."""
    base, _ = hostile
    text = ("第一句话在这里。" * 2000).encode()  # 48 kB: about 100 s at the minimum rate of 500 B/s
    head = (
        "POST /v1/normalize HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(text)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=30) as s:
        s.sendall(head)
        for i in range(0, len(text), 8000):  # 8 kB every 0.5 s: above the minimum rate, over 1.5 s
            s.sendall(text[i : i + 8000])
            time.sleep(0.5)
        reply = s.recv(200)
    assert reply.startswith(b"HTTP/1.1 200"), reply


def test_a_hundred_hostile_clients_of_each_kind_leave_normal_requests_answered(real_settings, tmp_path):
    """100 clients of each kind at once (slow headers, slow bodies with Content-Length and
    chunked, a trickle above the minimum rate, readers that never read, idle connections, idle
    keep-alive connections), each reconnecting when cut, against the server as `transnorm serve`
    starts it by default; meanwhile /healthz and a small /v1/normalize are probed ten times a
    second (transnorm.devtools.hostile)."""
    from transnorm.devtools import hostile
    from transnorm.settings import PipelineSettings

    plan = hostile.Plan(clients=100, hold=25)  # readers that never read are cut after ~20 s
    default_max_bytes = str(PipelineSettings.model_fields["max_bytes"].default)
    env = {"TRANSNORM_MAX_BYTES": default_max_bytes}
    with running_server(real_settings.pipeline.models_dir, tmp_path, env, args=()) as (base, proc):
        report = asyncio.run(hostile.run(plan, base, proc.pid))
    print("\n" + hostile.format_report(report))
    probes, kinds = report.probes, report.kinds
    assert probes["count"] >= 200
    assert probes["no_answer"] == 0 and probes["server_errors"] == 0, probes["late"]
    assert probes["in_time"] >= 0.99 * probes["count"], probes["late"]
    # Every kind was held at once and cut as it should be; the trickle is above the minimum rate.
    for kind in ("slow_headers", "slow_body", "slow_chunked"):
        assert kinds[kind]["ended"].get("408", 0) >= 100, (kind, kinds[kind])
    assert kinds["idle"]["ended"].get("closed", 0) >= 100, kinds["idle"]
    assert kinds["idle_keepalive"]["ended"].get("closed", 0) >= 100, kinds["idle_keepalive"]
    assert kinds["slow_reader"]["ended"].get("reset", 0) >= 90, kinds["slow_reader"]
    assert kinds["trickle"]["held_at_end"] == 100 and not kinds["trickle"]["ended"], kinds["trickle"]
    assert all(k["connect_failed"] == 0 for k in kinds.values()), kinds
    # Memory bounded: 700 connections and their requests cost the server tens of MiB, not hundreds.
    memory = report.memory
    assert memory["pss_peak_mib"] - memory["pss_start_mib"] < 200, memory


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/translate", "/detect", "/v1/normalize", "/v1/normalize/batch"])
def test_json_nested_100000_deep_is_400(hostile, path):
    base, _ = hostile
    status, _, body = http_post(base + path, b"[" * 100_000, "application/json")
    assert status == 400, body
    status, _, body = http_post(base + path, b'{"q":' * 15_000, "application/json")
    assert status == 400, body


@pytest.mark.slow
def test_lone_surrogates_echoed_back_are_escaped(hostile):
    base, _ = hostile
    cases = [
        ("/v1/normalize", b'{"text": "Hello.", "id": "a\\udc80b"}', 200),
        ("/v1/normalize", b'{"text": "Hello.", "options": {"\\ud800x": 1}}', 400),
        ("/v1/normalize/batch", b'{"documents": [{"text": "Hi.", "id": "\\udfff"}]}', 200),
        ("/translate", b'{"q": "Hi", "source": "auto", "target": "en", "format": "\\ud800"}', 400),
        ("/translate", b'{"q": "Hi", "source": "\\ud800", "target": "en"}', 400),
        ("/detect", b'{"q": "\\ud800 hello"}', 400),  # text UTF-8 cannot hold: a clear 400
    ]
    for path, data, expected in cases:
        status, _, body = http_post(base + path, data, "application/json")
        assert status == expected, (path, data, body)
        json.loads(body)  # valid JSON, valid UTF-8
        body.decode("utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("value", ["²", "+-1", "--1", "9" * 5000, "1e3", "٣٣", " ", "0x1"])
def test_libretranslate_alternatives_that_int_cannot_read_are_400(hostile, value):
    base, _ = hostile
    for data, content_type in (
        (
            json.dumps({"q": "Hi", "source": "auto", "target": "en", "alternatives": value}).encode(),
            "application/json",
        ),
        (
            urllib.parse.urlencode(
                {"q": "Hi", "source": "auto", "target": "en", "alternatives": value}
            ).encode(),
            "application/x-www-form-urlencoded",
        ),
    ):
        status, _, body = http_post(base + "/translate", data, content_type)
        assert status == 400 and "alternatives" in json.loads(body)["error"], body


def test_no_static_route_even_with_a_static_folder(tmp_path, monkeypatch, make_app):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "secret.txt").write_text("do not serve")
    monkeypatch.chdir(tmp_path)
    app = make_app()
    assert all(rule.endpoint != "static" for rule in app.url_map.iter_rules())
    assert app.test_client().get("/static/secret.txt").status_code == 404


@pytest.mark.slow
def test_security_headers_on_every_route(hostile):
    base, _ = hostile
    spec = json.loads(http_get(base + "/openapi.json")[1])
    for path, methods in spec["paths"].items():
        for method in methods:
            raw = f"{method.upper()} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
            raw += "Connection: close\r\n\r\n"
            status, headers, _, _ = exchange(base, raw.encode())
            assert status < 500, (method, path)
            assert headers["x-content-type-options"] == "nosniff"
            assert "frame-ancestors 'none'" in headers["content-security-policy"], (method, path)
            assert headers["x-frame-options"] == "DENY"


@pytest.mark.slow
def test_broken_model_answers_503_with_the_cause(tiny_package, tmp_path):
    """A package that cannot load: /readyz names it and why (it is in the preload list), the
    requests that need it answer 503 with the cause, the others are served."""
    from transnorm.packages import install_file

    models = tmp_path / "models"
    install_file(tiny_package, models)
    next(models.rglob("model.bin")).write_bytes(b"not a model")
    env = {"TRANSNORM_PRELOAD": "zh"}
    with running_server(models, tmp_path, env, args=("--workers", "1"), wait_for="/healthz") as (base, _):
        for _ in range(100):
            status, body = http_get(base + "/readyz")
            if "loading the preload list" not in json.loads(body)["detail"]:
                break
            time.sleep(0.1)
        detail = json.loads(body)["detail"]
        assert status == 503 and "model loading failed" in detail and "translate-zh_en" in detail
        for _ in range(2):  # and it stays so: not "still loading" forever
            status, _, body = http_post(base + "/v1/normalize", "第一次会谈。".encode(), "text/plain")
            assert status == 503 and "cannot load" in json.loads(body)["detail"], body
            data = '{"q": "第一次会谈。", "source": "auto", "target": "en"}'.encode()
            status, _, body = http_post(base + "/translate", data, "application/json")
            assert status == 503 and "cannot load" in json.loads(body)["error"], body
        status, _, body = http_post(base + "/v1/normalize", b"Hello there.", "text/plain")
        assert status == 200, body
