"""HTML pages: the text a reader sees, where each character came from, and the page back with text replaced.

Real pages are Mozilla Readability's test pages (see tests/htmlpages.py: kept outside the repository,
skipped when absent), our own pages are tests/data/html/; html5lib, the reference implementation of the
HTML5 parsing algorithm, is the independent check."""

from __future__ import annotations

import re

import html5lib
import pytest
from htmlpages import real_names, real_page
from transnorm.document import Reason
from transnorm.markup import (
    BLOCK,
    OPAQUE,
    Replacement,
    charref,
    extract,
    its_attributes,
    markup_end,
    replace,
)

NAMES = real_names()
_SPACE = re.compile(r"\s+")


def _page(name: str) -> str:
    return real_page(name)


# -- the reference: html5lib's tree, read with the same element categories ---------------------------------


def _reference(source: str) -> tuple[str, list[str]]:
    """The reader text (all whitespace removed) and the reader attributes, from html5lib's tree."""
    doc = html5lib.parse(source, treebuilder="etree", namespaceHTMLElements=False)
    chunks: list[str] = []
    attributes: list[str] = []

    def walk(el, in_head: bool) -> None:
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None or "}" in tag:
            return  # a comment, or SVG/MathML
        if tag in OPAQUE or (in_head and tag != "title") or tag == "template":
            return  # (a <title> is the page's wherever the parser put it)
        for name, value in el.attrib.items():
            reader = (
                ("alt", "title", "placeholder") if tag in ("img", "area", "input", "textarea") else ("title",)
            )
            if (
                name in reader
                and value.strip(" \t\n\f\r")
                and not (tag == "input" and el.get("type") == "hidden")
            ):
                attributes.append(" ".join(value.split()))
        if el.text:
            chunks.append(el.text)
        for child in el:
            walk(child, tag == "head")
            if child.tail and (tag != "head"):
                chunks.append(child.tail)

    walk(doc, False)
    return _SPACE.sub("", "".join(chunks)), sorted(attributes)


@pytest.mark.parametrize("name", NAMES)
def test_real_page_text_is_html5libs_and_every_character_comes_from_its_source(name):
    source = _page(name)
    page = extract(source)
    page.check()
    assert page.unaligned == 0
    text = "".join(page.text[b.start : b.end] for b in page.blocks if b.kind in ("text", "code", "title"))
    attributes = sorted(
        " ".join(page.text[b.start : b.end].split())
        for b in page.blocks
        if b.kind in ("alt", "title-attribute", "placeholder")
    )
    expected_text, expected_attributes = _reference(source)
    assert _SPACE.sub("", text) == expected_text
    assert attributes == expected_attributes


@pytest.mark.parametrize("name", NAMES)
def test_real_page_comes_back_byte_for_byte_when_nothing_is_replaced(name):
    source = _page(name)
    assert replace(extract(source), []).html == source
    crlf = source.replace("\n", "\r\n")  # the same page with Windows line ends
    page = extract(crlf)
    page.check()
    assert page.unaligned == 0
    assert replace(page, []).html == crlf
    lf = extract(source)
    assert [_SPACE.sub(" ", page.text[b.start : b.end]) for b in page.blocks] == [
        _SPACE.sub(" ", lf.text[b.start : b.end]) for b in lf.blocks
    ]


@pytest.mark.parametrize("name", NAMES)
def test_replacing_a_block_changes_that_block_and_nothing_else(name):
    source = _page(name)
    page = extract(source)
    candidates = [b for b in page.blocks if b.kind == "text" and b.translatable]
    if not candidates:
        pytest.skip("no translatable text block")
    block = max(candidates, key=lambda b: b.end - b.start)
    new = "REPLACED & <TEXT>"
    rewrite = replace(page, [Replacement(block.start, block.end, new, (("lang", "en"),))])
    (edit,) = rewrite.edits
    assert rewrite.html == source[: edit.start] + edit.html + source[edit.end :]
    start, end = page.source_range(block.start, block.end)
    assert (edit.start, edit.end) == (start, end)
    after = extract(rewrite.html)
    after.check()
    before_texts = [page.text[b.start : b.end] for b in page.blocks]
    after_texts = [after.text[b.start : b.end] for b in after.blocks]
    i = page.blocks.index(block)
    assert after_texts[i] == new
    assert after_texts[:i] + after_texts[i + 1 :] == before_texts[:i] + before_texts[i + 1 :]


