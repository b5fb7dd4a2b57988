"""HTML pages over HTTP: ``text/html`` on ``/v1/normalize`` (JSON back, or the page with ``?format=html``,
its charset from the Content-Type, its BOM or its ``<meta charset>``), ``options.input_format: "html"`` in a
``/v1/normalize/batch`` item and in a JSON-lines stream, the OpenAPI document saying so; and LibreTranslate's
``format: html`` through the markup stage."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import FakeEngine
from htmlpages import own_page
from transnorm import Pipeline, Settings
from transnorm.jsonl import normalize_stream
from transnorm.server import create_app

HAN = re.compile(r"[\u4e00-\u9fff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
PAGE = (
    "<!DOCTYPE html><html lang=en><head><title>Page</title><script>var s = '<p>中文</p>';</script></head>"
    "<body><nav><a href=/en>English</a> <a href=/ru>Русский</a> <a href=/zh>中文</a></nav>"
    "<p>An English paragraph &amp; more.</p>"
    "<p>据新华社报道，<b>国务院</b>周一宣布了新的经济政策。</p></body></html>"
)


@pytest.fixture
def pipeline(detector):
    return Pipeline(Settings(), engine=FakeEngine(langs=("zh", "ru")), detector=detector)


@pytest.fixture
def client(pipeline):
    return create_app(Settings(max_batch_documents=4), pipeline, background=False).test_client()


def test_a_page_in_gives_json_or_the_page_back(client):
    r = client.post("/v1/normalize", data=PAGE.encode(), content_type="text/html")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.json
    assert doc["source"]["format"] == "html" and doc["source"]["charset"] == "UTF-8"
    (passage,) = [s for s in doc["spans"] if s["action"] == "translated"]
    assert PAGE.encode()[passage["byte_start"] : passage["byte_end"]].decode() == passage["source_text"]
    assert passage["source_text"] == "据新华社报道，<b>国务院</b>周一宣布了新的经济政策。"
    assert not HAN.search(doc["text"]) and "Русский" not in doc["text"]
    r = client.post("/v1/normalize?format=html&markers=inline", data=PAGE.encode(), content_type="text/html")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=UTF-8"
    page = r.data.decode()
    head, _, tail = PAGE.partition("据新华社报道")
    assert page.startswith(head) and page.endswith(tail.partition("。")[2])
    assert 'data-source-text="据新华社报道，国务院周一宣布了新的经济政策。"' in page
    assert "sandbox" in r.headers["Content-Security-Policy"]  # the caller's page never runs here
    text = client.post("/v1/normalize?format=text", data=PAGE.encode(), content_type="text/html")
    assert text.data.decode() == doc["text"]


def test_the_charset_comes_from_the_content_type_else_the_page(client):
    data = own_page("markets-1251.html")
    r = client.post("/v1/normalize?format=html", data=data, content_type="text/html")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=windows-1251"
    page = r.data.decode("cp1251")
    article = page.split("<article>")[1].split("</article>")[0]
    assert not CYRILLIC.search(re.sub(r'data-source-text="[^"]*"', "", article))  # its passages translated
    assert page.count("Українська") == 1  # the edition menu as it was
    undeclared = data.replace(b'<meta charset="windows-1251">', b"")
    bad = client.post("/v1/normalize", data=undeclared, content_type="text/html")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert bad.json["code"] == "undecodable" and bad.json["byte_offset"] > 0
    detail = bad.json["detail"]
    assert "declares no charset" in detail and "Content-Type: text/html; charset=" in detail
    told = client.post("/v1/normalize", data=undeclared, content_type="text/html; charset=windows-1251")
    assert told.status_code == 200 and told.json["source"]["charset_from"] == "http"
    plain = client.post("/v1/normalize", data=PAGE.encode(), content_type="text/plain")
    assert "format" not in plain.json["source"]  # text/plain is text, whatever it looks like


def test_a_batch_item_and_a_json_line_can_be_pages(client, pipeline):
    documents = [
        {"id": "page", "text": PAGE, "options": {"input_format": "html"}},
        {"id": "sniffed", "text": PAGE},
        {"id": "text", "text": PAGE, "options": {"input_format": "text"}},
        {"id": "bad", "text": PAGE, "options": {"input_format": "pdf"}},
    ]
    r = client.post("/v1/normalize/batch", json={"documents": documents[:3]})
    assert r.status_code == 200
    page, sniffed, text = r.json["results"]
    assert page["result"]["source"]["format"] == "html"
    assert sniffed["result"] == page["result"] | {"id": "sniffed"}
    assert "format" not in text["result"]["source"] and "<p>" in text["result"]["text"]
    assert client.post("/v1/normalize/batch", json={"documents": documents}).status_code == 400
    lines = "".join(json.dumps(d) + "\n" for d in documents).encode()
    sink = io.BytesIO()
    stats = normalize_stream(io.BytesIO(lines), sink, pipeline)
    out = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert stats.counts() == {"lines": 4, "ok": 3, "failed": 1, "incomplete": 0}
    assert out[0]["result"]["source"]["format"] == "html" and "input_format" in out[3]["error"]["detail"]


def test_the_openapi_document_says_pages_are_welcome(client):
    spec = client.get("/openapi.json").json
    op = spec["paths"]["/v1/normalize"]["post"]
    assert set(op["requestBody"]["content"]) == {"text/plain", "text/html", "application/json"}
    assert "text/html" in op["responses"]["200"]["content"]
    options = spec["components"]["schemas"]["Options"]["properties"]
    assert options["input_format"]["enum"] == ["auto", "text", "html"]
    assert "charset" in options
    assert "input_format" in spec["paths"]["/v1/normalize/batch"]["post"]["description"]


# -- LibreTranslate: format html ---------------------------------------------------------------------


def test_libretranslate_html_leaves_scripts_styles_comments_and_cdata_as_they_are(client):
    """Regression (issue 22): format html escaped <script>/<style> content and dropped CDATA."""
    q = (
        "<p>Hello.</p><p>据新华社报道，<b>国务院</b>周一宣布了新的经济政策。</p>"
        '<script>if (a < b && c > d) { x = "<p>中文</p>"; }</script><style>p > b { color: red; }</style>'
        "<svg><style><![CDATA[ rect { fill: #c00 } ]]></style></svg><!-- 注释 --><p>End &amp; more.</p>"
    )
    r = client.post("/translate", json={"q": q, "source": "auto", "target": "en", "format": "html"})
    assert r.status_code == 200
    out = r.json["translatedText"]
    assert out.startswith("<p>Hello.</p><p>") and not HAN.search(out.split("<script>")[0])
    assert out.endswith(q[q.index("<script>") :])  # byte for byte
    assert "<span" not in out  # LibreTranslate gives the fragment back, no annotations
    assert r.json["detectedLanguage"]["language"] == "zh-Hans"


def test_libretranslate_html_keeps_inline_markup_and_gives_alternatives(client):
    q = ["<p>Привет, <b>мир</b>! Как дела?</p>", "plain English"]
    r = client.post(
        "/translate", json={"q": q, "source": "auto", "target": "en", "format": "html", "alternatives": 2}
    )
    assert r.status_code == 200
    first, second = r.json["translatedText"]
    assert first.startswith("<p>") and first.endswith("</p>") and not CYRILLIC.search(first)
    assert second == "plain English"
    alternatives = r.json["alternatives"][0]
    assert len(alternatives) == 2 and all(a.startswith("<p>") and a != first for a in alternatives)


def test_auto_sniffs_pages_and_only_pages():
    """Regression: the sniffing pattern backtracked exponentially over a run of whitespace (an input of
    1,000 newlines never finished)."""
    from transnorm.htmlpage import is_page

    for page in (b"<!DOCTYPE html><p>x", b"\xef\xbb\xbf\n <HTML lang=en>", b"<!-- c --><?xml v?>\n<html>"):
        assert is_page(page, "auto") and is_page(page.decode("utf-8"), "auto")
    for text in (b"\n" * 100_000, b" " * 100_000 + b"<p>", b"<!--" * 5000, b"Hello <html>", b"<htmlx>"):
        assert not is_page(text, "auto")
    assert is_page(b"plain", "html") and not is_page(b"<html>", "text")


def test_a_page_given_as_text_with_a_bom_comes_back_with_it(pipeline):
    """Regression: a page given as a str starting with U+FEFF was written back three bytes off."""
    from transnorm.options import Options
    from transnorm.render import render_bytes

    page = "\ufeff<!DOCTYPE html><p>据新华社报道，国务院周一宣布了新的经济政策。</p><p>End &amp; more.</p>"
    doc = pipeline(page, Options())
    out = render_bytes(doc, "html")
    assert out.startswith(b'\xef\xbb\xbf<!DOCTYPE html><p><span lang="en">') and out.endswith(
        b"<p>End &amp; more.</p>"
    )
    (passage,) = [s for s in doc.spans if s.action == "translated"]
    assert page.encode()[passage.byte_start : passage.byte_end].decode() == passage.source_text
