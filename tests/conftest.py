"""Shared fixtures: the seeds, a deterministic fake engine, the app over it, a frozen clock for
rate limits, a tiny *real* Argos package (CTranslate2 model from numpy weights, SentencePiece
trained on the seeds) built here, a real server on it, and the README's code blocks."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from transnorm import Pipeline, Settings
from transnorm.detect import Detector
from transnorm.devtools.modelbuild import build_package
from transnorm.packages import PackageInfo
from transnorm.server import create_app, ratelimit
from transnorm.translate import EngineStats, Translation

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
TESTS = Path(__file__).resolve().parent

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

    loaded = False

    def __init__(self, langs=("zh", "ru")) -> None:
        self._packages = {
            (lang, "en"): PackageInfo(lang, "en", f"translate-{lang}_en", "9.9", Path("/nonexistent"))
            for lang in langs
        }
        self.calls: list[tuple[str, list[str]]] = []

    def packages(self):
        return self._packages

    def load(self):
        self.loaded = True

    def stats(self):
        return EngineStats()

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        self.calls.append((lang, list(sentences)))
        out = []
        for s in sentences:
            h = hashlib.sha256(s.encode()).digest()
            texts = [
                " ".join(_WORDS[b % len(_WORDS)] for b in h[5 * k : 5 * k + 5]).capitalize() + "。"
                for k in range(1 + alternatives)
            ]
            out.append(Translation(texts[0], 0.5, 6, tuple(texts[1:])))
        return out


class Clock:
    """A clock a test sets by hand (``clock.now = …``)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


#: Five seconds into a one-minute rate-limit window.
MID_WINDOW = 60.0 * 16_666_700 + 5.0


@pytest.fixture(scope="session", autouse=True)
def _frozen_rate_limit_clock():
    """Every rate limiter of the test process reads a clock stopped at :data:`MID_WINDOW` (unless
    it is given its own): no in-process test depends on the wall-clock minute."""
    frozen = Clock(MID_WINDOW)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ratelimit, "default_clock", frozen)
        yield frozen


@pytest.fixture
def clock(_frozen_rate_limit_clock) -> Clock:
    """The rate limiters' clock, back at :data:`MID_WINDOW`, for a test to move."""
    _frozen_rate_limit_clock.now = MID_WINDOW
    yield _frozen_rate_limit_clock
    _frozen_rate_limit_clock.now = MID_WINDOW


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
def make_app(detector):
    """Build the HTTP app over a :class:`FakeEngine`, without loading anything in the background:
    ``make_app(settings=None, engine=None, pipeline_settings=None, background=False)``.
    ``pipeline_settings`` (default: ``settings``) are the pipeline's, where a test needs the two
    apart (the app's limits against the library's)."""

    def make(
        settings: Settings | None = None,
        engine=None,
        pipeline_settings: Settings | None = None,
        background: bool = False,
    ) -> Flask:
        settings = settings or Settings()
        pipeline = Pipeline(pipeline_settings or settings, engine=engine or FakeEngine(), detector=detector)
        return create_app(settings, pipeline, background=background)

    return make


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory, corpus) -> Path:
    """A real zh→en .argosmodel with random weights and an English-only target vocabulary."""
    out = tmp_path_factory.mktemp("packages") / "translate-zh_en-0_1.argosmodel"
    return build_package(out, "zh", corpus, version="0.1")


@pytest.fixture(scope="session")
def english_words(tiny_package) -> set[str]:
    """The words the tiny package can output: its target vocabulary."""
    import json
    import zipfile

    with zipfile.ZipFile(tiny_package) as z:
        name = next(n for n in z.namelist() if n.endswith("model/target_vocabulary.json"))
        pieces = json.loads(z.read(name))
    return {p.lstrip("▁") for p in pieces if p.startswith("▁")}


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory, tiny_package) -> Settings:
    """Settings whose models_dir holds the tiny package, installed through argostranslate."""
    from transnorm.packages import install_file

    models_dir = tmp_path_factory.mktemp("models")
    install_file(tiny_package, models_dir)
    return Settings(models_dir=models_dir, compute_type="float32", beam_size=2)


