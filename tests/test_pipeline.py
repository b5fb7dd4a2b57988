"""The library call end to end: seeds, invariants, options, and the round-trip property."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transnorm import Options, Pipeline, Settings
from transnorm.decode import decode
from transnorm.document import Action
from transnorm.errors import DecodeError, OptionsError, TooLargeError

REMOVED = Action.REMOVED

HAN = re.compile(r"[\u4e00-\u9fff]")


def _roundtrip(doc):
    doc.check()
    assert "".join(s.source_text for s in doc.spans) == doc.source
    assert "".join(s.text for s in doc.spans if s.action != REMOVED) == doc.text


def test_seeds_round_trip_and_english_seeds_are_untouched(fake_pipeline, seeds):
    for name, data in seeds.items():
        doc = fake_pipeline(data)
        _roundtrip(doc)
        assert doc.source == decode(data).raw
        if name in ("000", "001", "002"):
            assert not [s for s in doc.spans if s.lang not in ("en", "zxx")], name


def test_seed_003_every_chinese_span_is_translated_in_one_batch(fake_pipeline, fake_engine, seeds):
    doc = fake_pipeline(seeds["003"])
    chinese = [s for s in doc.spans if HAN.search(s.source_text)]
    assert len(chinese) >= 25
    assert all(s.lang == "zh" and s.action == "translated" for s in chinese)
    assert not HAN.search(doc.text)
    assert len(fake_engine.calls) == 1 and fake_engine.calls[0][0] == "zh"
    # Hard-wrapped lines reach the model joined, without the line break.
    sent = fake_engine.calls[0][1]
    assert (
        "科尔图诺夫对《中国新闻周刊》表示,美俄对“特普会”的期待依然很高,希望能有实质性成果,“这不是一般的领导人会晤”。"
        in sent
    )
    assert not any("\n" in s for s in sent)
    assert "科尔图诺夫。" in sent
    span = next(s for s in doc.spans if s.action == "translated")
    assert span.engine.package == "translate-zh_en" and span.engine.version == "9.9"
    assert 0 <= span.mt_score <= 1
    assert doc.complete


def test_seed_004_chrome_and_notice_removed_but_kept_in_provenance(fake_pipeline, seeds):
    doc = fake_pipeline(seeds["004"])
    assert "Озвучить текст" not in doc.text
    assert "Яндекс" not in doc.text
    assert "Skip to main content" not in doc.text
    assert doc.text.startswith("Moscow and Washington")
    assert [n.to_dict() for n in doc.upstream_translation] == [
        {"service": "Yandex Translate", "evidence": "Переведено сервисом «Яндекс Переводчик»"}
    ]
    removed = {s.source_text.strip(): s.reason for s in doc.spans if s.action == REMOVED}
    assert removed["Озвучить текст"] == "chrome"
    assert removed["Переведено сервисом «Яндекс Переводчик»"] == "upstream-mt-notice"
    assert not re.search(r"\n{3,}", doc.text)


def test_chrome_keep_translates_foreign_chrome_instead(fake_pipeline, seeds):
    doc = fake_pipeline(seeds["004"], Options(chrome="keep"))
    assert not [s for s in doc.spans if s.action == REMOVED]
    assert "Skip to main content" in doc.text
    ru = [s for s in doc.spans if s.lang == "ru"]
    assert {s.action for s in ru} == {"translated"}
    assert doc.upstream_translation  # still reported


def test_seed_002_title_repeats_and_comment_form(fake_pipeline, seeds):
    doc = fake_pipeline(seeds["002"])
    title = "Reset Again? How Putin is Finding an Approach to Trump and What's Happening Between "
    title += "Russia and the US"
    assert doc.text.count(title) == 1
    reasons = [s.reason for s in doc.spans if s.action == REMOVED]
    assert reasons.count("title-repeat") == 6 and reasons.count("comment-form") == 2


def test_no_model_means_untranslated_and_incomplete(detector):
    from conftest import FakeEngine

    pipeline = Pipeline(Settings(), engine=FakeEngine(langs=("ru",)), detector=detector)
    doc = pipeline("An English line.\n日本政府は来週、新たな経済対策を発表する予定だ。\n".encode())
    (ja,) = [s for s in doc.spans if s.lang == "ja"]
    assert ja.action == "untranslated" and ja.reason == "no-model" and ja.text == ja.source_text
    assert not doc.complete
    assert any("ja" in w for w in doc.warnings)


def test_translations_not_in_latin_script_are_rejected(detector, seeds):
    """Issue 10's quality gate: what an untrained model does (output in the source's script) is
    not accepted as English; the span stays untranslated with the output kept for inspection."""
    from conftest import FakeEngine
    from transnorm.translate import Translation

    class Echo(FakeEngine):
        def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
            return [Translation(f"{s} the", 0.1, 3) for s in sentences]

    doc = Pipeline(Settings(), engine=Echo(), detector=detector)(seeds["003"])
    assert not [s for s in doc.spans if s.action == "translated"] and not doc.complete
    rejected = [s for s in doc.spans if s.reason == "bad-translation"]
    assert len(rejected) >= 25 and all(s.rejected_text.endswith(" the") for s in rejected)
    assert all(s.text == s.source_text for s in rejected)
    (warning,) = [w for w in doc.warnings if "Latin" in w]
    assert warning.startswith(f"{len(rejected)} sentence(s) rejected from translate-zh_en 9.9 (zh→en)")
    good = Pipeline(Settings(), engine=FakeEngine(), detector=detector)(seeds["003"])
    assert good.warnings == [] and good.complete


def test_inline_run_is_translated_with_spacing(fake_pipeline):
    doc = fake_pipeline("He told 《中国新闻周刊》 that talks go on.".encode())
    (tr,) = [s for s in doc.spans if s.action == "translated"]
    assert tr.source_text == "《中国新闻周刊》"
    assert doc.text.startswith("He told ") and " that talks go on." in doc.text
    assert "  " not in doc.text


def test_translated_sentences_are_separated_by_a_space(fake_pipeline):
    doc = fake_pipeline("首先我们要明白。双方过去有失败的经验。".encode())
    translated = [s for s in doc.spans if s.action == "translated"]
    assert len(translated) == 2
    assert translated[1].text.startswith(" ")
    assert "。" not in doc.text and ".." not in doc.text


def test_english_hard_wrap_is_a_normalized_span(fake_pipeline):
    doc = fake_pipeline(b"We discussed a lot of things, including\nissues. Then we left.")
    assert doc.text == "We discussed a lot of things, including issues. Then we left."
    (norm,) = [s for s in doc.spans if s.action == "normalized"]
    assert norm.source_text == "\n" and norm.text == " " and norm.reason == "hard-wrap"


def test_many_documents_share_one_batch_and_errors_stay_in_place(fake_pipeline, fake_engine):
    results = fake_pipeline.normalize_many(
        [("第一句。".encode(), None, "a"), (b"\xff", None, "b"), ("第二句。".encode(), None, "c")]
    )
    assert [type(r.document or r.error).__name__ for r in results] == ["Document", "DecodeError", "Document"]
    assert [r.id for r in results] == ["a", "b", "c"]
    assert [set(r.to_dict()) for r in results] == [{"id", "result"}, {"id", "error"}, {"id", "result"}]
    assert len(fake_engine.calls) == 1 and len(fake_engine.calls[0][1]) == 2


def test_pipe_streams_in_order_a_chunk_at_a_time(fake_pipeline, fake_engine):
    """pipe takes its input lazily: the first results come before the last item is drawn, and
    each chunk's sentences go to the engine in one call."""
    drawn = []

    def items():
        for i in range(7):
            drawn.append(i)
            yield (f"第{i}句。".encode(), None, str(i))

    stream = fake_pipeline.pipe(items(), chunk_documents=3)
    first = next(stream)
    assert first.id == "0" and first.ok and drawn == [0, 1, 2]
    rest = list(stream)
    assert [o.id for o in rest] == [str(i) for i in range(1, 7)]
    assert [len(sentences) for _, sentences in fake_engine.calls] == [3, 3, 1]


