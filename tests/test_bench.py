"""The benchmark's code paths on the tiny model (the numbers themselves belong in BENCHMARKS.md)."""

from __future__ import annotations

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
    assert ours["sentences"] == raw["sentences"] > 0  # the raw run gets exactly what transnorm sent
    assert argos["sentences"] > 0 and argos["beam_size"] >= 1
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
    """Regression: forking workers from a process holding a loaded CTranslate2 model hung.
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
assert pipeline.engine.loaded
second = run_batch(src, Job(src.parent / "b", ("json",), Options(), settings), jobs=2, pipeline=pipeline)
assert first.ok == second.ok == 5, (first, second)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    a = sorted(p.read_bytes() for p in (tmp_path / "a").glob("0*.json"))
    b = sorted(p.read_bytes() for p in (tmp_path / "b").glob("0*.json"))
    assert len(a) == 5 and a == b
