"""Shared fixtures: the seeds, a deterministic fake engine, and a tiny *real* Argos package
(CTranslate2 model from numpy weights, SentencePiece trained on the seeds) built here."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from service import Pipeline, Settings
from service.detect import Detector
from service.modelbuild import build_package, english_vocabulary
from service.translate import ModelInfo, Translation

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

_WORDS = [
    "the",
    "talks",
    "will",
    "continue",
    "next",
    "week",
    "officials",
    "said",
    "in",
    "a",
    "statement",
    "on",
    "monday",
]


class FakeEngine:
    """Deterministic stand-in: English words chosen by a hash of the sentence; records calls."""

    def __init__(self, langs=("zh", "ru")) -> None:
        self._models = {
            lang: ModelInfo(lang, "en", f"translate-{lang}_en", "9.9", Path("/nonexistent")) for lang in langs
        }
        self.calls: list[tuple[str, list[str]]] = []

    def models(self):
        return self._models

    def translate(self, lang, sentences, beam_size=None):
        self.calls.append((lang, list(sentences)))
        out = []
        for s in sentences:
            h = hashlib.sha256(s.encode()).digest()
            words = [_WORDS[b % len(_WORDS)] for b in h[:5]]
            out.append(Translation(" ".join(words).capitalize() + "。", 0.5, 6))
        return out


@pytest.fixture(scope="session")
def seeds() -> dict[str, bytes]:
    return {p.name[:3]: p.read_bytes() for p in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector()


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def fake_pipeline(fake_engine, detector) -> Pipeline:
    return Pipeline(Settings(models_dir=Path("/nonexistent")), engine=fake_engine, detector=detector)


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory, corpus) -> Path:
    """A real zh→en .argosmodel with random weights and an English-only target vocabulary."""
    out = tmp_path_factory.mktemp("packages") / "translate-zh_en-0_1.argosmodel"
    return build_package(out, "zh", corpus, version="0.1")


@pytest.fixture(scope="session")
def english_words(corpus) -> set[str]:
    return {w.lstrip("▁") for w in english_vocabulary(corpus)[3:]}


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory, tiny_package) -> Settings:
    """Settings whose models_dir holds the tiny package, installed through argostranslate."""
    from service.models import install_file

    models_dir = tmp_path_factory.mktemp("models")
    install_file(tiny_package, models_dir)
    return Settings(models_dir=models_dir, compute_type="float32", beam_size=2)


@pytest.fixture(scope="session")
def real_pipeline(real_settings, detector) -> Pipeline:
    return Pipeline(real_settings, detector=detector)