def test_pipe_as_tuples_carries_context_and_passes_errors_through(fake_pipeline):
    from transnorm.document import Outcome
    from transnorm.errors import InputError

    given = [
        ((b"Hello there.", None, "a"), "ctx-a"),
        (Outcome("b", error=InputError("not a document")), "ctx-b"),
    ]
    out = list(fake_pipeline.pipe(given, as_tuples=True))
    assert [(o.ok, ctx) for o, ctx in out] == [(True, "ctx-a"), (False, "ctx-b")]
    assert out[1][0].to_dict()["error"]["detail"] == "not a document"


def test_postnormalize_returns_new_units_and_leaves_its_input_alone(fake_pipeline):
    from transnorm.assemble import settle
    from transnorm.postnorm import postnormalize
    from transnorm.translate import Translation

    plan = fake_pipeline.plan("你好。Then they left.\n".encode())
    settled = settle(plan, [Translation("hello", 0.9, 1) for _ in plan.pending])
    before = list(settled.units)
    after = postnormalize(settled.units, True)
    assert settled.units == before  # nothing was changed in place
    assert "".join(u.text for u in after) != "".join(u.text for u in before)


def test_bad_inputs_raise_clear_errors(fake_pipeline, detector, fake_engine):
    with pytest.raises(DecodeError, match="byte offset 1"):
        fake_pipeline(b"a\x80")
    small = Pipeline(Settings(max_bytes=10), engine=fake_engine, detector=detector)
    with pytest.raises(TooLargeError, match="limit is 10"):
        small(b"x" * 11)
    with pytest.raises(OptionsError, match="unknown option"):
        Options.from_mapping({"colour": "blue"})
    with pytest.raises(OptionsError):
        Options.from_mapping({"beam_size": "4"})
    with pytest.raises(OptionsError):
        Options(format="pdf")
    for bad in (-1, 9, True, "2", 1.5, None):
        with pytest.raises(OptionsError, match="alternatives"):
            Options.from_mapping({"alternatives": bad})
    assert Options.from_mapping({"alternatives": 2.0}).alternatives == 2


