"""The hostile catalogue, generated: malformed framing, huge headers, deep JSON, lone surrogates,
NUL bytes, 10 MB bodies, and the breaks issue 22 reported (UTF-16/32 JSON, transfer codings, no
Host), each sent raw to the real server (`transnorm serve`, the default 10 MiB limit). Every answer
is a 4xx (501 for a transfer coding other than chunked, as RFC 9112 says) with the security
headers, whoever made it: the app, or the worker before the app saw the request."""

from __future__ import annotations

import contextlib
import json
import socket
import threading

import pytest
from conftest import running_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

ROUTES = ("/v1/normalize", "/v1/normalize/batch", "/translate", "/detect")
#: Bytes no HTTP token may hold (RFC 9110 §5.6.2): separators, controls, DEL, non-ASCII.
NOT_TOKEN = [bytes([b]) for b in b'\x00\x01\r"(),/:;<=>?@[\\]{}\x7f\x80\xff']
LIMIT = 10 * 1024 * 1024 + 64 * 1024  # TRANSNORM_MAX_BYTES's default and the JSON allowance


@pytest.fixture(scope="module")
def server(real_settings, tmp_path_factory):
    env = {"TRANSNORM_MAX_BYTES": str(10 * 1024 * 1024), "TRANSNORM_HEADER_TIMEOUT": "2"}
    logs = tmp_path_factory.mktemp("catalogue")
    with running_server(real_settings.pipeline.models_dir, logs, env, args=("--workers", "1")) as (base, _):
        yield base


def post(path: str, body: bytes, content_type: str = "application/json", head: bytes = b"") -> bytes:
    start = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
    return start.encode() + head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


def splice(draw: st.DrawFn, text: bytes, piece: bytes) -> bytes:
    at = draw(st.integers(0, len(text)))
    return text[:at] + piece + text[at:]


@st.composite
def malformed_framing(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    path = draw(st.sampled_from(ROUTES)).encode()
    bad = draw(st.sampled_from(NOT_TOKEN))
    token = draw(st.from_regex(rb"\A[A-Za-z]{1,12}\Z"))
    choice = draw(st.integers(0, 6))
    if choice == 0:  # a method that is not a token
        return splice(draw, token, bad) + b" " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n", {400}
    if choice == 1:  # a header name that is not a token, or a line without a colon
        name = splice(draw, token, bad) if bad != b":" else token
        return b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + name + b" v\r\n\r\n", {400}
    if choice == 2:  # a Content-Length that is not a number, or two that differ
        value = draw(st.sampled_from([b"+1", b"-1", b"0x10", b"1e3", b"1,2", b" ", b"\xd9\xa3"]))
        return post(path.decode(), b"{}", head=b"Content-Length: " + value + b"\r\n"), {400}
    if choice == 3:  # a chunk size that is not hexadecimal
        size = splice(
            draw,
            draw(st.from_regex(rb"\A[0-9a-f]{0,4}\Z")),
            draw(st.sampled_from([b"g", b"z", b"+", b"-", b" x"])),
        )
        head = b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + size + b"\r\nhello\r\n0\r\n\r\n", {400}
    if choice == 4:  # a transfer coding other than chunked
        coding = draw(st.sampled_from([b"gzip, chunked", b"deflate", b"identity", b"chunked, gzip", token]))
        return b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + coding + b"\r\n\r\n", {
            400,
            501,
        }
    if choice == 5:  # HTTP/1.1 without Host (RFC 9112 §3.2)
        return b"GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n", {400}
    version = draw(st.sampled_from([b"HTTP/2.0", b"HTTP/0.9", b"HTTX/1.1", b"HTTP/1.1x"]))
    return b"GET /healthz " + version + b"\r\nHost: t\r\n\r\n", {400, 505}


@st.composite
def huge_headers(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    size = draw(st.integers(9_000, 300_000))
    where = draw(st.sampled_from(["target", "value", "count"]))
    if where == "target":
        return b"GET /healthz?" + b"a" * size + b" HTTP/1.1\r\nHost: t\r\n\r\n", {414, 400}
    if where == "value":
        return b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"v" * size + b"\r\n\r\n", {431, 400}
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(101 + size % 1000))
    return b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + many + b"\r\n", {431, 400}


@st.composite
def deep_json(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    depth = draw(st.integers(1_000, 200_000))
    opener = draw(st.sampled_from([b"[", b'{"q":', b'{"text":', b'{"documents":']))
    closer = {b"[": b"]"}.get(opener, b"}") * draw(st.sampled_from([0, depth]))
    return post(draw(st.sampled_from(ROUTES)), opener * depth + closer), {400}


@st.composite
def bad_text(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    """Lone surrogates (escaped, or as CESU-8 bytes), NUL in JSON's syntax, UTF-16/32 JSON."""
    path = draw(st.sampled_from(ROUTES))
    field = "q" if path in ("/translate", "/detect") else "text"
    words = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
    plain = {field: words, "source": "auto", "target": "en"}
    if path == "/v1/normalize/batch":
        plain = {"documents": [{"text": words}]}
    text = json.dumps(plain).encode()
    choice = draw(st.integers(0, 3))
    if choice == 0 and path != "/v1/normalize/batch":  # (a batch answers 200, that document's error inside)
        surrogate = b"\\u%x" % draw(st.integers(0xD800, 0xDFFF))
        at = text.index(json.dumps(words).encode()) + 1
        return post(path, text[:at] + surrogate + text[at:]), {400}
    if choice == 1:
        return post(path, splice(draw, text, b"\xed" + bytes([draw(st.integers(0xA0, 0xBF)), 0x80]))), {400}
    if choice == 2:
        return post(path, text.replace(b":", b"\x00:", 1)), {400}
    encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]))
    return post(path, json.dumps(plain, ensure_ascii=False).encode(encoding)), {400}


