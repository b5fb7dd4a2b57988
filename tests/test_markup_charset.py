"""HTML pages in the charset they say they are in: from the BOM, the HTTP Content-Type or <meta charset>
(WHATWG sniffing), every character's bytes known, and a translated page written back in its own charset
with every other byte as it was."""

from __future__ import annotations

import re

import pytest
from test_markup import _page
from transnorm.decode import charset_parameter, decode, decode_html
from transnorm.errors import CharsetError, DecodeError
from transnorm.markup import Replacement, extract, replace, splice

_META = re.compile(r"<meta[^>]*charset[^>]*>", re.I)

# (WHATWG name, Python codec that writes it, a real page whose text it can hold)
CHARSETS = [
    ("windows-1252", "cp1252", "lemonde-1.html"),
    ("windows-1251", "cp1251", "telegraph.html"),
    ("KOI8-R", "koi8_r", "ars-1.html"),
    ("GBK", "gbk", "wikipedia.html"),
    ("Shift_JIS", "cp932", "yahoo-4.html"),
    ("EUC-KR", "cp949", "engadget.html"),
    ("Big5", "big5hkscs", "hukumusume.html"),
]


def _legacy(name: str, encoding: str, codec: str, declare: str = "meta") -> tuple[bytes, str]:
    """A real page in another charset: characters the charset lacks written as references (as such pages
    are), its charset declared in a <meta> (or not at all)."""
    page = _META.sub("", _page(name))
    if declare == "meta":
        page = page.replace("<head>", f'<head><meta charset="{encoding.lower()}">', 1)
        if "<head>" not in _page(name):
            page = f'<meta charset="{encoding.lower()}">' + page
    text = page.encode(codec, "xmlcharrefreplace").decode(codec)
    return text.encode(codec), text


