"""Addresses and code are kept verbatim, whatever script they are written in (issue 10)."""

from __future__ import annotations

import pytest
from transnorm import addresses
from transnorm.document import Reason


@pytest.mark.parametrize(
    "text, kept",
    [
        ("See https://zh.wikipedia.org/wiki/北京 for more.", "https://zh.wikipedia.org/wiki/北京"),
        ("Open https://example.com/путь/к/статье.", "https://example.com/путь/к/статье"),
        ("Write to info@例え.jp today.", "info@例え.jp"),
        ("It is in /data/报告/2024.csv now.", "/data/报告/2024.csv"),
        ("It is in data/报告/年度/2024.csv now.", "data/报告/年度/2024.csv"),
        ("Open C:\\Users\\张三\\文档 first.", "C:\\Users\\张三\\文档"),
        ('Run `print("你好")` to test.', '`print("你好")`'),
        ("Follow @УкрПравда for news.", "@УкрПравда"),
        ("Tagged #Україна and more.", "#Україна"),
        ("Visit www.新华网.cn。然后回来。", "www.新华网.cn"),
        ("(see https://example.com/a_(b)).", "https://example.com/a_(b)"),
        ("Shares of amazon.com rose.", "amazon.com"),
        # Issue 19: an internationalized local part is still an address.
        ("Пишите на редакция@новини.бг до петък.", "редакция@новини.бг"),
        ("Kontakt: müller@beispiel.de", "müller@beispiel.de"),
    ],
)
def test_found(text, kept):
    found = [text[s:e] for s, e, _ in addresses.find(text)]
    assert kept in found


@pytest.mark.parametrize(
    "text",
    [
        "U.S. officials met on Jan. 5.",
        "It ended.In fact it grew 3.5% in 2024.",
        "and/or",
        "e.g. this",
        "C# and F#",
    ],
)
def test_not_addresses(text):
    assert addresses.find(text) == []


def test_kept_verbatim_through_the_pipeline(fake_pipeline, fake_engine):
    text = (
        "See https://zh.wikipedia.org/wiki/北京 and https://example.com/путь for background.\n"
        "Write to info@例え.jp; the file is /data/报告/2024.csv.\n"
        'Run `print("你好")` to test.\n'
        "```\n"
        "总结 = 翻译(文本)\n"
        "```\n"
        "科尔图诺夫说。\n"
    )
    doc = fake_pipeline(text.encode())
    doc.check()
    by_text = {s.source_text: s for s in doc.spans}
    for kept in (
        "https://zh.wikipedia.org/wiki/北京",
        "https://example.com/путь",
        "info@例え.jp",
        "/data/报告/2024.csv",
        '`print("你好")`',
        "总结 = 翻译(文本)",
    ):
        span = by_text[kept]
        assert span.action == "kept" and span.text == kept
        assert span.reason in (Reason.ADDRESS, Reason.CODE)
    # Only the Chinese sentence was sent to the model; nothing inside an address or code.
    sent = [s for _, sentences in fake_engine.calls for s in sentences]
    assert sent == ["科尔图诺夫说。"]
    assert by_text["总结 = 翻译(文本)"].reason == Reason.CODE


def test_an_address_in_cyrillic_is_kept_not_translated(fake_pipeline, fake_engine):
    doc = fake_pipeline("Вопросы присылайте на адрес вопросы@пример.рф.\n".encode())
    doc.check()
    (span,) = [s for s in doc.spans if s.source_text == "вопросы@пример.рф"]
    assert span.action == "kept" and span.reason == Reason.ADDRESS
    assert all("@" not in s for _, sentences in fake_engine.calls for s in sentences)


def test_ipa_between_slashes_is_not_a_path():
    assert addresses.find("Bern (/bɜːrn/) is the capital.") == []