@pytest.fixture(scope="session")
def real_pipeline(real_settings, detector) -> Pipeline:
    return Pipeline(real_settings, detector=detector)


# -- a real server: gunicorn on a loopback port, two workers, the tiny real model ------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_post(url: str, data: bytes, content_type: str, timeout: float = 60) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@contextlib.contextmanager
def running_server(
    models_dir,
    log_dir: Path,
    env_extra=None,
    args=("--workers", "2"),
    wait_for="/readyz",
    clock_file: Path | None = None,
):
    """``transnorm serve ARGS`` on a free loopback port, once ``wait_for`` answers 200: yields
    (base URL, process). With ``clock_file``, every process of the server reads the rate limits'
    time from that file (seconds since the epoch, as text; ``tests/clock_hook``)."""
    port = _free_port()
    env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
        "TRANSNORM_MAX_BYTES": "100000",
        **(env_extra or {}),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if clock_file is not None:
        hook = str(TESTS / "clock_hook")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (hook, env.get("PYTHONPATH")) if p)
        env["TESTS_RATELIMIT_CLOCK"] = str(clock_file)
    log = (log_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "transnorm", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                if http_get(base + wait_for, 1)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("server did not become ready: " + Path(log.name).read_text())
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server(real_settings, tmp_path_factory):
    with running_server(real_settings.pipeline.models_dir, tmp_path_factory.mktemp("server")) as (base, _):
        yield base


#: A models folder with nothing installed (a missing folder is an error).
NO_MODELS = Path(tempfile.mkdtemp(prefix="transnorm-no-models-"))


def run_cli(args, input=None, env=None) -> subprocess.CompletedProcess:
    """Run ``python -m transnorm ARGS`` as a user would, with no models unless ``env`` says so."""
    full_env = {**os.environ, "TRANSNORM_MODELS_DIR": str(NO_MODELS), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "transnorm", *args],
        input=input,
        capture_output=True,
        cwd=ROOT,
        env=full_env,
        timeout=300,
    )


# -- the README's code blocks (tests/test_readme.py runs them; test_architecture checks CI's) --

#: How a README block is run, from the HTML comment on the line before it,
#: ``<!-- readme-test: KIND (reason) -->``: ``setup`` without its venv and pip steps, ``ci`` not
#: at all (it is .ci/run's last line), ``background`` started for the blocks after it, ``skip``
#: not at all. A block without a comment is run as it is.
README_MARKS = ("setup", "ci", "background", "skip")
#: The languages a README block may have: commands, Python, and text that is not run.
README_LANGUAGES = ("sh", "python", "text", "nginx")


@dataclasses.dataclass(frozen=True)
class ReadmeBlock:
    lang: str
    code: str
    mark: str | None
    reason: str
    line: int


def readme_blocks(path: Path = ROOT / "README.md") -> list[ReadmeBlock]:
    """The fenced code blocks of ``path``, in order, with their ``readme-test`` marks."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for m in re.finditer(r"^```([\w-]*)\n(.*?)^```$", text, re.M | re.S):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        mark = re.fullmatch(r"<!-- readme-test: (\w+)(?: \((.+)\))? -->", before)
        blocks.append(
            ReadmeBlock(
                lang=m.group(1),
                code=m.group(2).rstrip("\n"),
                mark=mark.group(1) if mark else None,
                reason=(mark.group(2) or "") if mark else "",
                line=text.count("\n", 0, m.start()) + 1,
            )
        )
    return blocks


def until(condition: Callable[[], bool], seconds: float = 30.0, pause: float = 0.05) -> bool:
    """Whether ``condition()`` came true within a bounded wait (a bound on failure, not a timing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
    return True