def test_a_foreign_paragraph_inserted_in_a_real_article_is_read_and_translated_in_place():
    source = _page("theverge.html")
    anchor = re.compile(r"<p[\s>]").search(source, source.index("<article")).start()
    chinese = '<p>据新华社报道，<a href="https://example.com/a">国务院</a>周一宣布了新的<b>经济</b>政策。该政策将于明年实施。</p>\n'
    page_source = source[:anchor] + chinese + source[anchor:]
    page = extract(page_source)
    block = next(b for b in page.blocks if "新华社" in page.text[b.start : b.end])
    assert block.translatable and block.chrome is None
    assert (
        page.text[block.start : block.end]
        == "据新华社报道，国务院周一宣布了新的经济政策。该政策将于明年实施。"
    )
    first_end = page.text.index("。", block.start) + 1
    english = "According to Xinhua, the 国务院 announced a new economic policy on Monday."
    attrs = its_attributes("zh", page.text[block.start : first_end], confidence=0.91, tool="urn:test:zh-en")
    rewrite = replace(page, [Replacement(block.start, first_end, english, attrs)])
    out = rewrite.html
    assert out.startswith(source[:anchor]) and out.endswith(
        chinese[chinese.index("该政策") :] + source[anchor:]
    )
    assert '<a href="https://example.com/a">国务院</a>' in out  # the link put back around its words
    assert rewrite.edits[0].kept == (
        "<b>",
        "</b>",
    )  # "经济" is not in the translation: the tags stay after it
    assert 'its-mt-confidence="0.910"' in out and 'data-source-lang="zh"' in out


# -- language menus and other chrome ----------------------------------------------------------------------


def test_wikipedias_language_menu_is_chrome_and_keeps_its_scripts():
    page = extract(_page("wikipedia.html"))
    menu = [b for b in page.blocks if b.chrome and b.chrome.what == "language menu"]
    names = {page.text[b.start : b.end] for b in menu}
    assert {"العربية", "Deutsch", "Français", "עברית", "हिन्दी", "中文", "日本語", "한국어"} <= names
    assert all(not b.translatable and b.chrome.reason == Reason.CHROME for b in menu)
    article = [b for b in page.blocks if b.chrome is None and b.kind == "text"]
    assert any("Mozilla" in page.text[b.start : b.end] for b in article)


def test_an_edition_menu_in_its_own_scripts_is_found():
    page = extract(_page("engadget.html"))
    menu = {page.text[b.start : b.end] for b in page.blocks if b.chrome and b.chrome.what == "language menu"}
    assert {"繁體中文", "简体中文", "Español"} <= menu


def test_links_that_all_say_hreflang_en_are_not_a_language_menu():
    """Regression: a site navigation whose links all carry hreflang="en" was taken for a language menu."""
    page = extract(_page("001.html"))
    assert not [b for b in page.blocks if b.chrome and b.chrome.what == "language menu"]


def _chrome(html: str) -> dict[str, str | None]:
    page = extract(html)
    return {page.text[b.start : b.end]: b.chrome.what if b.chrome else None for b in page.blocks}


def test_page_chrome_is_found_with_the_dom():
    found = _chrome(
        "<body><header>Site name</header><nav><a href=/>Home</a></nav>"
        "<main><article><header>Article header</header><p>Body text.</p><footer>Article footer</footer>"
        "<aside>Related</aside></article></main>"
        "<div id='cookie-banner'><p>We use cookies.</p></div>"
        "<form id='commentform'><p>Leave a reply</p><textarea name=comment></textarea></form>"
        "<form role=search><label>Search the site</label></form>"
        "<ul role=menubar><li>Menu item</li></ul>"
        "<footer>Copyright</footer></body>"
    )
    assert found == {
        "Site name": "page header",
        "Home": "navigation",
        "Article header": None,
        "Body text.": None,
        "Article footer": None,
        "Related": "aside",
        "We use cookies.": "cookie banner",
        "Leave a reply": "comment form",
        "Search the site": "search form",
        "Menu item": "menu",
        "Copyright": "page footer",
    }
    page = extract("<form class=comment-form><p>Reply</p></form>")
    assert page.blocks[0].chrome.reason == Reason.COMMENT_FORM


