"""HTML pages end to end (issue 20): our own pages and the real ones (a Chinese and a Russian paragraph
inserted in each real article), through the one pipeline. For every page: the JSON spans tile the page and
give back its bytes, their offsets slice the input to each foreign passage; the HTML output is the page
itself -- html5lib, the reference parser, sees every tag, attribute, text node, script, style and comment
outside the translated passages as in the input -- and each passage carries English and no foreign letters;
language menus are untouched; the text output is the article's English; the CLI exits 0.
"""

from __future__ import annotations

import codecs
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import pytest
from conftest import _WORDS, FakeEngine, run_cli
from htmlpages import OWN, own_names, own_page, real_names, real_page
from transnorm import Pipeline, Settings
from transnorm.document import Action, Reason
from transnorm.markup import extract
from transnorm.options import Options
from transnorm.render import render, render_bytes

CHINESE = (
    '<p>据新华社报道，<a href="https://example.com/a">国务院</a>周一宣布了新的<b>经济</b>政策，'
    "<em>预计</em>明年实施。</p>\n"
)
RUSSIAN = "<p>Правительство объявило о новых мерах поддержки <b>малого бизнеса</b>, сообщает агентство.</p>\n"
INSERTED = ("据新华社报道，国务院周一宣布了新的经济政策，预计明年实施。", "Правительство объявило")
FOREIGN = re.compile(r"[\u3400-\u9fff\u0400-\u04ff]")
#: The language menus of the pages, and names each must list.
MENUS = {
    "world-news.html": {"Español", "Русский", "中文", "العربية", "日本語"},
    "markets-1251.html": {"Русский", "Українська", "Беларуская"},
    "tech-review.html": {"繁體中文"},
    "wikipedia.html": {"Deutsch", "中文", "日本語", "العربية"},
    "engadget.html": {"繁體中文", "简体中文", "Español"},
}
CODECS = {"UTF-8": "utf-8", "windows-1251": "cp1251", "windows-1252": "cp1252", "UTF-16LE": "utf-16-le"}


def _with_foreign(source: str) -> str:
    """A real page with a Chinese and a Russian paragraph before the first paragraph of its article (the
    first paragraph of some length that is not chrome)."""
    page = extract(source)
    block = next(
        (
            b
            for b in page.blocks
            if b.element == "p" and b.translatable and b.end - b.start >= 80 and b.kind == "text"
        ),
        None,
    )
    at = source.rfind("<p", 0, block.src_start) if block is not None else -1
    if at < 0:
        at = source.find("</body")
    return source[:at] + CHINESE + RUSSIAN + source[at:]


def _pages() -> list:
    own = [pytest.param(("own", n), id=f"own-{n}") for n in own_names()]
    real = [p if not isinstance(p, str) else pytest.param(("real", p), id=f"real-{p}") for p in real_names()]
    return own + real


def _data(case: tuple[str, str]) -> bytes:
    kind, name = case
    if kind == "own":
        return own_page(name)
    return _with_foreign(real_page(name)).encode("utf-8")


@pytest.fixture(scope="module")
def pipeline(detector) -> Pipeline:
    settings = Settings(models_dir=Path("/nonexistent"))
    return Pipeline(settings, engine=FakeEngine(("zh", "ru")), detector=detector)


