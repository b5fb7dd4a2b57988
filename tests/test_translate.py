"""The real engine on a tiny real Argos package built by the test suite."""

import re

from transnorm.engine import ArgosEngine, TranslationCache, decoding_limit

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_target_pieces_are_decoded_by_the_packages_own_sentencepiece(real_settings, english_words):
    engine = ArgosEngine(real_settings.pipeline)
    engine.load(["all"])
    (model,) = engine._models.values()
    words = sorted(english_words)[:3]
    assert model.detokenize(["▁" + w for w in words]) == " ".join(words)
    # Every target piece is a piece of the package's SentencePiece model, so decode never makes ⁇.
    vocabulary = {model.sp.id_to_piece(i) for i in range(model.sp.get_piece_size())}
    assert {"▁" + w for w in english_words} <= vocabulary


def test_decoding_limit_grows_with_input_and_is_capped(real_settings):
    assert decoding_limit(1, real_settings.pipeline) < decoding_limit(20, real_settings.pipeline)
    assert decoding_limit(10_000, real_settings.pipeline) == real_settings.pipeline.decoding_cap


def test_translation_cache_evicts_the_least_recently_used_and_counts():
    cache = TranslationCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert (cache.hits, cache.misses) == (3, 1)
    off = TranslationCache(0)
    off.put("a", 1)
    assert off.get("a") is None and off.misses == 1


def test_real_engine_outputs_english_words_deterministically(real_settings, english_words):
    engine = ArgosEngine(real_settings.pipeline)
    assert set(engine.packages()) == {("zh", "en")}
    sentences = ["科尔图诺夫。", "但特朗普关注的是乌克兰问题。"]
    first = engine.translate("zh", sentences)
    again = ArgosEngine(real_settings.pipeline).translate("zh", sentences)
    assert [t.text for t in first] == [t.text for t in again]
    for t in first:
        assert t.text and not HAN.search(t.text)
        assert set(t.text.split()) <= english_words
        assert 0 < t.score <= 1
        assert t.tokens <= decoding_limit(40, real_settings.pipeline)


def test_cache_hits_on_repeated_sentences(real_settings):
    engine = ArgosEngine(real_settings.pipeline)
    engine.translate("zh", ["首先我们要明白。"])
    hits = engine.cache.hits
    engine.translate("zh", ["首先我们要明白。", "首先我们要明白。"])
    assert engine.cache.hits == hits + 2


def test_alternatives_come_from_the_n_best_list(real_settings, english_words):
    engine = ArgosEngine(real_settings.pipeline)
    sentences = ["但特朗普关注的是乌克兰问题。", "科尔图诺夫。"]
    plain = engine.translate("zh", sentences, beam_size=4)
    nbest = engine.translate("zh", sentences, beam_size=4, alternatives=3)
    assert [t.text for t in nbest] == [t.text for t in plain]  # same beam, same best hypothesis
    assert any(t.alternatives for t in nbest)
    for t in nbest:
        assert len(t.alternatives) <= 3 and t.text not in t.alternatives
        assert len(set(t.alternatives)) == len(t.alternatives)
        assert all(set(a.split()) <= english_words for a in t.alternatives)
    assert not any(t.alternatives for t in engine.translate("zh", sentences, beam_size=4))  # cached apart


def test_seed_003_through_the_real_engine(real_pipeline, seeds):
    doc = real_pipeline(seeds["003"])
    doc.check()
    chinese = [s for s in doc.spans if HAN.search(s.source_text)]
    assert chinese and all(s.lang == "zh" and s.action == "translated" for s in chinese)
    assert not HAN.search(doc.text)
    assert {s.engine.package for s in chinese} == {"translate-zh_en"}
    assert doc.models == [
        {"package": "translate-zh_en", "version": "0.1", "from": "zh", "to": "en", "used": True}
    ]


def test_explicit_source_and_another_target_use_that_pair(tmp_path, tiny_package, corpus, detector):
    from transnorm import Options, Pipeline, Settings
    from transnorm.devtools.modelbuild import build_package
    from transnorm.packages import install_file

    zh_fr = build_package(tmp_path / "zh_fr.argosmodel", "zh", corpus, to_code="fr", version="0.2", seed=3)
    install_file(tiny_package, tmp_path / "m")
    install_file(zh_fr, tmp_path / "m")
    settings = Settings(models_dir=tmp_path / "m", compute_type="float32")
    engine = ArgosEngine(settings.pipeline)
    assert set(engine.packages()) == {("zh", "en"), ("zh", "fr")}
    pipeline = Pipeline(settings, engine=engine, detector=detector)
    doc = pipeline("Beijing 科尔图诺夫。".encode(), Options(source="zh", target="fr"))
    (span,) = [s for s in doc.spans if s.action == "translated"]
    assert span.source_text == "Beijing 科尔图诺夫。" and span.engine.package == "translate-zh_fr"
    doc = pipeline("Beijing 科尔图诺夫。".encode(), Options(source="zh"))
    assert {s.engine.package for s in doc.spans if s.engine} == {"translate-zh_en"}