def test_a_language_menu_of_codes_inside_a_paragraph_is_chrome():
    page = extract(
        "<p>Read it in: <span><a href=/en>EN</a> | <a href=/fr>FR</a> | <a href=/de>DE</a></span></p>"
    )
    assert {page.text[b.start : b.end]: b.chrome and b.chrome.what for b in page.blocks} == {
        "Read it in:": None,
        "EN | FR | DE": "language menu",
    }


# -- language, translate, ITS -----------------------------------------------------------------------------


def test_lang_is_the_nearest_and_inline_languages_are_runs():
    page = extract(
        '<html lang="en-GB"><body><p>English <span lang="zh">中文</span> words.</p>'
        '<div xml:lang="ru"><p>Русский текст.</p></div><p lang="">Unknown.</p></body></html>'
    )
    assert page.lang == "en-GB"
    assert [b.lang for b in page.blocks] == ["en-GB", "ru", ""]
    (run,) = page.blocks[0].runs
    assert (page.text[run.start : run.end], run.lang, run.verbatim) == ("中文", "zh", False)
    meta = extract('<meta http-equiv="Content-Language" content="de"><p>Text</p>')
    assert meta.lang == "de" and meta.blocks[0].lang == "de"


def test_translate_no_and_its_rules_are_never_translated():
    page = extract(
        """<html><head><script type="application/its+xml">
        <its:rules xmlns:its="http://www.w3.org/2005/11/its"
                   xmlns:h="http://www.w3.org/1999/xhtml" version="2.0">
          <its:translateRule selector="//h:p[@class='brand']" translate="no"/>
          <its:translateRule selector="//h:div[@id='keep']" translate="no"/>
          <its:translateRule selector="//h:div[@id='keep']/h:p[2]" translate="yes"/>
        </its:rules></script></head><body>
        <p class="brand">Brand name</p><p translate="no">Local no</p>
        <p>Normal <b translate="no">Acme</b> text.</p>
        <div id="keep"><p>Ruled out</p><p>Ruled back in</p><p translate="yes">Local yes</p></div>
        </body></html>"""
    )
    verdicts = {page.text[b.start : b.end]: b.translate for b in page.blocks}
    assert verdicts == {
        "Brand name": False,
        "Local no": False,
        "Normal Acme text.": True,
        "Ruled out": False,
        "Ruled back in": True,
        "Local yes": True,
    }
    normal = next(b for b in page.blocks if page.text[b.start : b.end] == "Normal Acme text.")
    (run,) = normal.runs
    assert page.text[run.start : run.end] == "Acme" and run.verbatim


def test_its_rules_with_css_selectors_and_external_rules():
    page = extract(
        '<link rel="its-rules" href="rules.xml"><script type="application/its+xml">'
        '<its:rules xmlns:its="http://www.w3.org/2005/11/its" version="2.0" queryLanguage="css">'
        '<its:translateRule selector=".notrans" translate="no"/>'
        '<its:translateRule selector="p[" translate="no"/>'
        '</its:rules></script><p class="notrans">Kept</p><p>Free</p>'
    )
    assert [(page.text[b.start : b.end], b.translate) for b in page.blocks] == [
        ("Kept", False),
        ("Free", True),
    ]
    assert any("external ITS rules" in w for w in page.warnings)
    assert any("not applied" in w for w in page.warnings)


# -- what is text, what never is --------------------------------------------------------------------------


def test_scripts_styles_code_blocks_forms_and_comments_are_never_translatable_text():
    page = extract(
        "<html><head><title>Page title</title><style>p{}</style>"
        '<script type="application/ld+json">{"headline": "JSON-LD"}</script></head><body>'
        "<script>var s = '<p>not text</p>';</script><noscript><p>No script</p></noscript>"
        "<template><p>Template</p></template><textarea>Typed</textarea><!-- comment -->"
        "<select><option>English</option><option>中文</option></select>"
        "<svg><text>SVG</text><![CDATA[cdata]]></svg><math><mi>x</mi></math>"
        "<pre>\n  code\n    block\n</pre><p>Use <code>ls -l</code> <![CDATA[bogus]]>now.</p></body></html>"
    )
    blocks = [(b.kind, page.text[b.start : b.end], b.translatable) for b in page.blocks]
    assert blocks == [
        ("title", "Page title", True),
        ("code", "  code\n    block", False),
        ("text", "Use ls -l now.", True),
    ]
    (run,) = page.blocks[2].runs
    assert page.text[run.start : run.end] == "ls -l" and run.verbatim