def _reader(source_text: str) -> str:
    """What a reader sees of a passage's source: its text, tags left out, references resolved."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", source_text)).split())


# -- the JSON: spans tile the page and give its bytes back; offsets slice it to the foreign passages -------


@pytest.mark.parametrize("case", _pages())
def test_spans_give_the_page_back_and_slice_it_to_each_foreign_passage(pipeline, case):
    data = _data(case)
    doc = pipeline(data, Options())
    doc.check()
    source = doc.to_dict()["source"]
    assert source["format"] == "html"
    codec = CODECS[source["charset"]]
    bom = codecs.BOM_UTF8 if source["bom"] else b""
    assert bom + "".join(s.source_text for s in doc.spans).encode(codec) == data
    for span in doc.spans:
        assert doc.source[span.source_start : span.source_end] == span.source_text
        assert data[span.byte_start : span.byte_end].decode(codec) == span.source_text
    passages = [s for s in doc.spans if s.action == Action.TRANSLATED and s.attribute is None]
    read = [_reader(s.source_text) for s in passages]
    assert all(FOREIGN.search(r) for r in read), read
    if case[0] == "real":  # the inserted paragraphs are found, whole, and translated
        for inserted in INSERTED:
            assert any(r.startswith(inserted) for r in read), (inserted, read)
    assert all(not FOREIGN.search(s.text) and s.text.strip() for s in passages)


# -- the HTML: the page itself, changed only where a passage was translated --------------------------------


def _events(
    page: str, skip_text: list[str], skip_tags: set, output: bool, attributes: set[str] = frozenset()
) -> list[tuple]:
    """The page as html5lib reads it, in document order: elements (name and attributes), comments and
    text (whitespace collapsed; the text of the translated passages taken out); in the output, a
    translated passage's span is left out whole, and so are the empty elements it left after itself.
    ``attributes``: the values of translated attributes (the source's, or the translations)."""
    tree = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    events: list[tuple] = []

    def clean(value: str | None) -> str:
        for piece in skip_text if value else ():
            value = value.replace(piece, " ")
        return " ".join((value or "").split())

    def text(value: str | None) -> None:
        value = clean(value)
        if not value:
            return
        if events and events[-1][0] == "text":
            events[-1] = ("text", events[-1][1] + " " + value)
        else:
            events.append(("text", value))

    def walk(el: ET.Element) -> None:
        tag = el.tag
        if tag is ET.Comment:
            events.append(("comment", el.text))
        elif isinstance(tag, str):
            attrs = tuple(sorted((k, "(translated)" if v in attributes else v) for k, v in el.attrib.items()))
            if output and tag == "span" and el.get("data-transnorm") == "translated":
                text(el.tail)
                return
            if (tag, attrs) in skip_tags and not len(el) and not clean(el.text):
                pass  # markup of a passage (in the output: kept after the translation, empty)
            else:
                events.append(("element", tag, attrs))
            text(el.text)
            for child in el:
                walk(child)
        text(el.tail)

    walk(tree)
    return events


def _passage_parts(passages) -> tuple[list[str], set]:
    """The text pieces and the elements of the translated passages' source."""
    pieces: set[str] = set()
    tags = set()
    for span in passages:
        for piece in re.split(r"<[^>]*>", span.source_text):
            piece = " ".join(html.unescape(piece).split())
            if piece:
                pieces.add(piece)
        fragment = html5lib.parseFragment(span.source_text, treebuilder="etree", namespaceHTMLElements=False)
        for el in fragment.iter():
            if isinstance(el.tag, str) and el.tag != "DOCUMENT_FRAGMENT":
                tags.add((el.tag, tuple(sorted(el.attrib.items()))))
    return sorted(pieces, key=len, reverse=True), tags


@pytest.mark.parametrize("case", _pages())
def test_the_html_output_is_the_page_with_only_its_passages_translated(pipeline, case):
    data = _data(case)
    doc = pipeline(data, Options(markers="inline"))
    codec = CODECS[doc.source_info["charset"]]
    out = render_bytes(doc, "html", "inline")
    page = out.decode(codec).removeprefix("\ufeff")
    passages = [s for s in doc.spans if s.action == Action.TRANSLATED]
    text_passages = [s for s in passages if s.attribute is None]
    assert passages, "every page has foreign text"
    pieces, tags = _passage_parts(text_passages)
    sources = {html.unescape(s.source_text) for s in passages if s.attribute}
    translations = {s.text.strip() for s in passages if s.attribute}
    before = _events(doc.source, pieces, tags, output=False, attributes=sources)
    after = _events(page, pieces, tags, output=True, attributes=translations)
    assert after == before
    # Each passage: a span with English and no foreign letters, its source text and language kept.
    tree = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    spans = [el for el in tree.iter("span") if el.get("data-transnorm") == "translated"]
    assert len(spans) == len(text_passages)
    for el, span in zip(spans, text_passages, strict=True):
        english = "".join(el.itertext())
        assert not FOREIGN.search(english) and set(re.findall(r"[a-z]+", english.lower())) & set(_WORDS)
        assert el.get("lang") == "en" and el.get("data-source-lang") == span.lang
        assert el.get("data-source-text") == _reader(span.source_text)
        assert el.get("its-tool-ref", "").startswith("urn:transnorm:argostranslate:")
    # Before the first passage and after the last, every byte is the input's (in the page's charset).
    first, last = min(s.byte_start for s in passages), max(s.byte_end for s in passages)
    assert out[:first] == data[:first] and out.endswith(data[last:])


@pytest.mark.parametrize("case", _pages())
def test_markers_none_leaves_only_lang_en_spans(pipeline, case):
    doc = pipeline(_data(case), Options())
    page = render(doc, "html", "none")
    assert "data-transnorm" not in page and "its-mt-confidence" not in page
    tree = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    added = [el for el in tree.iter("span") if el.attrib == {"lang": "en"}]
    assert len(added) >= sum(1 for s in doc.spans if s.action == Action.TRANSLATED and s.attribute is None)


@pytest.mark.parametrize("case", [c for c in _pages() if c.values[0] and c.values[0][1] in MENUS])
def test_language_menus_are_chrome_and_untouched(pipeline, case):
    data = _data(case)
    doc = pipeline(data, Options())
    menus = [s for s in doc.spans if s.reason == Reason.LANGUAGE_MENU]
    names = {" ".join(s.text.split()) for s in menus}
    listed = " | ".join(names)
    assert all(name in listed for name in MENUS[case[1]]), listed
    assert all(s.action == Action.REMOVED for s in menus)
    out = render(doc, "html", "inline")
    assert all(s.source_text in out for s in menus)
    kept = pipeline(data, Options(chrome="keep"))  # chrome read as the article's: the menu still is not
    assert all(s.action == Action.KEPT for s in kept.spans if s.reason == Reason.LANGUAGE_MENU) and any(
        s.reason == Reason.LANGUAGE_MENU for s in kept.spans
    )


def test_the_text_output_is_the_articles_english(pipeline):
    doc = pipeline(own_page("world-news.html"), Options())
    text = render(doc, "text")
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "Trade talks resume as ministers meet in Geneva — The Morning Ledger"
    assert "GENEVA — Ministers from twelve countries" in text and "farm subsidies & digital" in text
    for chrome in ("We use cookies", "Technology", "Español", "Related", "Leave a reply", "版权所有"):
        assert chrome not in text, chrome
    # What the page says is not to be translated, and code, stay as they are; nothing else is foreign.
    assert "质量第一" in text and "永不放弃" in text and "// 代码块" in text
    rest = text.replace("质量第一", "").replace("永不放弃", "").replace("// 代码块", "")
    assert not FOREIGN.search(rest)
    assert "Delegates arrive" not in text.split("Delegates arrive at the Palais des Nations on Monday.")[1]
    assert text.endswith("Reporting by Anna Keller; editing by Tom Brooks.\n")
    json_doc = json.loads(render(doc, "json"))
    assert json_doc["text"] == text


def test_what_the_page_says_decides(pipeline):
    doc = pipeline(own_page("world-news.html"), Options())
    by_text = {_reader(s.source_text): s for s in doc.spans if s.reason != Reason.MARKUP}
    assert by_text["质量第一"].reason == Reason.TRANSLATE_NO and by_text["质量第一"].action == Action.KEPT
    assert by_text["永不放弃"].reason == Reason.TRANSLATE_NO  # an ITS 2.0 global rule
    assert by_text["会议将持续三天。"].action == Action.TRANSLATED  # a lang="zh-CN" block
    assert by_text["长城"].action == Action.TRANSLATED and by_text["长城"].lang == "zh"  # an inline lang run
    code = next(s for s in doc.spans if s.reason == Reason.CODE)
    assert "代码块" in code.source_text and code.action == Action.KEPT
    removed = {s.reason for s in doc.spans if s.action == Action.REMOVED}
    assert removed == {Reason.CHROME, Reason.COMMENT_FORM, Reason.LANGUAGE_MENU}
    scripts = "".join(s.source_text for s in doc.spans if s.reason == Reason.MARKUP)
    assert "部长们在日内瓦会晤" in scripts and "<![CDATA[" in scripts and "编辑注" in scripts
    tech = pipeline(own_page("tech-review.html"), Options())
    (alt,) = [s for s in tech.spans if s.attribute is not None]
    assert (alt.attribute, alt.source_text, alt.output_start) == ("title", "帮助中心", None)
    page = render(tech, "html")
    assert 'title="帮助中心"' not in page and f'title="{alt.text.strip()}"' in page
    # An image inside a foreign sentence goes along with it, as it was.
    assert '<img src="/img/icon-camera.png" alt="相机图标" width="16">' in page


def test_a_legacy_charset_page_comes_back_in_its_charset(pipeline):
    data = own_page("markets-1251.html")
    doc = pipeline(data, Options())
    assert (doc.source_info["charset"], doc.source_info["charset_from"]) == ("windows-1251", "meta")
    out = render_bytes(doc, "html")
    passages = [s for s in doc.spans if s.action == Action.TRANSLATED]
    assert len(passages) == 2 and out[: passages[0].byte_start] == data[: passages[0].byte_start]
    assert out.endswith(data[passages[-1].byte_end :])
    tags = out.decode("cp1251").count("<")
    assert "Українська".encode("cp1251") in out and tags == data.decode("cp1251").count("<") + 2 * 2
    undeclared = data.replace(b'<meta charset="windows-1251">', b"")
    with pytest.raises(Exception, match="declares no charset") as err:
        pipeline(undeclared, Options())
    assert err.value.problem()["code"] == "undecodable"
    told = pipeline(undeclared, Options(charset="windows-1251"))  # as an HTTP Content-Type says it
    assert told.source_info["charset_from"] == "http" and not told.warnings


# -- the command line -----------------------------------------------------------------------------------


def test_the_cli_reads_html_files_as_pages_and_exits_0_on_every_page(tmp_path, real_settings):
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in own_names():
        (folder / name).write_bytes(own_page(name))
    for param in real_names():
        if isinstance(param, str):
            (folder / param).write_bytes(_data(("real", param)))
    env = {"TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir)}
    out = tmp_path / "out"
    args = ["batch", str(folder), "--out", str(out), "--format", "json,text,html", "--jobs", "1"]
    r = run_cli(args, env=env)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    report = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert len(report) == len(list(folder.iterdir())) and all(rec["status"] == "ok" for rec in report)
    for page in folder.iterdir():
        doc = json.loads((out / (page.name + ".json")).read_text())
        assert doc["source"]["format"] == "html"
        assert (out / (page.name + ".html")).read_bytes().startswith(page.read_bytes()[:40])
    one = run_cli(["normalize", str(OWN / "world-news.html"), "--format", "html"], env=env)
    assert one.returncode == 0 and one.stdout.startswith(b'<!DOCTYPE html>\n<html lang="en"')
    text = run_cli(["normalize", str(OWN / "markets-1251.html"), "--format", "text"], env=env)
    assert text.returncode == 0 and "Grain prices climb" in text.stdout.decode()
    bad = tmp_path / "undeclared.html"
    bad.write_bytes(own_page("markets-1251.html").replace(b'<meta charset="windows-1251">', b""))
    r = run_cli(["normalize", str(bad)], env=env)
    assert r.returncode == 3 and b"declares no charset" in r.stderr
    assert run_cli(["normalize", str(bad), "--charset", "windows-1251"], env=env).returncode == 0
    as_text = run_cli(["normalize", str(OWN / "world-news.html"), "--input-format", "text"], env=env)
    assert json.loads(as_text.stdout)["source"].get("format") is None  # read as text when asked
