"""The engine against the reference implementation and the model's limits: argostranslate parity
on a target-prefix package, long input split to fit, engine errors confined to their sentence."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import ROOT, http_get, http_post
from poisoned import Poisoned
from transnorm import Options, Pipeline, Settings
from transnorm.devtools.modelbuild import build_package
from transnorm.engine import ArgosEngine, model_positions
from transnorm.errors import ModelError
from transnorm.packages import install_file

POLISH = [
    "Rząd zapowiedział nowe przepisy dotyczące ochrony środowiska.",
    "Według ministra zmiany wejdą w życie na początku przyszłego roku.",
    "Sejm zajmie się tą sprawą w przyszłym tygodniu.",
]


class Recording:
    """Wraps a CTranslate2 translator; keeps every result of translate_batch."""

    def __init__(self, translator):
        self.translator, self.calls = translator, []

    def translate_batch(self, *args, **kwargs):
        out = self.translator.translate_batch(*args, **kwargs)
        if kwargs.get("asynchronous"):
            results = [future.result() for future in out]
            self.calls.append((args, kwargs, results))
            return [_Done(result) for result in results]
        self.calls.append((args, kwargs, out))
        return out


class _Done:
    """An asynchronous result that is already there."""

    def __init__(self, result):
        self._result = result

    def result(self):
        return self._result


@pytest.fixture(scope="module")
def prefix_package(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("prefix") / "translate-pl_en-0_2.argosmodel"
    return build_package(out, "pl", [*corpus, *POLISH], version="0.2", target_prefix="__en__", seed=5)


@pytest.fixture(scope="module")
def prefix_dir(tmp_path_factory, prefix_package):
    models_dir = tmp_path_factory.mktemp("prefix-installed")
    return install_file(prefix_package, models_dir).path


def test_greedy_output_matches_argostranslate_token_for_token(prefix_dir, monkeypatch):
    import ctranslate2
    from argostranslate import settings as argos_settings
    from argostranslate.package import Package
    from argostranslate.translate import apply_packaged_translation

    # argostranslate: greedy, its sentence splitter replaced by the sentences themselves.
    monkeypatch.setattr(argos_settings, "beam_size", 1)

    class OneSentence:
        def split_sentences(self, text):
            return [text]

    package = Package(prefix_dir)
    assert package.target_prefix == "__en__"
    argos = Recording(ctranslate2.Translator(str(prefix_dir / "model"), device="cpu", compute_type="float32"))
    settings = Settings(
        models_dir=prefix_dir.parent, compute_type="float32", beam_size=1, decoding_ratio=50, decoding_cap=255
    )
    engine = ArgosEngine(settings.pipeline)
    engine.load(["all"])
    (model,) = engine._models.values()
    ours = model.translator = Recording(model.translator)
    for sentence in POLISH:
        apply_packaged_translation(package, sentence, argos, OneSentence(), num_hypotheses=1)
        (translation,) = engine.translate("pl", [sentence], beam_size=1)
        reference = argos.calls[-1][2][0].hypotheses[0]
        tokens = ours.calls[-1][2][0].hypotheses[0]
        assert reference[0] == "__en__" and tokens[0] == "__en__"  # decoding starts from the prefix
        k = min(len(reference), len(tokens))
        assert k > 5 and tokens[:k] == reference[:k]
        # The prefix is not part of the translation.
        assert "__en__" not in translation.text and "en" not in translation.text.split()[:1]
        assert translation.text == model.detokenize(tokens[1 : 1 + len(translation.text.split())])
    # The call itself is made as argostranslate makes it.
    kwargs = ours.calls[-1][1]
    assert kwargs["target_prefix"] == [["__en__"]]
    assert kwargs["replace_unknowns"] is True and kwargs["length_penalty"] == 0.2
    assert kwargs["batch_type"] == "tokens"
    assert argos.calls[-1][1]["length_penalty"] == kwargs["length_penalty"]


def test_without_the_prefix_the_model_decodes_something_else(prefix_dir):
    """What an engine that ignores target_prefix gets: the parity test above would fail on it."""
    import ctranslate2
    import sentencepiece

    translator = ctranslate2.Translator(str(prefix_dir / "model"), device="cpu", compute_type="float32")
    sp = sentencepiece.SentencePieceProcessor(model_file=str(prefix_dir / "sentencepiece.model"))
    tokens = [sp.encode(s, out_type=str) for s in POLISH]
    with_prefix = translator.translate_batch(
        tokens, beam_size=1, target_prefix=[["__en__"]] * 3, max_decoding_length=20
    )
    without = translator.translate_batch(tokens, beam_size=1, max_decoding_length=20)
    assert [r.hypotheses[0][1:] for r in with_prefix] != [r.hypotheses[0] for r in without]


# -- long input -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_model_dir(tmp_path_factory, corpus):
    """A zh→en package whose model has 64 positions, like converted Marian models have 256 or 512."""
    out = tmp_path_factory.mktemp("short") / "translate-zh_en-0_3.argosmodel"
    package = build_package(out, "zh", corpus, version="0.3", max_positions=64, seed=2)
    models_dir = tmp_path_factory.mktemp("short-installed")
    install_file(package, models_dir)
    return models_dir


LONG_RUN = "美国总统特朗普与俄罗斯总统普京在阿拉斯加举行会晤双方讨论了乌克兰问题和双边关系" * 8


def test_the_model_limit_is_read_from_model_bin(short_model_dir, real_settings):
    (package,) = short_model_dir.iterdir()
    assert model_positions(package / "model") == 64
    (tiny,) = real_settings.pipeline.models_dir.iterdir()
    assert model_positions(tiny / "model") == 512  # no stored encodings: the default


def test_ctranslate2_refuses_what_is_longer_than_the_positions(short_model_dir):
    """Why splitting is needed: the raw call fails on the long run the next test translates."""
    import ctranslate2
    import sentencepiece

    (package,) = short_model_dir.iterdir()
    translator = ctranslate2.Translator(str(package / "model"), device="cpu", compute_type="float32")
    sp = sentencepiece.SentencePieceProcessor(model_file=str(package / "sentencepiece.model"))
    tokens = sp.encode(LONG_RUN, out_type=str)
    assert len(tokens) > 64
    with pytest.raises(Exception, match="position"):
        translator.translate_batch([tokens], beam_size=1, max_decoding_length=8)


def test_long_sentences_are_split_to_fit_and_joined(short_model_dir, detector):
    settings = Settings(models_dir=short_model_dir, compute_type="float32")
    pipeline = Pipeline(settings, detector=detector)
    text = f"Intro.\n{LONG_RUN}。\n{'，'.join([LONG_RUN[:40]] * 6)}。\nOutro.\n"
    doc = pipeline(text.encode())
    doc.check()
    chinese = [s for s in doc.spans if s.lang == "zh"]
    assert len(chinese) == 2 and all(s.action == "translated" for s in chinese), [s.reason for s in chinese]
    assert all(len(s.text.split()) > 10 for s in chinese)
    assert doc.complete and not re.search(r"[\u4e00-\u9fff]", doc.text)
    (model,) = pipeline.engine._models.values()
    assert model.max_source_tokens == 64 and model.max_output_tokens == 63
    pieces = model.pieces(LONG_RUN, model.sp.encode(LONG_RUN, out_type=str))
    assert len(pieces) > 1 and all(len(p) <= 64 for p in pieces)


# -- failure isolation --------------------------------------------------------------------------


def test_an_engine_error_is_confined_to_its_sentence(fake_engine, detector):
    pipeline = Pipeline(Settings(), engine=Poisoned(fake_engine), detector=detector)
    items = [
        ("第一句。有毒的句子。第三句。".encode(), None, "poisoned"),
        ("另一个文件的句子。".encode(), None, "innocent"),
    ]
    poisoned, innocent = (outcome.document for outcome in pipeline.normalize_many(items))
    assert innocent.complete and [s.action for s in innocent.spans if s.lang == "zh"] == ["translated"]
    actions = [(s.action, s.reason) for s in poisoned.spans if s.lang == "zh"]
    assert actions == [("translated", None), ("untranslated", "engine-error"), ("translated", None)]
    assert not poisoned.complete
    (warning,) = poisoned.warnings
    assert "could not be translated" in warning and "No position encodings" in warning


def test_a_model_that_cannot_load_is_still_an_error(tmp_path, tiny_package, detector):
    """Not a sentence's fault: a broken model fails the call (the CLI exits 4, HTTP answers 503)."""
    from transnorm.errors import ModelError

    info = install_file(tiny_package, tmp_path / "m")
    (info.path / "model" / "model.bin").write_bytes(b"garbage")
    pipeline = Pipeline(Settings(models_dir=tmp_path / "m", compute_type="float32"), detector=detector)
    with pytest.raises(ModelError, match="cannot load"):
        pipeline("科尔图诺夫。".encode(), Options())