def test_reader_attributes_are_text_and_urls_and_data_are_not():
    page = extract(
        '<p title="A tooltip">Text <img src="cat.png" alt="A &quot;cat&quot;" data-x="no" title="Photo">'
        '<a href="https://example.com/中文" data-title="no">link</a>'
        '<input placeholder="Search here" value="no"><input type=hidden placeholder="hidden"></p>'
    )
    assert [(b.kind, b.element, page.text[b.start : b.end]) for b in page.blocks] == [
        ("text", "p", "Text link"),
        ("title-attribute", "p", "A tooltip"),
        ("alt", "img", 'A "cat"'),
        ("title-attribute", "img", "Photo"),
        ("placeholder", "input", "Search here"),
    ]


def test_inline_elements_keep_a_sentence_whole_and_br_breaks_a_line():
    page = extract("<div>One <b>bold</b><i> and</i> <a href=x>linked</a>\n  sentence.<br>Next line.</div>")
    (block,) = page.blocks
    assert page.text == "One bold and linked sentence.\nNext line."
    assert [t.name for t in block.tags] == ["b", "b", "i", "i", "a", "a", "br"]
    assert [page.text[t.offset :].split()[0] for t in block.tags[:6]] == [
        "bold",
        "and",
        "and",
        "linked",
        "linked",
        "sentence.",
    ]


def test_entities_map_several_source_characters_to_one():
    source = "<p>Caf&eacute; &amp; cr&egrave;me &#x4E2D;&#25991; &notit; &amp</p>"
    page = extract(source)
    page.check()
    assert page.text == "Café & crème 中文 ¬it; &"
    e = page.text.index("é")
    assert source[page.to_source(e) :].startswith("&eacute;")
    assert page.source_range(e, e + 1) == (source.index("&eacute;"), source.index("&eacute;") + 8)
    han = page.text.index("中文")
    assert page.source_range(han, han + 2) == (source.index("&#x4E2D;"), source.index("&#25991;") + 8)


def test_character_references_follow_the_html5_rules():
    assert charref("&amp;", 0) == ("&", 5)
    assert charref("&ampx", 0) == ("&", 4)
    assert charref("&ampx", 0, attribute=True) is None
    assert charref("&amp=", 0, attribute=True) is None
    assert charref("&notit;", 0) == ("¬", 4)
    assert charref("&#0;", 0) == ("\ufffd", 4)
    assert charref("&#x80;", 0) == ("€", 6)
    assert charref("&#xD800;", 0) == ("\ufffd", 8)
    assert charref("&#99999999999;", 0) == ("\ufffd", 14)
    assert charref("&#;", 0) is None
    assert charref("&nosuch;", 0) is None


def test_markup_ends_where_the_tokenizer_says():
    cases = {
        '<a href="x>y">': 14,
        "<a b=c=d>": 9,
        "<a x='1>'>": 10,
        "<!-->": 5,
        "<!--->": 6,
        "<!-- a -- b --!> c": 16,
        "<!DOCTYPE html>": 15,
        "<?php x ?>": 10,
        "</>": 3,
        "</ x>": 5,
        "<unclosed": 9,
    }
    for src, end in cases.items():
        assert markup_end(src, 0) == end, src
    for text in ("< b", "<3", "</", "<"):
        assert markup_end(text, 0) is None, text


# -- replace ----------------------------------------------------------------------------------------------


def test_markup_in_a_replaced_sentence_is_put_back_or_kept_after_it():
    source = "<p>Start. </i>中文<a href=x>BBC</a>报道<b>今天</b><!--c--><br>说。 End.</p>"
    page = extract(source)
    assert page.text == "Start. 中文BBC报道今天\n说。 End."
    s = page.text.index("中文")
    e = page.text.index("。") + 1
    rewrite = replace(page, [Replacement(s, e, "BBC reported today, he said.", (("lang", "en"),))])
    assert rewrite.html == (
        '<p>Start. </i><span lang="en"><a href=x>BBC</a> reported today, he said.</span>'
        "<b></b><!--c--><br> End.</p>"
    )
    assert rewrite.edits[0].kept == ("<b>", "</b>", "#comment", "<br>")


