"""``transnorm bench``: translation against raw CTranslate2 and argostranslate, English
pass-through, the translation process (its transport, and the memory of a whole server with 1 to
47 packages), HTTP throughput against the design it replaced, and batch throughput, side by side
on this machine. Every run is bounded (a timeout each), and the load average is printed with the
numbers: on a shared machine they move with the neighbours.

The translation proxy has the real OPUS-MT zh→en architecture (6+6 layers, d_model 512, 8 heads,
FFN 2048, tied 65k shared vocabulary, int8: 76 MB) with random weights, built once with
CTranslate2's model-spec API and cached outside the repository. It uses the real package's
SentencePiece model and vocabulary from a ``shared/models`` folder beside the checkout (or
above it) when there is one, else a SentencePiece trained on the seeds (an 8,000-piece
vocabulary: a smaller model, said in the output). Random weights rarely emit end-of-sentence,
so decoding runs to the length guard: output tokens are reported so that runs compare fairly.
The memory rows load copies of the proxy, one per language of the Argos index.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ..batch import Job, run_batch
from ..document import Action
from ..engine import LENGTH_PENALTY, ArgosEngine, NoEngine, decoding_limit
from ..options import Options
from ..pipeline import Pipeline
from ..settings import Settings
from ..translate import Request
from ..translator import TranslatorClient, TranslatorProcess


def _project_root() -> Path:
    """The checkout this runs from: the working directory if it has seeds/, else the source tree's."""
    here = Path.cwd()
    return here if (here / "seeds").is_dir() else Path(__file__).resolve().parents[3]


PROJECT_ROOT = _project_root()


def _shared_package() -> Path:
    """The real zh→en package's non-weight files, in a ``shared/models`` folder beside the
    checkout or above it (a worktree's is two levels up)."""
    name = Path("shared") / "models" / "translate-zh_en-1_9.partial-no-weights"
    found = [p / name for p in PROJECT_ROOT.parents if (p / name).is_dir()]
    return found[0] if found else PROJECT_ROOT.parent / name


SHARED_PACKAGE = _shared_package()
SEEDS = PROJECT_ROOT / "seeds"
PROXY_VERSION = "proxy-1"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "transnorm" / "bench"


def seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def proxy_models_dir() -> tuple[Path, str]:
    """A models folder holding the proxy zh→en package, built on first use."""
    from .modelbuild import build_package_dir, sentencepiece_vocabulary, train_sentencepiece

    source = "shared" if SHARED_PACKAGE.is_dir() else "seeds"
    root = cache_dir() / f"{PROXY_VERSION}-{source}"
    package = root / "packages" / "translate-zh_en-proxy"
    if (package / "model" / "model.bin").is_file():
        return root / "packages", source
    shutil.rmtree(root, ignore_errors=True)
    corpus = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    if source == "shared":
        sp_model = SHARED_PACKAGE / "sentencepiece.model"
        vocab = json.loads((SHARED_PACKAGE / "model" / "shared_vocabulary.json").read_text())
    else:
        sp_model = train_sentencepiece(corpus, Path(tempfile.mkdtemp()) / "sp", vocab_size=8000)
        vocab = sentencepiece_vocabulary(sp_model)
    build_package_dir(
        package,
        "zh",
        corpus,
        version=PROXY_VERSION,
        sentencepiece_model=sp_model,
        source_vocab=vocab,
        target_vocab=vocab,
        layers=6,
        d_model=512,
        heads=8,
        ffn=2048,
        quantization="int8",
        shared_embeddings=True,
    )
    return root / "packages", source


class _Recorder:
    """Wraps an engine to record exactly what transnorm sends and gets back."""

    def __init__(self, engine: ArgosEngine) -> None:
        self.engine = engine
        self.sent: list[str] = []
        self.tokens = 0

    def packages(self):  # type: ignore[no-untyped-def]
        return self.engine.packages()

    @property
    def loaded(self) -> bool:
        return self.engine.loaded

    def load(self) -> None:
        self.engine.load()

    def stats(self):  # type: ignore[no-untyped-def]
        return self.engine.stats()

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):  # type: ignore[no-untyped-def]
        self.sent.extend(sentences)
        out = self.engine.translate(lang, sentences, beam_size, target, alternatives)
        self.tokens += sum(t.tokens for t in out)
        return out


