import json
import re

from transnorm.render import escape_markers, render


def _strip_markers(text):
    """Parse inline markers back: drop rm, unwrap tr/un, unescape."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            out.append(text[i + 1])
            i += 2
        elif c == "⟦":
            kind = text[i + 1 : i + 3]
            bar = text.index("|", i)
            j, content = bar + 1, []
            while text[j] != "⟧":
                if text[j] == "\\":
                    j += 1
                content.append(text[j])
                j += 1
            if kind != "rm":
                out.append("".join(content))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_inline_markers_parse_back_to_the_text(fake_pipeline, seeds):
    for data in [*seeds.values(), "Odd ⟦brackets⟧ and \\ slashes. 科尔图诺夫。".encode()]:
        doc = fake_pipeline(data)
        inline = render(doc, "text", "inline")
        assert _strip_markers(inline) == doc.text


def test_inline_marker_kinds(fake_pipeline, seeds):
    inline = render(fake_pipeline(seeds["003"]), "text", "inline")
    assert re.search(r"⟦tr:zh\|[^⟧]+⟧", inline)
    assert escape_markers("a⟦b⟧\\") == "a\\⟦b\\⟧\\\\"


def test_footnotes_list_sources_and_removals(fake_pipeline, seeds):
    text = render(fake_pipeline(seeds["004"]), "text", "footnotes")
    assert "Removed:" in text and "(chrome) Озвучить текст" in text
    assert "Upstream machine translation: Yandex Translate" in text
    text = render(fake_pipeline(seeds["003"]), "text", "footnotes")
    assert "[^1]: translated from zh by translate-zh_en 9.9" in text


def test_html_marks_translations_with_its_attributes(fake_pipeline, seeds):
    page = render(fake_pipeline(seeds["003"]), "html")
    assert page.startswith("<!DOCTYPE html>")
    assert 'lang="en-x-mtfrom-zh"' in page
    assert 'its-annotators-ref="mt-confidence|urn:transnorm:argostranslate:translate-zh_en:9.9"' in page
    assert re.search(r'its-mt-confidence="0\.\d+"', page)
    assert 'title="zh: 科尔图诺夫。"' in page
    page = render(fake_pipeline(seeds["004"]), "html")
    assert '<del class="rm" data-reason="chrome"' in page and "<script" not in page


def test_html_lists_warnings(detector):
    from conftest import FakeEngine
    from transnorm import Pipeline, Settings

    doc = Pipeline(Settings(), engine=FakeEngine(langs=()), detector=detector)(
        "Hi.\n首先我们要明白。\n".encode()
    )
    page = render(doc, "html")
    assert '<li class="warning">warning: no installed package translates zh into English</li>' in page
    assert "incomplete" in page and '<span class="un" lang="zh"' in page


def test_html_escapes_source_text(fake_pipeline):
    page = render(fake_pipeline(b"<script>alert(1)</script> & more"), "html")
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_json_contract_fields(fake_pipeline, seeds):
    data = json.loads(render(fake_pipeline(seeds["003"], id="003"), "json"))
    assert set(data) >= {
        "schema",
        "id",
        "text",
        "complete",
        "source",
        "spans",
        "upstream_translation",
        "models",
        "stats",
        "warnings",
    }
    assert data["id"] == "003" and set(data["source"]) >= {"chars", "sha256"}
    tr = next(s for s in data["spans"] if s["action"] == "translated")
    assert set(tr) >= {
        "source_start",
        "source_end",
        "output_start",
        "output_end",
        "action",
        "lang",
        "lang_confidence",
        "source_text",
        "text",
        "engine",
        "mt_score",
    }
    assert tr["engine"]["name"] == "argostranslate"
    assert data["text"][tr["output_start"] : tr["output_end"]] == tr["text"]


def test_an_id_with_a_lone_surrogate_renders_as_utf8(fake_pipeline):
    # A file name that is not UTF-8 becomes an id with a lone surrogate (surrogateescape).
    doc = fake_pipeline("Hello. 科尔图诺夫。", id="report-\udcff.txt")
    for fmt in ("json", "text", "html"):
        out = render(doc, fmt).encode("utf-8")  # raised UnicodeEncodeError for json and html
        assert out
    assert json.loads(render(doc, "json"))["id"] == "report-\udcff.txt"