def test_an_element_cut_by_a_sentence_is_closed_before_and_opened_after():
    source = "<p><b>Bold start 中文</b>继续。<i>斜体 and more</i></p>"
    page = extract(source)
    s = page.text.index("中文")
    e = page.text.index("斜体") + 2
    rewrite = replace(page, [Replacement(s, e, "Chinese continues. Italic")])
    assert rewrite.html == "<p><b>Bold start </b>Chinese continues. Italic<i> and more</i></p>"


def test_title_and_attributes_are_replaced_bare_and_escaped_for_their_place():
    source = "<title>中文 title</title><img alt='猫'><img alt=\"狗\"><img alt=鸟>"
    page = extract(source)
    by_text = {page.text[b.start : b.end]: b for b in page.blocks}
    span = (("lang", "en"),)
    out = replace(
        page,
        [
            Replacement(by_text["中文 title"].start, by_text["中文 title"].end, "A <title> & more", span),
            Replacement(by_text["猫"].start, by_text["猫"].end, "It's a cat", span),
            Replacement(by_text["狗"].start, by_text["狗"].end, 'A "dog"', span),
            Replacement(by_text["鸟"].start, by_text["鸟"].end, "a bird=1", span),
        ],
    ).html
    assert out == (
        "<title>A &lt;title&gt; &amp; more</title><img alt='It&#39;s a cat'>"
        '<img alt="A &quot;dog&quot;"><img alt=a&#32;bird&#61;1>'
    )
    again = extract(out)
    assert [again.text[b.start : b.end] for b in again.blocks] == [
        "A <title> & more",
        "It's a cat",
        'A "dog"',
        "a bird=1",
    ]


def test_replacements_must_stay_inside_a_block_and_not_overlap():
    page = extract("<p>One two.</p><p>Three.</p>")
    with pytest.raises(ValueError, match="inside one block"):
        replace(page, [Replacement(0, page.blocks[1].start + 1, "x")])
    with pytest.raises(ValueError, match="inside one block"):
        replace(page, [Replacement(2, 2, "x")])
    with pytest.raises(ValueError, match="overlaps"):
        replace(page, [Replacement(0, 5, "x"), Replacement(3, 7, "y")])


def test_its_attributes_say_where_a_translation_came_from():
    attrs = dict(
        its_attributes("ru", "Привет", confidence=1.7, tool="urn:transnorm:argostranslate:ru_en:1.9")
    )
    assert attrs == {
        "lang": "en",
        "data-transnorm": "translated",
        "data-source-lang": "ru",
        "data-source-text": "Привет",
        "its-tool-ref": "urn:transnorm:argostranslate:ru_en:1.9",
        "its-annotators-ref": "mt-confidence|urn:transnorm:argostranslate:ru_en:1.9",
        "its-mt-confidence": "1.000",
    }
    assert its_attributes("ru", "Привет", markers=False) == (("lang", "en"),)


def test_block_elements_are_the_html_ones():
    assert {"p", "li", "td", "h1", "div", "article", "blockquote"} <= BLOCK
    assert not {"a", "b", "span", "em", "code"} & BLOCK


def test_whitespace_between_blocks_is_passed_over_before_the_text_after_a_comment():
    """Regression (Readability's clean-links page): whitespace before a comment, between blocks, was not
    passed over, so the text after the comment could not be placed and was left out."""
    page = extract("<div><p>a</p></div><script></script>\n<!-- c -->\n&nbsp;&nbsp;x \n<center>y</center>")
    page.check()
    assert page.unaligned == 0
    assert page.text == "a\n\n\xa0\xa0x\n\ny"


def test_every_listed_language_name_names_an_edition():
    """Regression: the first name of each line of the list of language names (English, Български, Türkçe,
    עברית, தமிழ், Kiswahili, Dansk, Euskara ...) kept the line's indentation and named nothing."""
    page = extract(
        "<ul><li><a href=/>English</a><li><a href=/bg>Български</a><li><a href=/tr>Türkçe</a>"
        "<li><a href=/he>עברית</a></ul>"
    )
    assert {b.chrome.what if b.chrome else None for b in page.blocks} == {"language menu"}