def test_alternatives_are_kept_per_span_and_compose_whole_texts(fake_pipeline, fake_engine):
    source = "He told 《中国新闻周刊》 that talks go on.\n首先我们要明白。双方过去有失败的经验。\n"
    plain = fake_pipeline(source.encode())
    assert all(not s.alternatives and "alternatives" not in s.to_dict() for s in plain.spans)
    doc = fake_pipeline(source.encode(), Options(alternatives=2))
    _roundtrip(doc)
    assert doc.text == plain.text  # asking for alternatives does not change the translation
    translated = [s for s in doc.spans if s.action == "translated"]
    assert len(translated) == 3
    for span in translated:
        assert len(span.alternatives) == 2 and span.text not in span.alternatives
        assert span.to_dict()["alternatives"] == span.alternatives
        # Same spacing as the translation it stands in for; English punctuation too.
        lead = span.text[: len(span.text) - len(span.text.lstrip())]
        assert all(a.startswith(lead) and not HAN.search(a) and "。" not in a for a in span.alternatives)
    texts = doc.alternative_texts(5)
    assert len(texts) == 2 and doc.text not in texts
    first = "".join(s.alternatives[0] if s.alternatives else s.text for s in doc.spans if s.action != REMOVED)
    assert texts[0] == first and texts[0].startswith("He told ") and " that talks go on." in texts[0]
    assert doc.alternative_texts(1) == texts[:1] and plain.alternative_texts(3) == []


