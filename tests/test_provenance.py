"""Byte-exact provenance: the spans tile the input as decoded, so BOM + joined ``source_text``
gives the input bytes back; and the property tests, over generated script runs, that found the
overlap at script boundaries."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import ANY_DOCUMENT, DOCUMENTS, check, rebuilt
from transnorm import Options
from transnorm.document import Action

EXAMPLES = int(os.environ.get("TRANSNORM_PROPERTY_EXAMPLES", "300"))
_BOM = b"\xef\xbb\xbf"


def test_every_seed_round_trips_byte_for_byte(fake_pipeline, seeds):
    for data in seeds.values():
        check(fake_pipeline(data), data)


@pytest.mark.parametrize(
    "data",
    [
        b"Hello\r\nWorld.\rMixed\nline endings\r\n",
        "Cafe\u0301 au lait, A\u030a and \u212b.\r\n".encode(),  # decomposed and singleton forms
        _BOM + "Intro.\r\n科尔图诺夫。\r\n".encode(),
        "\u1100\u1161\u11a8 한국어 문장입니다.\n".encode(),  # Hangul jamo compose under NFC
        b"",
        _BOM,
        b"\r",
    ],
)
def test_newline_and_nfc_changes_are_normalized_spans(fake_pipeline, data):
    doc = fake_pipeline(data)
    check(doc, data)
    for span in doc.spans:
        if span.reason in ("newline", "unicode-nfc"):
            assert span.action == Action.NORMALIZED and span.text != span.source_text
    assert "\r" not in doc.text


def test_the_contract_says_what_decoding_changed(fake_pipeline):
    doc = fake_pipeline("a\r\nb\rc\u0301".encode()).to_dict()
    assert doc["schema"] == "transnorm/2"
    assert doc["source"]["newlines"] == {"crlf": 1, "cr": 1} and doc["source"]["nfc_changed"] is True
    assert doc["source"]["chars"] == 7 and doc["text"] == "a b ć"  # a hard wrap, rejoined


def test_errors_replace_keeps_the_replaced_bytes(fake_pipeline):
    data = b"ok \xff done\r\n"
    doc = fake_pipeline(data, Options(errors="replace"))
    doc.check()
    replacements = doc.to_dict()["source"]["replacements"]
    body = rebuilt(doc)
    # The replaced bytes are recorded where they were: put them back and the input returns.
    for r in replacements:
        assert r == {"byte_offset": 3, "byte": "ff"}
    assert body.replace("\ufffd".encode(), bytes.fromhex("ff")) == data


def test_regression_spans_overlapped_at_a_script_boundary(fake_pipeline):
    """Issue 10: ``魂，فilno`` gave spans [0,2) and [1,3), the comma in both."""
    data = "魂，فilno".encode()
    doc = fake_pipeline(data)
    check(doc, data)
    assert [s.source_text for s in doc.spans if s.lang != "en"] == ["魂，", "ف"]


@pytest.mark.slow
def test_the_generators_reach_script_boundaries_next_to_cjk_punctuation():
    """The strategies must be able to produce the shape of the overlap bug (the old ones never did)."""
    # A CJK run, CJK punctuation, then letters of another script that is not Latin.
    shape = re.compile(
        r"[\u4e00-\u9fff\u3040-\u30ff][，。、；：！？《》「」（）【】][\u0400-\u04ff\u0590-\u06ff\u0900-\u0e7f\uac00-\ud7a3]"
    )
    seen = []

    @settings(max_examples=2000, derandomize=True, database=None)
    @given(DOCUMENTS)
    def generate(text):
        seen.append(bool(shape.search(text)))

    generate()
    assert sum(seen) >= 10, f"{sum(seen)} of {len(seen)} documents have the shape"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANY_DOCUMENT)
def test_any_generated_document_round_trips(fake_pipeline, text):
    data = text.encode("utf-8")
    for options in (Options(), Options(chrome="keep"), Options(source="zh")):
        check(fake_pipeline(data, options), data)
