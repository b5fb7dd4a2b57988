"""The HTTP service: every endpoint and error through Flask's test client, then the real thing
under gunicorn on a loopback port with two workers and the tiny real model."""

from __future__ import annotations

import json
import threading
import time

import pytest
from conftest import SEEDS, FakeEngine, http_get, http_post
from transnorm import Settings
from transnorm.server.middleware import key_is_valid

PROBLEM = "application/problem+json"


@pytest.fixture
def app(make_app):
    return make_app(Settings(max_bytes=50_000, max_batch_documents=3))


@pytest.fixture
def client(app):
    return app.test_client()


def _seed(prefix: str) -> bytes:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_bytes()


def test_health_ready_languages(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ready"
    assert {"models_loaded", "cache_hits", "cache_misses", "loads", "unloads"} <= set(ready.json["engine"])
    assert ready.json["loaded"] == [] and ready.json["preload"] == []
    langs = client.get("/v1/languages").json
    assert {p["from"] for p in langs["translation"]} == {"zh", "ru"}
    assert {"zh", "ja", "ko", "ru", "uk", "fr", "de", "es"} <= set(langs["detection"])


def test_normalize_text_plain_returns_the_contract(client):
    r = client.post("/v1/normalize", data=_seed("003"), content_type="text/plain")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.json
    assert doc["schema"] == "transnorm/2"
    zh = [s for s in doc["spans"] if s["lang"] == "zh"]
    assert zh and {s["action"] for s in zh} == {"translated"}
    assert r.headers["X-Request-Id"]


def test_normalize_json_body_with_options_and_formats(client):
    body = {"text": _seed("004").decode(), "id": "d4", "options": {"chrome": "keep"}}
    r = client.post("/v1/normalize", json=body)
    assert r.json["id"] == "d4" and "Skip to main content" in r.json["text"]
    r = client.post("/v1/normalize?format=text&markers=none", json={"text": "Hello.\n科尔图诺夫。"})
    assert r.mimetype == "text/plain" and r.get_data(as_text=True).startswith("Hello.\n")
    r = client.post("/v1/normalize", json={"text": "Hi"}, headers={"Accept": "text/html"})
    assert r.mimetype == "text/html" and r.get_data(as_text=True).startswith("<!DOCTYPE html>")
    mixed = "Hello. 科尔图诺夫。".encode()
    r = client.post("/v1/normalize?alternatives=2", data=mixed, content_type="text/plain")
    (span,) = [s for s in r.json["spans"] if s["action"] == "translated"]
    assert len(span["alternatives"]) == 2 and span["text"] not in span["alternatives"]


@pytest.mark.parametrize(
    "kwargs, status, detail",
    [
        ({"data": b"ab\xffcd", "content_type": "text/plain"}, 400, "byte offset 2"),
        ({"data": b"{bad", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"data": b"[1, 2]", "content_type": "application/json"}, 400, "must be an object"),
        ({"json": {"id": "x"}}, 400, '"text"'),
        ({"json": {"text": 5}}, 400, '"text"'),
        ({"json": {"text": "x", "extra": 1}}, 400, "unknown member"),
        ({"json": {"text": "x", "options": {"colour": "red"}}}, 400, "unknown option"),
        ({"json": {"text": "x", "options": {"beam_size": "4"}}}, 400, "beam_size"),
        ({"json": {"text": "x", "options": []}}, 400, "options must be an object"),
        ({"data": b"\x89PNG", "content_type": "image/png"}, 415, "image/png"),
        ({"data": b"x", "content_type": "text/plain; charset=latin-1"}, 415, "UTF-8"),
        ({"data": b"x" * 200_000, "content_type": "text/plain"}, 413, "limit"),
        ({"data": b"x" * 60_000, "content_type": "text/plain"}, 413, "limit is 50000"),
        ({"data": b'{"text": "' + b"[" * 100_000 + b'"}', "content_type": "application/json"}, 413, "limit"),
        ({"data": b"[" * 50_000, "content_type": "application/json"}, 400, "JSON"),
        ({"data": b'{"text": "\\ud800"}', "content_type": "application/json"}, 400, "surrogate"),
        ({"json": {"text": "x", "id": 5}}, 400, '"id"'),
        ({"data": b"x", "content_type": "text/plain", "query_string": {"beam_size": "x"}}, 400, "beam_size"),
        ({"data": b"x", "content_type": "text/plain", "query_string": {"alternatives": "9"}}, 400, "0 to 8"),
        ({"data": b"x"}, 415, "no content type"),
    ],
)
def test_errors_are_problem_json(client, kwargs, status, detail):
    r = client.post("/v1/normalize", **kwargs)
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    assert r.mimetype == PROBLEM
    assert detail in r.json["detail"] and r.json["status"] == status


def test_unknown_format_and_method(client):
    r = client.post("/v1/normalize?format=pdf", data=b"x", content_type="text/plain")
    assert r.status_code == 400 and r.mimetype == PROBLEM
    assert client.get("/v1/normalize").status_code == 405
    assert client.get("/nope").mimetype == PROBLEM


def test_batch_results_in_order_with_errors_in_place(make_app):
    client = make_app(Settings(max_bytes=20, max_batch_documents=3)).test_client()
    docs = [
        {"id": "a", "text": "第一句。"},
        {"id": "b", "text": "第二句。" * 10},  # over max_bytes: fails alone, in place
        {"id": "c", "text": "第三句。"},
    ]
    r = client.post("/v1/normalize/batch", json={"documents": docs})
    assert r.status_code == 200
    results = r.json["results"]
    assert [x["id"] for x in results] == ["a", "b", "c"]
    assert "result" in results[0] and "result" in results[2]
    assert results[1]["error"]["status"] == 413
    odd = client.post(
        "/v1/normalize/batch",
        data=b'{"documents": [{"text": "\\ud800", "id": "s"}, {"text": "x"}]}',
        content_type="application/json",
    ).json["results"]
    assert odd[0]["error"]["status"] == 400 and odd[0]["id"] == "s" and "result" in odd[1]
    # What the schema rules out fails the whole request, naming the document.
    for bad, detail in [
        ({"text": "x", "options": {"bad": 1}}, "documents[1]: unknown option 'bad'"),
        ({"text": "x", "id": 5}, 'documents[1]: "id" must be a string'),
        ({"id": "t"}, 'documents[1]: the document needs a "text" member'),
        (5, "documents[1] must be an object"),
    ]:
        r = client.post("/v1/normalize/batch", json={"documents": [{"text": "x"}, bad]})
        assert r.status_code == 400 and r.json["detail"].startswith(detail), r.json
    r = client.post("/v1/normalize/batch", json={"documents": docs * 2})
    assert r.status_code == 400 and r.mimetype == PROBLEM and "at most 3 documents" in r.json["detail"]
    assert client.post("/v1/normalize/batch", json={"docs": []}).status_code == 400
    assert client.post("/v1/normalize/batch", data=b"x", content_type="text/plain").status_code == 415


def test_batch_shares_translation_calls(make_app):
    engine = FakeEngine()
    app = make_app(engine=engine)
    docs = [{"text": "第一句。"}, {"text": "第二句。"}, {"text": "Третье предложение здесь."}]
    app.test_client().post("/v1/normalize/batch", json={"documents": docs})
    assert sorted((lang, len(s)) for lang, s in engine.calls) == [("ru", 1), ("zh", 2)]


def test_readiness_flips_only_after_models_load(make_app):
    release = threading.Event()

    class SlowEngine(FakeEngine):
        def load(self):
            release.wait(10)

    client = make_app(engine=SlowEngine(), background=True).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.post("/v1/normalize", data=b"x", content_type="text/plain").status_code == 503
    assert client.get("/healthz").status_code == 200
    release.set()
    for _ in range(100):
        if client.get("/readyz").status_code == 200:
            break
        time.sleep(0.05)
    assert client.get("/readyz").status_code == 200


def test_failed_model_load_is_reported_not_ready(make_app):
    class Broken(FakeEngine):
        def load(self):
            raise RuntimeError("model.bin is corrupt")

    client = make_app(engine=Broken()).test_client()
    r = client.get("/readyz")
    assert r.status_code == 503 and "model.bin is corrupt" in r.json["detail"]
    # Requests say why too, not "still loading" forever.
    r = client.post("/v1/normalize", data=b"x", content_type="text/plain")
    assert (
        r.status_code == 503
        and "model loading failed: RuntimeError: model.bin is corrupt" in r.json["detail"]
    )
    r = client.post("/translate", json={"q": "x", "source": "auto", "target": "en"})
    assert r.status_code == 503 and "model.bin is corrupt" in r.json["error"]


def test_api_keys(make_app):
    client = make_app(Settings(api_keys=("k1", "k2"))).test_client()
    assert client.post("/v1/normalize", data=b"x", content_type="text/plain").status_code == 401
    bad = client.post("/v1/normalize", data=b"x", content_type="text/plain", headers={"X-API-Key": "k3"})
    assert bad.status_code == 401 and bad.mimetype == PROBLEM
    ok = client.post("/v1/normalize", data=b"x", content_type="text/plain", headers={"X-API-Key": "k2"})
    assert ok.status_code == 200
    bearer = client.post(
        "/v1/normalize", data=b"x", content_type="text/plain", headers={"Authorization": "Bearer k1"}
    )
    assert bearer.status_code == 200
    assert client.get("/readyz").status_code == 200  # probes need no key
    assert key_is_valid("abc", ("abc",)) and not key_is_valid("abd", ("abc",)) and not key_is_valid("", ())


def test_cors_off_by_default_and_on_when_configured(client, make_app):
    r = client.get("/healthz", headers={"Origin": "https://example.org"})
    assert "Access-Control-Allow-Origin" not in r.headers
    c2 = make_app(Settings(cors_origins=("https://example.org",))).test_client()
    r = c2.get("/healthz", headers={"Origin": "https://example.org"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://example.org"
    assert (
        "Access-Control-Allow-Origin"
        not in c2.get("/healthz", headers={"Origin": "https://evil.test"}).headers
    )


def test_logs_never_contain_document_text(client, caplog, capsys):
    client.post("/v1/normalize", data="SECRET-DOCUMENT 科尔图诺夫。".encode(), content_type="text/plain")
    captured = capsys.readouterr()
    assert "SECRET-DOCUMENT" not in captured.err + captured.out
    assert '"path": "/v1/normalize"' in captured.err


def test_metrics_openapi_docs_page(client):
    client.post("/v1/normalize", data=_seed("003"), content_type="text/plain")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'transnorm_http_requests_total{endpoint="/v1/normalize",status="200"}' in metrics
    assert 'transnorm_translated_chars_total{lang="zh"}' in metrics
    assert "transnorm_http_request_seconds_bucket" in metrics
    assert 'transnorm_spans_total{action="translated"}' in metrics
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    assert {
        "/v1/normalize",
        "/v1/normalize/batch",
        "/v1/languages",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(spec["paths"])
    assert "/v1/normalize" in client.get("/docs").get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    assert "<textarea" in page and "/v1/normalize" in page


def test_openapi_is_valid(client):
    import openapi_spec_validator

    openapi_spec_validator.validate(client.get("/openapi.json").json)


# -- the real server (fixture `server` in conftest.py) ------------------------------------


@pytest.mark.slow
def test_real_server_translates_seed_003(server):
    status, _, body = http_post(server + "/v1/normalize", _seed("003"), "text/plain")
    assert status == 200
    doc = json.loads(body)
    han = [s for s in doc["spans"] if any("\u4e00" <= c <= "\u9fff" for c in s["source_text"])]
    assert han and all(s["lang"] == "zh" and s["action"] == "translated" for s in han)
    assert han[0]["engine"] == {"name": "argostranslate", "package": "translate-zh_en", "version": "0.1"}


@pytest.mark.slow
def test_real_server_errors(server):
    for data, ctype, status in [
        (b"a\xff", "text/plain", 400),
        (b"{", "application/json", 400),
        (b'{"id": "x"}', "application/json", 400),
        (b"x" * 300_000, "text/plain", 413),
        (b"\x89PNG", "image/png", 415),
    ]:
        code, headers, body = http_post(server + "/v1/normalize", data, ctype)
        assert code == status
        assert headers["Content-Type"].startswith(PROBLEM)
        assert json.loads(body)["detail"]


@pytest.mark.slow
def test_two_workers_agree_and_metrics_add_up(server):
    # Sentences no other test sent, so neither worker's cache holds any of them: CTranslate2's
    # numerics may differ with batch composition, and a cache hit changes the composition.
    fresh = "\n".join(f"第{n}次会谈在莫斯科举行,双方讨论了{n}个问题。" for n in range(1, 30)).encode()
    outputs = set()
    for _ in range(8):
        status, _, body = http_post(server + "/v1/normalize", fresh, "text/plain")
        assert status == 200
        outputs.add(body)
    assert len(outputs) == 1  # whichever worker answered
    counts = set()
    for _ in range(4):
        text = http_get(server + "/metrics")[1].decode()
        line = next(
            x
            for x in text.splitlines()
            if x.startswith('transnorm_http_requests_total{endpoint="/v1/normalize",status="200"}')
        )
        counts.add(float(line.split()[-1]))
    assert len(counts) == 1 and counts.pop() >= 9
    for path in ("/openapi.json", "/", "/docs", "/healthz", "/v1/languages"):
        assert http_get(server + path)[0] == 200


def test_concurrent_requests_share_translation_batches(make_app):
    import concurrent.futures

    class Slow(FakeEngine):
        def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
            time.sleep(0.3)  # while the first call runs, the other requests queue up
            return super().translate(lang, sentences, beam_size, target, alternatives)

    engine = Slow()
    app = make_app(engine=engine)

    def post(n: int) -> int:
        with app.test_client() as client:
            body = {"text": f"第{n}个请求的句子。"}
            return client.post("/v1/normalize", json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, range(8)))
    assert statuses == [200] * 8
    sizes = [len(sentences) for _, sentences in engine.calls]
    assert sum(sizes) == 8 and len(sizes) < 8 and max(sizes) > 1, sizes