@pytest.mark.parametrize("data", [b"", b"   \n\n  ", b"\x00\x01\x02", b"\n" * 1000, "a\u0301\r\n".encode()])
def test_edge_inputs_are_valid_documents(fake_pipeline, data):
    doc = fake_pipeline(data)
    _roundtrip(doc)


def test_errors_replace_is_recorded(fake_pipeline):
    doc = fake_pipeline(b"ok \xff done", Options(errors="replace"))
    assert "\ufffd" in doc.source
    assert doc.to_dict()["source"]["replacements"] == [{"byte_offset": 3, "byte": "ff"}]
    assert doc.warnings


_ALPHABET = st.one_of(
    st.characters(blacklist_categories=("Cs",)),
    st.sampled_from(
        list("\n\r \t。，《》“”.!?科尔图诺夫对中国新闻周刊Озвучить текстéü\u0301\u200f\u05d0🙂\x00")
    ),
)
_LINES = st.sampled_from(
    [
        "Skip to main content",
        "On",
        "Off",
        "Переведено сервисом «Яндекс Переводчик»",
        "科尔图诺夫。",
        "We discussed a lot of things, including",
        "issues.",
        "",
        "Le président a déclaré que la situation reste tendue.",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.one_of(st.text(_ALPHABET, max_size=80), _LINES), max_size=12),
    st.sampled_from(["\n", "\r\n", " "]),
)
def test_round_trip_property(fake_pipeline, parts, sep):
    text = sep.join(parts)
    for chrome in ("remove", "keep"):
        doc = fake_pipeline(text.encode("utf-8"), Options(chrome=chrome))
        _roundtrip(doc)
        assert doc.source == decode(text.encode("utf-8")).raw


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_document_or_a_decode_error(fake_pipeline, data):
    try:
        doc = fake_pipeline(data)
    except DecodeError as exc:
        assert 0 <= exc.offset < len(data)
    else:
        _roundtrip(doc)
    _roundtrip(fake_pipeline(data, Options(errors="replace")))


_HOSTILE_CHARS = st.one_of(
    st.characters(codec="utf-8", blacklist_categories=("Cs",)),  # anything UTF-8 can carry
    st.sampled_from(
        list("\u0301\u0308\u20dd\u200d\u200e\u200f\u202e\u2066\ufeff\x00\x07\x1b\r\n\t\u2028\u2029")
    ),
)
_HOSTILE_PIECES = st.sampled_from(
    [
        "🙂",
        "👩\u200d👩\u200d👧",
        "🇺🇦",
        "עברית",
        "العربية",
        "한국어",
        "日本語の",
        "科尔。",
        "Озвучить",
        "e\u0301",
    ]
)
_HOSTILE = st.lists(st.one_of(st.text(_HOSTILE_CHARS, max_size=20), _HOSTILE_PIECES), max_size=6).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(_HOSTILE, max_size=8),
    st.sampled_from(["\n", "\r", "\r\n", "", " ", "\u2028"]),
    st.integers(min_value=0, max_value=3),
)
@pytest.mark.slow
def test_round_trip_hostile_unicode(fake_pipeline, parts, sep, long_line):
    # Combining marks, emoji sequences, RTL and bidi controls, NUL and control characters, lone
    # CR, mixed scripts, and (sometimes) one very long line.
    text = sep.join(parts) + ("x" * 20_000 + "科尔图诺夫" * 500 if long_line == 3 else "")
    for options in (Options(), Options(chrome="keep"), Options(source="zh")):
        doc = fake_pipeline(text.encode("utf-8"), options)
        _roundtrip(doc)
        assert doc.source == decode(text.encode("utf-8")).raw