@st.composite
def nul_in_framing(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    where = draw(st.sampled_from(["target", "value", "name"]))
    if where == "target":
        return b"GET /heal\x00thz HTTP/1.1\r\nHost: t\r\n\r\n", {400}
    if where == "value":
        return b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n", {400}
    return b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-\x00A: a\r\n\r\n", {400}


@st.composite
def ten_megabytes(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    """10 MB bodies: over the limit (413), or within it and not JSON, UTF-8 or an object (400)."""
    path = draw(st.sampled_from(ROUTES))
    over = draw(st.booleans())
    size = LIMIT + draw(st.integers(1, 4096)) if over else draw(st.integers(10_000_000, 10_400_000))
    fill = draw(st.sampled_from([b"\xff", b"[", b"1", b" "]))
    return post(path, fill * size), {413} if over else {400}


CATALOGUE = st.one_of(
    malformed_framing(), huge_headers(), deep_json(), bad_text(), nul_in_framing(), ten_megabytes()
)


def send(base: str, raw: bytes) -> tuple[int, dict[str, str]]:
    """Send ``raw`` while reading the answer, as an HTTP client does (the server may answer, and
    close, before the body is all in); the status and headers (lower-case names)."""
    sock = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=30)
    sender = threading.Thread(target=_send_all, args=(sock, raw), daemon=True)
    sender.start()
    data = b""
    with sock, contextlib.suppress(OSError):
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    sender.join(30)
    lines = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    return status, {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}


def _send_all(sock: socket.socket, raw: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(raw)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=CATALOGUE)
def test_every_hostile_request_gets_a_4xx_with_the_security_headers(server, case):
    raw, expected = case
    status, headers = send(server, raw)
    assert status in expected, (status, raw[:200])
    assert headers.get("x-content-type-options") == "nosniff", headers
    assert headers.get("x-frame-options") == "DENY", headers
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), headers


def test_the_catalogue_reaches_the_worker_and_the_app(server):
    """The catalogue's answers come from both sides: the worker (framing) and the app (bodies)."""
    framing, _ = send(server, b"GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n")
    utf16, headers = send(server, post("/detect", json.dumps({"q": "Hi"}).encode("utf-16")))
    assert framing == 400 and utf16 == 400 and headers.get("x-request-id")


def test_a_higher_minor_version_is_read_as_http_1_1(server):
    """RFC 9112 §2.6: HTTP/1.2 is processed as the highest 1.x the server implements, not refused
    (the catalogue once listed it among the malformed versions)."""
    status, headers = send(server, b"GET /healthz HTTP/1.2\r\nHost: t\r\n\r\n")
    assert status == 200 and headers.get("x-content-type-options") == "nosniff"