def bench_translation(models_dir: Path, quick: bool, beams: list[int], rounds: int = 1) -> dict[str, Any]:
    """transnorm end to end, with the threads the translation process gives its engine
    (``Settings.on_cores``), against raw ``translate_batch`` calls of exactly the sentences it
    sent (the limit) and against argostranslate on the same sentences, paragraph by paragraph as
    its ``translate`` does. The raw call runs two ways, and the faster is the limit: CTranslate2's
    own thread defaults with one batch, and transnorm's threads (one replica per core) with the
    batch split between the replicas. Runs alternate over ``rounds``; medians are reported."""
    import ctranslate2
    import sentencepiece

    from ..detect import Detector

    detector = Detector()
    text = seed("003")
    if quick:
        text = "\n".join(text.splitlines()[:14])
    results: dict[str, Any] = {}
    cores = os.cpu_count() or 1
    default = Settings().pipeline.beam_size
    for beam in beams:
        settings = Settings(models_dir=models_dir, cache_size=0, beam_size=beam).on_cores(cores)
        recorder = _Recorder(ArgosEngine(settings.pipeline))
        recorder.engine.load(["all"])
        pipeline = Pipeline(settings, engine=recorder, detector=detector)
        info = recorder.engine.packages()[("zh", "en")]
        if beam != default:
            doc, elapsed = _timed(lambda p=pipeline: p(text.encode()))
            results[f"beam_{beam}"] = _rates(len(recorder.sent), elapsed, recorder.tokens)
            continue
        sp = sentencepiece.SentencePieceProcessor(model_file=str(info.path / "sentencepiece.model"))
        # A raw call's batch is split between its replicas (as the engine splits its groups).
        raw_ways = {"ctranslate2_defaults": (1, 0), "replica_per_core": (cores, 1)}
        translators = {
            name: ctranslate2.Translator(
                str(info.path / "model"),
                device="cpu",
                compute_type=settings.pipeline.compute_type,
                inter_threads=inter,
                intra_threads=intra,
            )
            for name, (inter, intra) in raw_ways.items()
        }
        ours: list[float] = []
        raw: dict[str, list[float]] = {name: [] for name in raw_ways}
        for _ in range(rounds):
            recorder.sent.clear()
            recorder.tokens = 0
            doc, elapsed = _timed(lambda p=pipeline: p(text.encode()))
            ours.append(elapsed)
            tokens = sp.encode(recorder.sent, out_type=str)
            limits = [decoding_limit(len(t), settings.pipeline) for t in tokens]
            for name, (inter, _) in raw_ways.items():
                share = max(max(map(len, tokens)), -(-sum(map(len, tokens)) // inter))
                batch, elapsed = _timed(
                    partial(
                        translators[name].translate_batch,
                        tokens,
                        replace_unknowns=True,
                        length_penalty=LENGTH_PENALTY,
                        batch_type="tokens",
                        max_batch_size=min(settings.pipeline.max_batch_tokens, share),
                        beam_size=beam,
                        max_decoding_length=max(limits),
                        return_scores=True,
                    )
                )
                raw[name].append(elapsed)
        n = len(recorder.sent)
        raw_tokens = sum(min(len(r.hypotheses[0]), lim) for r, lim in zip(batch, limits, strict=True))
        results[f"beam_{beam}"] = _rates(n, statistics.median(ours), recorder.tokens)
        ways = {name: _rates(n, statistics.median(times), raw_tokens) for name, times in raw.items()}
        fastest = max(ways, key=lambda name: ways[name]["sentences_per_s"])
        results["ctranslate2_ways"] = ways
        results["ctranslate2"] = {**ways[fastest], "way": fastest}
        results["threads"] = {
            "inter": settings.pipeline.inter_threads,
            "intra": settings.pipeline.intra_threads,
        }
        results["rounds"] = rounds
        results["source_tokens"] = sum(map(len, tokens))
        gate = [s for s in doc.spans if s.reason == "bad-translation"]
        results["refused_by_quality_gate"] = len(gate)
        results["argostranslate"] = bench_argostranslate(info.path, doc.source, recorder.sent)
        mine = results[f"beam_{beam}"]
        results["sentences_per_s"] = mine["sentences_per_s"]
        results["ratio_to_ctranslate2"] = _ratio(
            mine["sentences_per_s"], results["ctranslate2"]["sentences_per_s"]
        )
        argos = results["argostranslate"]
        results["speedup_vs_argostranslate"] = _ratio(mine["sentences_per_s"], argos["sentences_per_s"])
        # argostranslate decodes up to 256 tokens and random weights rarely stop early: compare tokens too.
        results["speedup_vs_argostranslate_tokens"] = _ratio(mine["tokens_per_s"], argos["tokens_per_s"])
        results["beam_size"] = beam
    return results


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = run()
    return out, time.perf_counter() - started


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def bench_argostranslate(package_path: Path, source: str, sentences: list[str]) -> dict[str, Any]:
    """argostranslate's own per-paragraph translation of exactly ``sentences`` (what transnorm
    sent to its engine, whatever the quality gate later made of them), each paragraph of
    ``source`` with the sentences it holds; its sentence splitter is replaced by that list."""
    import ctranslate2
    from argostranslate import settings as argos_settings
    from argostranslate.package import Package
    from argostranslate.translate import apply_packaged_translation

    from .. import segment

    # Each sentence goes to the paragraph (line) where it starts; a sentence joined from a
    # hard-wrapped paragraph is found by its first characters.
    starts = [line.start for line in segment.lines(source)]
    paragraphs: dict[str, list[str]] = {}
    pos, current = 0, -1
    for sentence in sentences:
        probe = sentence.strip()[:4]
        at = source.find(probe, pos) if probe else -1
        if at >= 0:
            pos = at + len(probe)
            current = bisect.bisect_right(starts, at) - 1
        paragraphs.setdefault(f"paragraph {current}", []).append(sentence)

    class Listed:
        def split_sentences(self, paragraph: str) -> list[str]:
            return paragraphs[paragraph]

    class Counting:
        def __init__(self, translator: Any) -> None:
            self.translator, self.tokens, self.source_tokens = translator, 0, 0

        def translate_batch(self, *args: Any, **kwargs: Any) -> Any:
            self.source_tokens += sum(len(t) for t in args[0])
            out = self.translator.translate_batch(*args, **kwargs)
            self.tokens += sum(len(r.hypotheses[0]) for r in out)
            return out

    pkg = Package(package_path)
    params: dict[str, Any] = {
        "device": "cpu",
        "inter_threads": argos_settings.inter_threads,
        "intra_threads": argos_settings.intra_threads,
    }
    if argos_settings.compute_type != "auto":
        params["compute_type"] = argos_settings.compute_type
    translator = Counting(ctranslate2.Translator(str(package_path / "model"), **params))
    n = sum(map(len, paragraphs.values()))
    started = time.perf_counter()
    for paragraph in paragraphs:
        apply_packaged_translation(pkg, paragraph, translator, Listed(), num_hypotheses=1)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    return {
        "paragraphs": len(paragraphs),
        "same_sentences": n == len(sentences),
        "source_tokens": translator.source_tokens,
        **_rates(n, elapsed, translator.tokens),
        "beam_size": max(1, argos_settings.beam_size),
    }


def _rates(sentences: int, seconds: float, tokens: int) -> dict[str, Any]:
    seconds = max(seconds, 1e-9)
    return {
        "sentences": sentences,
        "seconds": round(seconds, 3),
        "sentences_per_s": round(sentences / seconds, 3),
        "output_tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 1),
    }


def bench_english(quick: bool) -> dict[str, Any]:
    from ..detect import Detector

    base = "".join(seed(p) + "\n\n" for p in ("000", "001", "002"))
    target = 2_000_000 if quick else 10_000_000
    copies = max(1, target // len(base.encode()))
    french = "Le président a déclaré que la situation reste très tendue dans toute la région."
    chinese = "美国总统特朗普周四表示,他对与俄罗斯的谈判感到乐观。"
    middle = copies // 2
    text = base * middle + f"{french} {chinese}\n\n" + base * (copies - middle)
    data = text.encode()
    pipeline = Pipeline(Settings(max_bytes=len(data) + 1), engine=NoEngine(), detector=Detector())
    pipeline(base.encode())  # warm up
    started = time.perf_counter()
    doc = pipeline(data)
    elapsed = time.perf_counter() - started
    found = {
        (s.lang, s.source_text.strip())
        for s in doc.spans
        if s.action in (Action.TRANSLATED, Action.UNTRANSLATED)
    }
    return {
        "megabytes": round(len(data) / 1e6, 2),
        "seconds": round(elapsed, 3),
        "mb_per_s": round(len(data) / 1e6 / elapsed, 2),
        "recall_ok": found == {("fr", french), ("zh", chinese)},
        "foreign_spans": len(found),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process, from ``/proc/PID/smaps_rollup``; (0, 0) once it is gone."""
    out = {"Rss": 0, "Pss": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in out:
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out["Rss"], out["Pss"]


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(_children(current))
    return out


def server_memory(pid: int) -> dict[str, Any]:
    """RSS and PSS of a whole server (the master and every process under it), in MB. PSS splits
    shared pages between the processes that share them, so the sum is what the server costs."""
    per = {p: _memory_kb(p) for p in _tree(pid)}
    return {
        "processes": len(per),
        "rss_mb": round(sum(r for r, _ in per.values()) / 1024, 1),
        "pss_mb": round(sum(p for _, p in per.values()) / 1024, 1),
    }


class Server:
    """A server started as a user starts it (``transnorm serve``, or gunicorn over ``app``),
    stopped at the end of the ``with`` block; ``ready_s`` is the cold start to ``/readyz`` 200."""

    def __init__(
        self, models_dir: Path, workers: int, env: dict[str, str] | None = None, app: str = ""
    ) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "TRANSNORM_MODELS_DIR": str(models_dir),
            "TRANSNORM_CACHE_SIZE": "0",
            "TRANSNORM_PORT": str(self.port),
            "TRANSNORM_WORKERS": str(workers),
            **(env or {}),
        }
        for name in ("PROMETHEUS_MULTIPROC_DIR", "TRANSNORM_TRANSLATOR_SOCKET", "TRANSNORM_PRELOAD"):
            if name not in (env or {}):
                self.env.pop(name, None)
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:transnorm.server.gunicorn_conf"]
        self.argv = [*gunicorn, app] if app else [sys.executable, "-m", "transnorm", "serve"]
        self.ready_s = 0.0

    def __enter__(self) -> Server:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT_ROOT
        )
        try:
            while True:
                if time.perf_counter() - started > 300 or self.proc.poll() is not None:
                    raise RuntimeError(f"the server did not become ready ({' '.join(self.argv[-3:])})")
                try:
                    with urllib.request.urlopen(self.base + "/readyz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.02)
        except BaseException:
            self.__exit__()
            raise
        self.ready_s = time.perf_counter() - started
        return self

    def __exit__(self, *_: Any) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            for pid in reversed(_tree(self.proc.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(10)

    def post(self, path: str, body: dict[str, Any], timeout: float = 300) -> tuple[float, dict[str, Any]]:
        req = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(req, timeout=timeout) as r:
            out = json.loads(r.read())
        return time.perf_counter() - started, out

    def memory(self) -> dict[str, Any]:
        return server_memory(self.proc.pid)


def http_documents(count: int, start: int = 0) -> list[bytes]:
    """``count`` distinct seed-like documents: English news sentences with three Chinese ones, no
    sentence shared between two documents (so nothing is translated once for several)."""
    import random

    english = [s for p in ("000", "001", "002") for s in _sentences(seed(p).replace("\n", " "), ". ")]
    han = [
        s
        for s in _sentences(seed("003").replace("\n", ""), "。")
        if any("\u4e00" <= c <= "\u9fff" for c in s)
    ]
    rng = random.Random(11)
    out = []
    for i in range(start, start + count):
        lines = [f"Report {i}: " + " ".join(rng.sample(english, 4))]
        lines += [f"第{i * 3 + k + 1}条消息：" + rng.choice(han) for k in range(3)]
        lines.append(" ".join(rng.sample(english, 3)) + f" (item {i})")
        out.append(("\n\n".join(lines) + "\n").encode())
    return out


def bench_http(models_dir: Path, quick: bool) -> dict[str, Any]:
    """Throughput and latency at concurrency 1, 4 and 16 on distinct seed-like documents (cache
    off): this design (``transnorm serve``: workers plan and assemble, one translation process
    translates for all) against the one it replaced (each worker loads the models and translates
    its own requests), on the same cores, and one process with many threads (models once too)."""
    workers = 2
    designs: dict[str, tuple[int, dict[str, str], str]] = {
        "translation_process": (workers, {}, ""),
        "each_worker_translates": (workers, {}, "transnorm.devtools.inworker:app"),
    }
    if not quick:
        designs["one_process_threads"] = (
            1,
            {"TRANSNORM_HTTP_THREADS": "32"},
            "transnorm.devtools.inworker:app",
        )
    levels = (1, 4) if quick else (1, 4, 16)
    out: dict[str, Any] = {"workers": workers, "documents": "distinct, seed-like (3 Chinese sentences)"}
    next_document = 0
    for name, (count, env, app) in designs.items():
        row: dict[str, Any] = {"workers": count}
        with Server(models_dir, count, env, app) as server:
            row["cold_start_to_ready_s"] = round(server.ready_s, 2)
            for concurrency in levels:
                requests = concurrency * (2 if quick else 3)
                documents = http_documents(requests, next_document)
                next_document += requests
                row[str(concurrency)] = _load(server.base, documents, concurrency, 60 if quick else 300)
            row["memory"] = server.memory()
        out[name] = row
    top = str(levels[-1])
    new, old = out["translation_process"][top], out["each_worker_translates"][top]
    out[f"throughput_ratio_c{top}"] = _ratio(new.get("requests_per_s", 0), old.get("requests_per_s", 0))
    return out


def _load(base: str, documents: list[bytes], concurrency: int, budget: float) -> dict[str, Any]:
    """Each document once, ``concurrency`` at a time, stopping early after ``budget`` seconds."""
    deadline = time.perf_counter() + budget

    def one(document: bytes) -> float | None:
        if time.perf_counter() > deadline:
            return None
        req = urllib.request.Request(
            base + "/v1/normalize", data=document, headers={"Content-Type": "text/plain"}
        )
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=budget) as r:
            r.read()
        return time.perf_counter() - t

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(x for x in pool.map(one, documents) if x is not None)
    elapsed = time.perf_counter() - started
    if not latencies:
        return {"requests": 0}
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    return {
        "requests": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * p99, 1),
        "requests_per_s": round(len(latencies) / elapsed, 3),
    }


def proxy_package(models_dir: Path) -> Path:
    (package,) = [p for p in models_dir.iterdir() if (p / "metadata.json").is_file()]
    return package


def bench_memory(models_dir: Path, quick: bool) -> dict[str, Any]:
    """A whole server's memory (RSS and PSS summed over the master, the workers and the
    translation process) with 1, 10 and 47 packages of the proxy's size and 1, 2 and 4 workers:
    at ready (nothing preloaded), and once a document in every language has been served; the
    cold start to ready, and the first request of a language not yet loaded against the next
    one. Plus 47 packages under ``TRANSNORM_MAX_LOADED_MODELS=8``, and with all preloaded."""
    from .modelbuild import argos_source_codes, language_copies

    package = proxy_package(models_dir)
    size = sum(f.stat().st_size for f in package.rglob("*") if f.is_file() and f.name != "README.md")
    codes = argos_source_codes()
    counts, worker_counts = ((1, 10), (1, 2)) if quick else ((1, 10, 47), (1, 2, 4))
    rows = []
    work = Path(tempfile.mkdtemp(prefix="transnorm-bench-memory-"))
    try:
        for count in counts:
            folder = work / f"p{count}"
            language_copies(package, codes[:count], folder)
            runs = [(w, {}) for w in worker_counts]
            if count == counts[-1] and not quick:
                runs += [(4, {"TRANSNORM_MAX_LOADED_MODELS": "8"}), (2, {"TRANSNORM_PRELOAD": "all"})]
            for workers, env in runs:
                rows.append(_memory_row(folder, codes[:count], workers, env, size))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"package_mb": round(size / 1e6, 1), "rows": rows}


def _memory_row(
    models_dir: Path, codes: list[str], workers: int, env: dict[str, str], size: int
) -> dict[str, Any]:
    sentence = "第一次会谈将在下周举行。"
    with Server(models_dir, workers, env) as server:
        row: dict[str, Any] = {"packages": len(codes), "workers": workers, **env}
        row["ready_s"] = round(server.ready_s, 2)
        row["at_ready"] = server.memory()
        cold, warm = [], []
        for code in codes:
            seconds, _ = server.post("/v1/normalize", {"text": sentence, "options": {"source": code}})
            cold.append(seconds)
        seconds, _ = server.post("/v1/normalize", {"text": sentence + " ", "options": {"source": codes[-1]}})
        warm.append(seconds)
        row["first_request_ms"] = round(1000 * statistics.median(cold), 1)
        row["first_request_max_ms"] = round(1000 * max(cold), 1)
        row["loaded_request_ms"] = round(1000 * warm[0], 1)
        row["all_languages_served"] = server.memory()
        with urllib.request.urlopen(server.base + "/readyz", timeout=10) as r:
            ready = json.loads(r.read())
        loaded = len(ready["loaded"])
        row["loaded"] = loaded
        row["loaded_models_mb"] = round(loaded * size / 1e6, 1)
        # The issue's bound: PSS <= (sum of the loaded models' sizes) x 1.2 + 600 MB.
        row["pss_bound_mb"] = round(loaded * size / 1e6 * 1.2 + 600, 1)
        row["pss_within_bound"] = row["all_languages_served"]["pss_mb"] * 1.048576 <= row["pss_bound_mb"]
    return row


def bench_ipc(quick: bool) -> dict[str, Any]:
    """The transport between workers and the translation process, against the alternatives:
    microseconds per call of one sentence and of 32 (a document's worth), with an engine that
    answers at once -- so only the transport is measured."""
    calls = 300 if quick else 2000
    engine = EchoEngine()
    one = [Request("zh", "第一次会谈将在下周举行。")]
    many = [Request("zh", f"第{i}条消息说双方将在下周继续会谈。") for i in range(32)]
    out: dict[str, Any] = {"calls": calls}

    def per_call(call: Callable[[list[Request]], Any], requests: list[Request], threads: int = 1) -> float:
        def repeat(n: int) -> None:
            for _ in range(n):
                call(requests)

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(repeat, [calls // threads] * threads))
        return round(1e6 * (time.perf_counter() - started) / calls, 1)

    direct = Pipeline(Settings(models_dir=Path(tempfile.gettempdir())), engine=engine).translate
    out["in_process_us"] = {"1": per_call(direct, one), "32": per_call(direct, many)}
    folder = Path(tempfile.mkdtemp(prefix="transnorm-bench-ipc-"))
    owner = TranslatorProcess(Settings(models_dir=folder), folder / "socket", engine=engine).start()
    try:
        client = TranslatorClient(owner.path, 30)
        out["unix_socket_us"] = {
            "1": per_call(client, one),
            "32": per_call(client, many),
            "1_from_8_threads": per_call(client, one, 8),
        }
    finally:
        owner.stop()
        shutil.rmtree(folder, ignore_errors=True)
    # The batch relay this replaced: multiprocessing.connection pipes, pickled Request objects.
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    echo = context.Process(target=_pipe_echo, args=(child, direct), daemon=True)
    echo.start()

    def over_pipe(requests: list[Request]) -> Any:
        parent.send(("translate", requests))
        return parent.recv()

    try:
        out["multiprocessing_pipe_us"] = {"1": per_call(over_pipe, one), "32": per_call(over_pipe, many)}
    finally:
        parent.send(("stop", []))
        echo.join(10)
    return out


class EchoEngine:
    """An engine that answers at once (the transport is what is measured)."""

    loaded = False

    def packages(self) -> dict[tuple[str, str], Any]:
        return {}

    def load(self) -> None:
        pass

    def stats(self) -> Any:
        from ..translate import EngineStats

        return EngineStats()

    def translate(
        self, lang: str, sentences: Any, beam_size: Any = None, target: str = "en", alternatives: int = 0
    ) -> Any:
        from ..translate import Translation

        return [Translation(s, 0.5, len(s)) for s in sentences]


def _pipe_echo(conn: Any, translate: Callable[[list[Request]], Any]) -> None:
    while True:
        kind, requests = conn.recv()
        if kind == "stop":
            return
        conn.send(("results", translate(requests)))


def bench_batch(models_dir: Path, quick: bool) -> dict[str, Any]:
    """Documents/s with 1 and 2 jobs over distinct documents (no sentence repeats, so the
    translation cache answers nothing: the honest measure), over distinct English-only documents
    (no translation: the part that worker processes parallelize), and over copies of the seeds
    (which the cache answers after the first copy)."""
    n = 24 if quick else 60
    rounds = 1 if quick else 3
    results: dict[str, Any] = {
        "distinct": _batch_run(models_dir, lambda src: distinct_corpus(src, n, chinese=3), rounds),
        "distinct_english": _batch_run(
            models_dir, lambda src: distinct_corpus(src, n * 10, chinese=0), rounds
        ),
        "seed_copies": _batch_run(models_dir, lambda src: _copies(src, n // 5), rounds),
    }
    results["machine_scaling"] = cpu_scaling(quick, rounds)
    results["documents"] = results["distinct"]["documents"]
    results["jobs_1"] = results["distinct"]["jobs_1"]
    results["jobs_2"] = results["distinct"]["jobs_2"]
    results["speedup_2_jobs"] = results["distinct"]["speedup_2_jobs"]
    return results


def _spin_python(n: int) -> None:
    total = 0
    for i in range(n):
        total += i * i


def _spin_matmul(n: int) -> None:
    import numpy

    a = numpy.random.default_rng(0).random((512, 512), dtype=numpy.float32)
    for _ in range(n):
        a @ a


def cpu_scaling(quick: bool, rounds: int = 1) -> dict[str, float]:
    """What two cores give here: the time of one CPU-bound process against two at once, for pure
    Python and for single-threaded float32 matrix products — the ceiling for any 2-job speedup
    (the median of ``rounds``)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    # One BLAS thread per process, or two processes oversubscribe the cores (measured ×0.26).
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    out = {}
    for name, target, n in (("python", _spin_python, 20_000_000), ("matmul", _spin_matmul, 300)):
        n = n // 4 if quick else n
        ratios = []
        for _ in range(rounds):
            times = []
            for count in (1, 2):
                started = time.perf_counter()
                procs = [context.Process(target=target, args=(n,)) for _ in range(count)]
                for proc in procs:
                    proc.start()
                for proc in procs:
                    proc.join()
                times.append(time.perf_counter() - started)
            ratios.append(2 * times[0] / times[1])
        out[name] = round(statistics.median(ratios), 2)
    if blas is None:
        del os.environ["OPENBLAS_NUM_THREADS"]
    else:
        os.environ["OPENBLAS_NUM_THREADS"] = blas
    return out


def _sentences(text: str, end: str) -> list[str]:
    return [s.strip() + end for s in text.split(end) if s.strip()]


def distinct_corpus(folder: Path, documents: int, chinese: int) -> int:
    """``documents`` news-like files that share no sentence: English sentences of seeds 000–002
    in an order of their own and numbered, and ``chinese`` sentences of seed 003, each made new
    by a number of its own. Returns how many were written."""
    import random

    english = [s for p in ("000", "001", "002") for s in _sentences(seed(p).replace("\n", " "), ". ")]
    han = [
        s
        for s in _sentences(seed("003").replace("\n", ""), "。")
        if any("\u4e00" <= c <= "\u9fff" for c in s)
    ]
    rng = random.Random(7)
    for i in range(documents):
        lines = [f"Report {i}: " + " ".join(rng.sample(english, 4))]
        for k in range(chinese):
            lines.append(f"第{i * chinese + k + 1}条消息：" + rng.choice(han))
        lines.append(" ".join(rng.sample(english, 3)) + f" (item {i})")
        (folder / f"{i:04d}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return documents


def _copies(folder: Path, copies: int) -> int:
    paths = sorted(SEEDS.glob("*.txt"))
    for i in range(copies):
        for path in paths:
            shutil.copy(path, folder / f"{i:03d}_{path.name}")
    return copies * len(paths)


def _batch_run(models_dir: Path, corpus: Callable[[Path], int], rounds: int = 1) -> dict[str, Any]:
    """1 and 2 jobs over the same corpus, alternating for ``rounds``; medians (this machine's
    neighbours come and go: one round can be off by a third)."""
    work = Path(tempfile.mkdtemp(prefix="transnorm-bench-"))
    try:
        src = work / "in"
        src.mkdir()
        results: dict[str, Any] = {"documents": corpus(src), "rounds": rounds}
        seconds: dict[int, list[float]] = {1: [], 2: []}
        failed = 0
        for i in range(rounds):
            for jobs in (1, 2):
                out = work / f"out{jobs}-{i}"
                job = Job(out, ("json", "text"), Options(), Settings(models_dir=models_dir))
                started = time.perf_counter()
                summary = run_batch(src, job, jobs=jobs)
                seconds[jobs].append(time.perf_counter() - started)
                failed += summary.failed
                shutil.rmtree(out, ignore_errors=True)
        for jobs, times in seconds.items():
            median = statistics.median(times)
            results[f"jobs_{jobs}"] = {
                "seconds": round(median, 2),
                "documents_per_s": round(results["documents"] / median, 2),
                "all_seconds": [round(t, 2) for t in times],
            }
        results["failed"] = failed
        results["speedup_2_jobs"] = round(statistics.median(seconds[1]) / statistics.median(seconds[2]), 2)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_ray(models_dir: Path, quick: bool) -> dict[str, Any]:
    """Documents/s of ``transnorm batch`` end to end (start-up included) on distinct documents:
    the local engine with 2 jobs against the Ray engine with 1 and 2 actors on this machine's
    cores (a local Ray cluster), and Ray's start-up alone."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return {"skipped": "Ray is not installed (pip install 'transnorm[ray]')"}
    work = Path(tempfile.mkdtemp(prefix="transnorm-bench-ray-"))
    try:
        src = work / "in"
        src.mkdir()
        documents = distinct_corpus(src, 24 if quick else 120, chinese=3)
        env = {**os.environ, "TRANSNORM_MODELS_DIR": str(models_dir)}
        results: dict[str, Any] = {"documents": documents}
        runs = {
            "local_2_jobs": ["--jobs", "2"],
            "ray_1_actor": ["--engine", "ray", "--actors", "1"],
            "ray_2_actors": ["--engine", "ray", "--actors", "2"],
        }
        budget = 240 if quick else 900
        for name, extra in runs.items():
            argv = [sys.executable, "-m", "transnorm", "batch", str(src), "--out", str(work / name)]
            results[name] = _bounded([*argv, "--format", "json,text", *extra], env, budget, documents)
        ray_start = [sys.executable, "-c", "import ray; ray.init(include_dashboard=False); ray.shutdown()"]
        results["ray_start_and_stop_s"] = _bounded(ray_start, env, 120, 0).get("seconds")
        rate = {name: results[name].get("documents_per_s") for name in runs}
        results["ray_2_over_local"] = _ratio(rate["ray_2_actors"] or 0, rate["local_2_jobs"] or 0)
        results["ray_2_over_1_actor"] = _ratio(rate["ray_2_actors"] or 0, rate["ray_1_actor"] or 0)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _bounded(argv: list[str], env: dict[str, str], budget: float, documents: int) -> dict[str, Any]:
    """Run ``argv`` for at most ``budget`` seconds (its whole process group killed after)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        code = proc.wait(budget)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        return {"timed_out_after_s": budget}
    elapsed = time.perf_counter() - started
    out: dict[str, Any] = {"seconds": round(elapsed, 2), "exit": code}
    if documents:
        out["documents_per_s"] = round(documents / elapsed, 2)
    return out


def machine() -> dict[str, Any]:
    import ctranslate2

    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "ctranslate2": ctranslate2.__version__,
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


SECTIONS = ("translation", "english", "ipc", "http", "memory", "batch", "ray")


def run(quick: bool = False, sections: tuple[str, ...] = SECTIONS) -> dict[str, Any]:
    models_dir, vocab_source = proxy_models_dir()
    package = proxy_package(models_dir)
    out: dict[str, Any] = {
        "machine": machine(),
        "quick": quick,
        "proxy": {
            "vocabulary": "the real zh-en package's (65,000 pieces)"
            if vocab_source == "shared"
            else "a SentencePiece trained on the seeds (8,000 pieces; no shared/models folder found)",
            "model_mb": round((package / "model" / "model.bin").stat().st_size / 1e6, 1),
        },
    }
    default_beam = Settings().pipeline.beam_size
    if "translation" in sections:
        beams = [default_beam] if quick else sorted({1, 2, 4, default_beam})
        out["translation"] = bench_translation(models_dir, quick, beams, rounds=3)
    if "english" in sections:
        out["english"] = bench_english(quick)
    if "ipc" in sections:
        out["ipc"] = bench_ipc(quick)
    if "http" in sections:
        out["http"] = bench_http(models_dir, quick)
    if "memory" in sections:
        out["memory"] = bench_memory(models_dir, quick)
    if "batch" in sections:
        out["batch"] = bench_batch(models_dir, quick)
    if "ray" in sections:
        out["ray"] = bench_ray(models_dir, quick)
    out["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def format_report(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"machine: {m['cpus']} × {m['cpu']}, Python {m['python']}, CTranslate2 {m['ctranslate2']}, "
        f"{m['date']}; load average {m['load_average']} at start, {m.get('load_average_at_end')} at end",
        f"proxy model: {result['proxy']['model_mb']} MB int8, vocabulary: {result['proxy']['vocabulary']}",
    ]
    t = result.get("translation")
    if t:
        argos = t["argostranslate"]
        lines.append(
            f"translation (beam {t['beam_size']}, {t['beam_' + str(t['beam_size'])]['sentences']} sentences, "
            f"{t['source_tokens']} source tokens, median of {t['rounds']}): "
            f"{t['sentences_per_s']} sentences/s; raw translate_batch at its fastest "
            f"({t['ctranslate2']['way']}) {t['ctranslate2']['sentences_per_s']}/s "
            f"→ ratio {t['ratio_to_ctranslate2']}"
        )
        ways = ", ".join(f"{k} {v['sentences_per_s']}/s" for k, v in t.get("ctranslate2_ways", {}).items())
        lines.append(f"  raw ways: {ways}; transnorm's threads: {t.get('threads')}")
        lines.append(
            f"  argostranslate on {'the same' if argos['same_sentences'] else 'a subset of the'} sentences "
            f"({argos['sentences']}, {argos['source_tokens']} source tokens, beam {argos['beam_size']}): "
            f"{argos['sentences_per_s']}/s → speedup {t['speedup_vs_argostranslate']} "
            f"(tokens/s ×{t['speedup_vs_argostranslate_tokens']}); "
            f"{t['refused_by_quality_gate']} translations refused by the quality gate (random weights)"
        )
        for key, value in t.items():
            if key.startswith("beam_") and isinstance(value, dict):
                lines.append(f"  {key}: {value}")
    e = result.get("english")
    if e:
        lines.append(
            f"english: {e['mb_per_s']} MB/s on {e['megabytes']} MB, planted spans found: {e['recall_ok']}"
        )
    i = result.get("ipc")
    if i:
        lines.append("ipc (µs per call, 1 / 32 sentences, engine answering at once):")
        for key in ("in_process_us", "unix_socket_us", "multiprocessing_pipe_us"):
            lines.append(f"  {key}: {i[key]}")
    h = result.get("http")
    if h:
        lines.append(f"http ({h['documents']}, cache off):")
        for name in ("translation_process", "each_worker_translates", "one_process_threads"):
            row = h.get(name)
            if not row:
                continue
            lines.append(
                f"  {name} ({row['workers']} worker(s)): ready in {row['cold_start_to_ready_s']} s, "
                f"memory {row['memory']}"
            )
            for c, v in row.items():
                if c.isdigit():
                    lines.append(f"    concurrency {c}: {v}")
        ratio = next((v for k, v in h.items() if k.startswith("throughput_ratio")), None)
        lines.append(f"  throughput, this design over the one it replaced, at the top concurrency: ×{ratio}")
    mem = result.get("memory")
    if mem:
        lines.append(f"memory (whole server, packages of {mem['package_mb']} MB; MB):")
        lines.append(
            "  packages workers | ready s | RSS/PSS at ready | RSS/PSS all served | loaded | "
            "first request ms (max) | loaded ms | PSS bound | within"
        )
        for r in mem["rows"]:
            extra = " ".join(f"{k}={v}" for k, v in r.items() if k.startswith("TRANSNORM_"))
            lines.append(
                f"  {r['packages']:>3} {r['workers']} {extra} | {r['ready_s']} | "
                f"{r['at_ready']['rss_mb']}/{r['at_ready']['pss_mb']} | "
                f"{r['all_languages_served']['rss_mb']}/{r['all_languages_served']['pss_mb']} | "
                f"{r['loaded']} | "
                f"{r['first_request_ms']} ({r['first_request_max_ms']}) | {r['loaded_request_ms']} | "
                f"{r['pss_bound_mb']} | {r['pss_within_bound']}"
            )
    b = result.get("batch")
    if b:
        for name in ("distinct", "distinct_english", "seed_copies"):
            v = b[name]
            lines.append(
                f"batch {name}: {v['documents']} docs, 1 job {v['jobs_1']['documents_per_s']}/s, "
                f"2 jobs {v['jobs_2']['documents_per_s']}/s (×{v['speedup_2_jobs']})"
            )
        lines.append(f"two processes on two cores here: ×{b['machine_scaling']}")
    r = result.get("ray")
    if r and "skipped" not in r:
        rate = {
            name: r[name].get("documents_per_s", r[name])
            for name in ("local_2_jobs", "ray_1_actor", "ray_2_actors")
        }
        lines.append(
            f"ray ({r['documents']} docs, start-up included): local 2 jobs {rate['local_2_jobs']}/s, "
            f"Ray 1 actor {rate['ray_1_actor']}/s, 2 actors {rate['ray_2_actors']}/s "
            f"(×{r['ray_2_over_local']} of local; Ray start and stop {r['ray_start_and_stop_s']} s)"
        )
    return "\n".join(lines)
