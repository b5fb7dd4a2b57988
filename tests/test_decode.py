import hashlib

import pytest
from transnorm.decode import decode
from transnorm.errors import DecodeError


def test_utf8_with_bom_crlf_and_cr_are_normalized():
    d = decode(b"\xef\xbb\xbfa\r\nb\rc\n")
    assert d.text == "a\nb\nc\n"
    assert d.bom and d.crlf == 1 and d.cr == 1
    assert d.bytes_sha256 == hashlib.sha256(b"\xef\xbb\xbfa\r\nb\rc\n").hexdigest()


def test_nfc_is_applied_and_recorded():
    d = decode("e\u0301".encode())
    assert d.text == "\u00e9" and d.nfc_changed


def test_invalid_utf8_names_the_byte_offset():
    with pytest.raises(DecodeError) as err:
        decode(b"abc\xffdef")
    assert err.value.offset == 3
    assert "byte offset 3" in str(err.value)


def test_invalid_utf8_offset_counts_the_bom():
    with pytest.raises(DecodeError) as err:
        decode(b"\xef\xbb\xbfab\xc3(")
    assert err.value.offset == 5


def test_utf16_is_rejected_clearly():
    with pytest.raises(DecodeError, match="UTF-16"):
        decode("hi".encode("utf-16"))


def test_replace_records_every_replaced_byte():
    d = decode("é".encode() + b"\xff\xfe!", errors="replace")
    assert d.text == "é\ufffd\ufffd!"
    assert [(r.byte_offset, r.byte_hex) for r in d.replacements] == [(2, "ff"), (3, "fe")]


def test_empty_and_nul_are_valid_text():
    assert decode(b"").text == ""
    assert decode(b"a\x00b").text == "a\x00b"
