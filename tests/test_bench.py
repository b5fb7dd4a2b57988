"""The benchmark's code paths on the tiny model (the numbers themselves belong in BENCHMARKS.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from transnorm.devtools import bench


def _is_rate(rate: float, count: float, seconds: float, digits: int, count_digits: int | None = None) -> bool:
    """Whether ``rate`` is ``count`` over ``seconds`` as the benchmark reports them: each rounded
    (seconds to 3 digits, the rate to ``digits``, the count to ``count_digits`` when it is)."""
    assert seconds > 0
    count_slack = 0.5 * 10.0**-count_digits if count_digits is not None else 0.0
    low = (count - count_slack) / (seconds + 0.0005)
    high = (count + count_slack) / (seconds - 0.0005) if seconds > 0.0005 else float("inf")
    return low - 0.5 * 10.0**-digits <= rate <= high + 0.5 * 10.0**-digits


@pytest.mark.slow
def test_translation_section_compares_like_with_like(real_settings):
    result = bench.bench_translation(
        real_settings.pipeline.models_dir, quick=True, beams=[real_settings.pipeline.beam_size]
    )
    ours, raw, argos = (
        result[f"beam_{real_settings.pipeline.beam_size}"],
        result["ctranslate2"],
        result["argostranslate"],
    )
    # The limit is the faster of the raw call's two ways (CTranslate2's thread defaults, and
    # transnorm's own threads with the batch split between the replicas).
    ways = result["ctranslate2_ways"]
    assert set(ways) == {"ctranslate2_defaults", "replica_per_core"}
    assert raw["sentences_per_s"] == max(w["sentences_per_s"] for w in ways.values())
    assert raw == {**ways[raw["way"]], "way": raw["way"]}
    assert result["threads"] == {"inter": os.cpu_count() or 1, "intra": 1}
    # The raw call and argostranslate get exactly the sentences transnorm sent, token for token.
    assert ours["sentences"] == raw["sentences"] == argos["sentences"] > 0 and argos["same_sentences"]
    assert argos["source_tokens"] == result["source_tokens"] and argos["beam_size"] >= 1
    # Each rate is its own count over its own time, and each ratio is ours over the right one.
    for run in (ours, raw, argos):
        assert run["output_tokens"] > 0
        assert _is_rate(run["sentences_per_s"], run["sentences"], run["seconds"], digits=3), run
        assert _is_rate(run["tokens_per_s"], run["output_tokens"], run["seconds"], digits=1), run
    for key, other, unit in (
        ("ratio_to_ctranslate2", raw, "sentences_per_s"),
        ("speedup_vs_argostranslate", argos, "sentences_per_s"),
        ("speedup_vs_argostranslate_tokens", argos, "tokens_per_s"),
    ):
        assert result[key] == round(ours[unit] / other[unit], 3), key


def test_translation_section_works_when_the_quality_gate_refuses_everything(tmp_path, corpus):
    """Regression: `transnorm bench --quick` without ../shared crashed with ZeroDivisionError: the
    seeds-trained proxy writes Chinese pieces, the quality gate refused every translation, and
    argostranslate was given only the sentences whose translation was kept -- none."""
    from transnorm.devtools.modelbuild import build_package_dir, sentencepiece_vocabulary, train_sentencepiece

    sp = train_sentencepiece(corpus, tmp_path / "sp", vocab_size=1000)
    vocab = sentencepiece_vocabulary(sp)  # target = source pieces: mostly Chinese output
    build_package_dir(
        tmp_path / "m" / "p", "zh", corpus, sentencepiece_model=sp, source_vocab=vocab, target_vocab=vocab
    )
    result = bench.bench_translation(tmp_path / "m", quick=True, beams=[2])
    assert result["refused_by_quality_gate"] == result["beam_2"]["sentences"] > 0
    assert result["argostranslate"]["sentences"] == result["beam_2"]["sentences"]
    assert result["speedup_vs_argostranslate"] > 0
    report = bench.format_report(
        {"machine": bench.machine(), "proxy": {"model_mb": 1, "vocabulary": "x"}, "translation": result}
    )
    assert "refused by the quality gate" in report


def test_english_section_finds_the_planted_sentences():
    result = bench.bench_english(quick=True)
    assert result["recall_ok"] is True and result["foreign_spans"] == 2
    assert result["megabytes"] >= 1.9
    assert _is_rate(result["mb_per_s"], result["megabytes"], result["seconds"], digits=2, count_digits=2)


def test_distinct_corpus_repeats_no_sentence(tmp_path):
    import re

    assert bench.distinct_corpus(tmp_path, 30, chinese=3) == 30
    lines = [line for p in tmp_path.iterdir() for line in p.read_text().splitlines()]
    han = [line for line in lines if re.search(r"[\u4e00-\u9fff]", line)]
    assert len(han) == 90 and len(set(han)) == 90  # the translation cache can answer none of them


@pytest.mark.slow
def test_batch_with_workers_after_models_are_loaded(tmp_path, real_settings):
    """Regression: forking workers from a process holding a loaded CTranslate2 model hung. A
    run's own process never loads one now (its translation process does), but a pipeline given
    with a loaded engine still must not be forked: workers and translation process start fresh.
    Run in a subprocess so that a hang fails the test instead of the suite."""
    code = f"""