def test_batch_confines_an_engine_error_to_its_file_and_sentence(tmp_path, real_settings, detector):
    from transnorm.batch import Job, run_batch

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("Intro.\n第一句。有毒的句子。\n")
    for name in ("b.txt", "c.txt"):
        (src / name).write_text(f"Intro.\n{name}的句子。\n")
    settings = real_settings
    pipeline = Pipeline(settings, engine=Poisoned(ArgosEngine(settings.pipeline)), detector=detector)
    job = Job(tmp_path / "out", ("json",), Options(), settings)
    summary = run_batch(src, job, jobs=2, pipeline=pipeline)
    assert (summary.ok, summary.failed, summary.incomplete) == (3, 0, 1)
    a = json.loads((tmp_path / "out" / "a.txt.json").read_text())
    assert [(s["action"], s.get("reason")) for s in a["spans"] if s["lang"] == "zh"] == [
        ("translated", None),
        ("untranslated", "engine-error"),
    ]
    for name in ("b", "c"):
        assert json.loads((tmp_path / "out" / f"{name}.txt.json").read_text())["complete"] is True


@pytest.mark.slow
def test_batch_cli_translates_sentences_longer_than_the_model(tmp_path, short_model_dir):
    src = tmp_path / "in"
    src.mkdir()
    (src / "long.txt").write_text(f"Intro.\n{LONG_RUN}。\n")
    env = {**os.environ, "TRANSNORM_MODELS_DIR": str(short_model_dir), "TRANSNORM_COMPUTE_TYPE": "float32"}
    r = subprocess.run(
        [sys.executable, "-m", "transnorm", "batch", str(src), "--out", str(tmp_path / "out")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr.decode()
    doc = json.loads((tmp_path / "out" / "long.txt.json").read_text())
    assert doc["complete"] and [s["action"] for s in doc["spans"] if s["lang"] == "zh"] == ["translated"]


@pytest.fixture
def poisoned_server(short_model_dir, tmp_path):
    """Real gunicorn (one worker, 16 threads) over the poisoned engine and the 64-position model."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        "POISON_APP": "1",
        "POISON_LOG": str(log),
        "TRANSNORM_MODELS_DIR": str(short_model_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
        "TRANSNORM_PORT": str(port),
        "TRANSNORM_HTTP_THREADS": "16",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:transnorm.server.gunicorn_conf"]
    proc = subprocess.Popen(
        [*argv, "--pythonpath", str(ROOT / "tests"), "poisoned:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if http_get(base + "/readyz", 1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail((tmp_path / "server.log").read_text())
        yield base, log
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
def test_real_gunicorn_innocent_requests_answer_while_a_poisoned_one_shares_their_batch(poisoned_server):
    import concurrent.futures

    base, log = poisoned_server

    def post(n: int):
        text = f"Intro.\n第{n}个请求的句子。\n" + ("这是有毒的句子。\n" if n == 3 else "") + f"{LONG_RUN}。\n"
        body = json.dumps({"text": text}).encode()
        return n, *http_post(base + "/v1/normalize", body, "application/json", timeout=120)

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(post, range(12)))
    for n, status, _, body in results:
        assert status == 200, body[:300]
        doc = json.loads(body)
        zh = [(s["action"], s.get("reason")) for s in doc["spans"] if s["lang"] == "zh"]
        if n == 3:
            assert ("untranslated", "engine-error") in zh and not doc["complete"]
            assert zh.count(("translated", None)) == 2
        else:
            assert doc["complete"] and zh == [("translated", None)] * 2, zh
    calls = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    # The poisoned sentence was translated together with innocent ones, and that call failed.
    assert any(size > 1 and poisoned for size, poisoned in calls)


def test_a_sentence_translates_the_same_whatever_it_is_batched_with(real_settings):
    """Regression: the search length came from the longest sentence of the call, so a sentence's
    beam search, and with random weights its words, changed with its company (found comparing
    the Ray engine's outputs with the local engine's)."""
    engine = ArgosEngine(real_settings.with_overrides(cache_size=0, max_batch_tokens=1, beam_size=2).pipeline)
    short = "第一次会谈。"
    longer = "双方过去有失败的经验,特别是在特朗普的第一个总统任期内,普京和特朗普曾在芬兰赫尔辛基进行了峰会。"
    alone = engine.translate("zh", [short])[0]
    assert engine.translate("zh", [short, longer])[0] == alone
    assert engine.translate("zh", [longer, short, longer * 2])[1] == alone


def test_small_search_groups_are_queued_together_not_halved(real_settings):
    """Regression: each search-length group was its own blocking call, cut in halves for the two
    replicas; on a CPU a half batch costs about a whole one, and --jobs 2 ran at 0.8x --jobs 1
    (BENCHMARKS.md). Groups are queued at once, and one is cut only when it exceeds a replica's
    share of the whole."""
    engine = ArgosEngine(
        real_settings.with_overrides(cache_size=0, inter_threads=2, intra_threads=1).pipeline
    )
    engine.load(["all"])
    (model,) = engine._models.values()
    calls = model.translator = Recording(model.translator)
    sentences = ["第一次会谈。", "首先我们要明白。", "但特朗普关注的是乌克兰问题。", "科尔图诺夫。" * 6]
    alone = [engine.translate("zh", [s])[0] for s in sentences]
    calls.calls.clear()
    assert engine.translate("zh", sentences) == alone
    assert len(calls.calls) > 1  # several search-length groups
    share = -(-sum(len(piece) for args, _, _ in calls.calls for piece in args[0]) // 2)
    for _, kwargs, _ in calls.calls:
        assert kwargs["max_batch_size"] >= min(share, real_settings.pipeline.max_batch_tokens)
        assert kwargs.get("asynchronous") is True


# -- models held: loaded on demand, the least recently used unloaded past the bounds ------------


@pytest.fixture(scope="module")
def three_languages(tmp_path_factory, real_settings):
    from transnorm.devtools.modelbuild import language_copies

    (package,) = [p for p in real_settings.pipeline.models_dir.iterdir() if p.is_dir()]
    models_dir = tmp_path_factory.mktemp("three")
    language_copies(package, ["zh", "ru", "de"], models_dir)
    return real_settings.with_overrides(models_dir=models_dir, cache_size=0)


def _loaded(engine):
    return [name.split("-")[1][:2] for name in engine.stats().loaded]


def test_packages_load_when_first_needed_and_the_least_recently_used_is_unloaded(three_languages):
    engine = ArgosEngine(three_languages.with_overrides(max_loaded_models=2).pipeline)
    assert not engine.loaded and engine.stats().loads == 0
    engine.translate("zh", ["第一次会谈。"])
    assert _loaded(engine) == ["zh"]
    engine.translate("ru", ["第一次会谈。"])
    engine.translate("zh", ["第一次会谈。"])  # zh is now the most recently used
    engine.translate("de", ["第一次会谈。"])
    assert _loaded(engine) == ["zh", "de"]  # ru went
    stats = engine.stats()
    assert (stats.models_loaded, stats.loads, stats.unloads) == (2, 3, 1)
    assert stats.load_seconds > 0 and stats.loaded_bytes == 2 * engine._size(("zh", "en"))
    engine.translate("ru", ["第一次会谈。"])
    assert _loaded(engine) == ["de", "ru"] and engine.stats().unloads == 2


@pytest.fixture(scope="module")
def three_sized(tmp_path_factory, corpus):
    """zh, ru and de copies of a 7 MB random package (megabytes are the budget's unit)."""
    from transnorm.devtools.modelbuild import build_package_dir, language_copies

    package = build_package_dir(tmp_path_factory.mktemp("sized") / "p", "zh", corpus, d_model=256, ffn=512)
    models_dir = tmp_path_factory.mktemp("three-sized")
    language_copies(package, ["zh", "ru", "de"], models_dir)
    return Settings(models_dir=models_dir, compute_type="float32", cache_size=0)


def test_a_memory_budget_bounds_the_loaded_packages(three_sized):
    size = ArgosEngine(three_sized.pipeline)._size(("zh", "en"))
    budget_mb = (5 * size // 2) // 1_000_000  # room for two, not three
    assert 2 * size <= budget_mb * 1_000_000 < 3 * size
    engine = ArgosEngine(three_sized.with_overrides(max_models_memory=budget_mb).pipeline)
    for lang in ("zh", "ru", "de", "zh"):
        engine.translate(lang, ["第一次会谈。"])
        assert engine.stats().loaded_bytes <= budget_mb * 1_000_000
    assert _loaded(engine) == ["de", "zh"] and engine.stats().unloads == 2


def test_an_unloaded_package_translates_the_same_when_it_comes_back(three_languages):
    engine = ArgosEngine(three_languages.with_overrides(max_loaded_models=1).pipeline)
    first = engine.translate("zh", ["但特朗普关注的是乌克兰问题。"])
    engine.translate("ru", ["x"])
    assert _loaded(engine) == ["ru"]
    assert engine.translate("zh", ["但特朗普关注的是乌克兰问题。"]) == first


def test_preload_loads_the_listed_languages_and_refuses_what_cannot_be(three_languages):
    engine = ArgosEngine(three_languages.with_overrides(preload=("ru", "de")).pipeline)
    engine.load()
    assert sorted(_loaded(engine)) == ["de", "ru"]
    everything = ArgosEngine(three_languages.pipeline)
    everything.load(["all"])
    assert everything.stats().models_loaded == 3
    with pytest.raises(ModelError, match="no installed package translates from fr"):
        ArgosEngine(three_languages.with_overrides(preload=("zh", "fr")).pipeline).load()
    with pytest.raises(ModelError, match="at most 2"):
        ArgosEngine(three_languages.with_overrides(preload=("all",), max_loaded_models=2).pipeline).load()


def test_search_bounds_are_few_cover_the_limit_and_stay_under_the_cap(real_settings):
    from transnorm.engine import decoding_limit, search_bound

    settings = real_settings.pipeline
    bounds = {search_bound(decoding_limit(n, settings), settings) for n in range(1, 300)}
    assert len(bounds) <= 9
    for n in range(1, 300):
        limit = decoding_limit(n, settings)
        assert limit <= search_bound(limit, settings) <= max(limit, settings.decoding_cap)
        assert search_bound(limit, settings) <= max(16, 1.5 * limit + 8)  # never far above the limit