@pytest.mark.parametrize(("encoding", "codec", "name"), CHARSETS)
def test_a_real_page_in_a_legacy_charset_is_decoded_with_every_characters_bytes(encoding, codec, name):
    data, text = _legacy(name, encoding, codec)
    decoded = decode_html(data)
    assert (decoded.encoding, decoded.charset_from) == (encoding, "meta")
    assert decoded.raw == text
    offsets = [decoded.byte_offset(i) for i in range(len(text) + 1)]
    assert offsets[0] == 0 and offsets[-1] == len(data)
    step = max(1, len(text) // 4000)  # every character of the first 4000 and a sample of the rest
    for i in [*range(min(len(text), 4000)), *range(4000, len(text), step)]:
        assert data[offsets[i] : offsets[i + 1]].decode(codec) == text[i], i


@pytest.mark.parametrize(("encoding", "codec", "name"), CHARSETS[:4])
def test_a_translated_legacy_page_keeps_every_other_byte(encoding, codec, name):
    data, _ = _legacy(name, encoding, codec)
    decoded = decode_html(data)
    page = extract(decoded.raw)
    block = max(
        (b for b in page.blocks if b.kind == "text" and b.translatable), key=lambda b: b.end - b.start
    )
    rewrite = replace(page, [Replacement(block.start, block.end, "Über 中文 text", (("lang", "en"),))])
    out = splice(data, decoded, rewrite)
    (edit,) = rewrite.edits
    start, end = decoded.byte_offset(edit.start), decoded.byte_offset(edit.end)
    new = edit.html.encode(codec, "xmlcharrefreplace")
    assert out == data[:start] + new + data[end:]
    assert decode_html(out).raw == rewrite.html.encode(codec, "xmlcharrefreplace").decode(codec)
    assert splice(data, decoded, replace(page, [])) == data


def test_the_bom_beats_the_http_header_which_beats_the_page():
    page = '<meta charset="koi8-r"><p>Привет</p>'
    assert decode_html(page.encode("koi8_r")).encoding == "KOI8-R"
    http = decode_html(page.encode("cp1251"), "text/html; charset=windows-1251")
    assert (http.encoding, http.charset_from, http.raw) == ("windows-1251", "http", page)
    bom = decode_html(b"\xef\xbb\xbf" + page.encode(), "text/html; charset=windows-1251")
    assert (bom.encoding, bom.charset_from, bom.raw, bom.bom) == ("UTF-8", "bom", page, True)
    assert bom.byte_offset(0) == 3
    utf16 = decode_html("\ufeff<p>Привет 😀</p>".encode("utf-16-le"))
    assert (utf16.encoding, utf16.raw) == ("UTF-16LE", "<p>Привет 😀</p>")
    assert [utf16.byte_offset(i) for i in (0, 1, 10, 11, 12)] == [2, 4, 22, 26, 28]


def test_the_prescan_reads_meta_as_browsers_do():
    body = "<p>Привет</p>".encode("cp1251")
    assert decode_html(b"<!-- <meta charset=koi8-r> --><meta charset=windows-1251>" + body).encoding == (
        "windows-1251"
    )
    equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">' + body
    assert decode_html(equiv).charset_from == "meta"
    assert decode_html(b"<meta charset=latin1><p>caf\xe9").encoding == "windows-1252"  # as the spec maps it
    assert decode_html(b"<meta charset=utf-16><p>caf\xc3\xa9").raw == "<meta charset=utf-16><p>café"
    # An HTTP charset nobody knows is ignored: the page's own declaration holds.
    assert decode_html(b"<meta charset=windows-1251>" + body, "text/html; charset=bogus").encoding == (
        "windows-1251"
    )


def test_an_undeclared_page_is_utf8_or_a_clear_error():
    plain = decode_html("<p>café 中文</p>".encode())
    assert (plain.encoding, plain.charset_from) == ("UTF-8", "default")
    with pytest.raises(CharsetError, match="declares no charset") as err:
        decode_html("<p>Это страница в кодировке windows-1251, без объявления.</p>".encode("cp1251"))
    assert err.value.offset == 3 and isinstance(err.value, DecodeError)
    assert err.value.problem()["code"] == "undecodable"
    replaced = decode_html(b"<p>caf\xe9</p>", errors="replace")
    assert replaced.raw == "<p>caf\ufffd</p>" and replaced.replacements[0].byte_offset == 6


def test_bytes_the_declared_charset_cannot_decode_are_named():
    with pytest.raises(CharsetError, match=r"byte 0x81 at byte offset 21 is not GBK"):
        decode_html(b"<meta charset=gbk><p>\x81")
    with pytest.raises(CharsetError, match="byte offset 30 is not windows-1253"):
        decode_html(b"<meta charset=windows-1253><p>\xaa")
    lenient = decode_html(b"<meta charset=gbk><p>\x81 \xd6\xd0", errors="replace")
    assert lenient.raw == "<meta charset=gbk><p>\ufffd 中"
    assert [lenient.byte_offset(i) for i in (21, 22, 23, 24)] == [21, 22, 23, 25]
    assert lenient.replacements[0].byte_offset == 21


def test_text_is_decoded_as_before_and_knows_its_bytes():
    d = decode("a😀é\r\n".encode())
    assert (d.encoding, d.charset_from) == ("UTF-8", "default")
    assert [d.byte_offset(i) for i in range(len(d.raw) + 1)] == [0, 1, 5, 7, 8, 9]
    replaced = decode(b"a\xffb\xe4\xb8\xad", errors="replace")
    assert [replaced.byte_offset(i) for i in range(len(replaced.raw) + 1)] == [0, 1, 2, 3, 6]
    assert decode_html("<p>x</p>").charset_from == "caller"


def test_the_charset_parameter_of_a_content_type():
    assert charset_parameter('text/html; charset="Shift_JIS"') == "Shift_JIS"
    assert charset_parameter("text/html;charset=utf-8;q=1") == "utf-8"
    assert charset_parameter("text/html") is None
    assert charset_parameter(None) is None