import shutil, sys
from pathlib import Path
from transnorm.batch import Job, run_batch
from transnorm.settings import Settings
from transnorm.options import Options
from transnorm.pipeline import Pipeline
settings = Settings(models_dir=Path({str(real_settings.pipeline.models_dir)!r}), compute_type="float32")
src = Path({str(tmp_path)!r}) / "in"
src.mkdir()
for p in sorted(Path({str(ROOT / "seeds")!r}).glob("*.txt")):
    shutil.copy(p, src / p.name)
pipeline = Pipeline(settings)
first = run_batch(src, Job(src.parent / "a", ("json",), Options(), settings), jobs=1, pipeline=pipeline)
assert not pipeline.engine.loaded  # the run's translation process translated
pipeline.engine.load(["zh"])
second = run_batch(src, Job(src.parent / "b", ("json",), Options(), settings), jobs=2, pipeline=pipeline)
assert first.ok == second.ok == 5, (first, second)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    a = sorted(p.read_bytes() for p in (tmp_path / "a").glob("0*.json"))
    b = sorted(p.read_bytes() for p in (tmp_path / "b").glob("0*.json"))
    assert len(a) == 5 and a == b


def test_http_documents_are_distinct_and_seed_like():
    documents = bench.http_documents(40)
    assert len(set(documents)) == 40
    han = [line for d in documents for line in d.decode().splitlines() if "条消息" in line]
    assert len(han) == 120 and len(set(han)) == 120  # no sentence translated once for two requests


def test_server_memory_sums_the_whole_process_tree():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        me = bench.server_memory(os.getpid())
        assert me["processes"] >= 2 and me["pss_mb"] > 0 and me["rss_mb"] >= me["pss_mb"]
        alone = bench._memory_kb(child.pid)
        assert alone[0] > 0 and me["rss_mb"] * 1024 >= alone[0]
    finally:
        child.kill()
        child.wait()


def test_every_run_is_bounded():
    """Regression: a Ray 1-actor run hung for 6 minutes with no timeout."""
    out = bench._bounded([sys.executable, "-c", "import time; time.sleep(600)"], dict(os.environ), 0.5, 10)
    assert out == {"timed_out_after_s": 0.5}
    assert bench._bounded([sys.executable, "-c", "pass"], dict(os.environ), 60, 10)["exit"] == 0


def test_ipc_section_measures_each_transport():
    result = bench.bench_ipc(quick=True)
    for key in ("in_process_us", "unix_socket_us", "multiprocessing_pipe_us"):
        assert result[key]["1"] > 0 and result[key]["32"] > 0