def test_traditional_chinese_goes_to_a_zt_package_when_there_is_one(detector):
    from conftest import FakeEngine

    text = "Intro.\n政府週一宣佈了支持小型企業的新措施。\n".encode()
    both = FakeEngine(langs=("zh", "zt"))
    doc = Pipeline(Settings(), engine=both, detector=detector)(text)
    (span,) = [s for s in doc.spans if s.action == "translated"]
    assert span.lang == "zt" and span.engine.package == "translate-zt_en" and span.conversion is None
    assert both.calls == [("zt", ["政府週一宣佈了支持小型企業的新措施。"])]


def test_traditional_chinese_is_converted_for_a_zh_package(detector):
    from conftest import FakeEngine

    text = "Intro.\n政府週一宣佈了支持小型企業的新措施。\n".encode()
    only_zh = FakeEngine(langs=("zh",))
    doc = Pipeline(Settings(), engine=only_zh, detector=detector)(text)
    (span,) = [s for s in doc.spans if s.action == "translated"]
    assert span.lang == "zt" and span.engine.package == "translate-zh_en"
    assert span.conversion == "t2s" and span.to_dict()["conversion"] == "t2s"
    assert span.source_text == "政府週一宣佈了支持小型企業的新措施。"  # the provenance keeps the original
    assert only_zh.calls == [("zh", ["政府周一宣布了支持小型企业的新措施。"])]  # the model got Simplified


def test_brazilian_portuguese_uses_a_pt_package_and_the_reverse(detector):
    from conftest import FakeEngine

    text = "Intro.\nVocê pode acompanhar as notícias pelo celular durante a viagem.\n".encode()
    doc = Pipeline(Settings(), engine=FakeEngine(langs=("pt",)), detector=detector)(text)
    (span,) = [s for s in doc.spans if s.action == "translated"]
    assert span.lang == "pb" and span.engine.package == "translate-pt_en"


def test_the_languages_setting_restricts_what_is_named(detector):
    from transnorm.detect import Detector

    restricted = Detector(["zh", "ru"])
    assert restricted.detect("Le gouvernement a annoncé lundi de nouvelles mesures.").lang == "en"
    assert restricted.detect("日本政府は来週、新たな経済対策を発表する予定だ。").lang == "und"
    assert restricted.detect("Правительство объявило о новых мерах.").lang == "ru"
    assert Settings(languages="zh,ru").pipeline.languages == ("zh", "ru")
    with pytest.raises(Exception, match="unknown language"):
        Settings(languages="zh,xx")


@pytest.mark.parametrize(
    "foreign",
    ["Pero may isang taong sumakay na bukod-tangi.", "Der Vertrag wurde gestern in Berlin unterzeichnet."],
)
def test_a_short_english_sentence_in_a_mostly_english_paragraph_stays_english(fake_pipeline, foreign):
    """One foreign sentence does not make an English paragraph foreign: "Yes." beside it kept its
    English only when the foreign language held most of the paragraph's letters (it was named
    after the one foreign sentence, and left untranslated as such)."""
    text = (
        f"Yes. All tropical cyclones lose strength once they make landfall. {foreign} However, they stay.\n"
    )
    doc = fake_pipeline(text.encode())
    yes = next(s for s in doc.spans if s.source_text.startswith("Yes"))
    assert yes.lang == "en" and yes.action == "kept"
    assert [s.source_text for s in doc.spans if s.lang not in ("en", "zxx")] == [foreign]


def test_in_process_engine_gets_one_replica_per_core_unless_threads_are_set(tmp_path, detector):
    """The library's own engine runs as the translation process's does (docs/benchmarks.md: on
    2 cores CTranslate2's default threads made the same sentences 2× slower)."""
    import os

    default = Pipeline(Settings(models_dir=tmp_path), detector=detector).engine.settings
    assert (default.inter_threads, default.intra_threads) == (os.cpu_count() or 1, 1)
    chosen = Pipeline(Settings(models_dir=tmp_path, intra_threads=2), detector=detector).engine.settings
    assert (chosen.inter_threads, chosen.intra_threads) == (1, 2)
