"""``transnorm bench``: translation against raw CTranslate2 and argostranslate, English
pass-through, HTTP latency and batch throughput, side by side on this machine.

The translation proxy has the real OPUS-MT zh→en architecture (6+6 layers, d_model 512, 8 heads,
FFN 2048, tied 65k shared vocabulary, int8) with random weights, built once with CTranslate2's
model-spec API and cached outside the repository. It uses the real package's SentencePiece model
and vocabulary from ``../shared`` when present, else a SentencePiece trained on the seeds.
Random weights rarely emit end-of-sentence, so decoding runs to the length guard: output tokens
are reported so that runs compare fairly.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..batch import Job, run_batch
from ..document import Action
from ..engine import LENGTH_PENALTY, ArgosEngine, NoEngine, decoding_limit
from ..options import Options
from ..pipeline import Pipeline
from ..settings import Settings


def _project_root() -> Path:
    """The checkout this runs from: the working directory if it has seeds/, else the source tree's."""
    here = Path.cwd()
    return here if (here / "seeds").is_dir() else Path(__file__).resolve().parents[3]


PROJECT_ROOT = _project_root()
SHARED_PACKAGE = PROJECT_ROOT.parent / "shared" / "models" / "translate-zh_en-1_9.partial-no-weights"
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


def bench_translation(models_dir: Path, quick: bool, beams: list[int]) -> dict[str, Any]:
    import ctranslate2
    import sentencepiece

    from ..detect import Detector

    detector = Detector()
    text = seed("003")
    if quick:
        text = "\n".join(text.splitlines()[:14])
    results: dict[str, Any] = {}
    default = Settings().beam_size
    for beam in beams:
        settings = Settings(models_dir=models_dir, cache_size=0, beam_size=beam)
        recorder = _Recorder(ArgosEngine(settings.pipeline))
        recorder.engine.load()
        pipeline = Pipeline(settings, engine=recorder, detector=detector)
        started = time.perf_counter()
        pipeline(text.encode())
        elapsed = time.perf_counter() - started
        n = len(recorder.sent)
        results[f"beam_{beam}"] = _rates(n, elapsed, recorder.tokens)
        if beam != default:
            continue
        # The limit: raw translate_batch over exactly those sentences, same model and settings.
        info = recorder.engine.packages()[("zh", "en")]
        translator = ctranslate2.Translator(
            str(info.path / "model"),
            device="cpu",
            compute_type=settings.pipeline.compute_type,
            inter_threads=settings.pipeline.inter_threads,
            intra_threads=settings.pipeline.intra_threads,
        )
        sp = sentencepiece.SentencePieceProcessor(model_file=str(info.path / "sentencepiece.model"))
        tokens = sp.encode(recorder.sent, out_type=str)
        started = time.perf_counter()
        raw = translator.translate_batch(
            tokens,
            replace_unknowns=True,
            length_penalty=LENGTH_PENALTY,
            batch_type="tokens",
            max_batch_size=settings.pipeline.max_batch_tokens,
            beam_size=beam,
            max_decoding_length=decoding_limit(max(map(len, tokens)), settings.pipeline),
            return_scores=True,
        )
        raw_elapsed = time.perf_counter() - started
        raw_tokens = sum(
            min(len(r.hypotheses[0]), decoding_limit(len(t), settings.pipeline))
            for r, t in zip(raw, tokens, strict=True)
        )
        results["ctranslate2"] = _rates(n, raw_elapsed, raw_tokens)
        results["argostranslate"] = bench_argostranslate(info.path, pipeline, text, quick)
        ours = results[f"beam_{beam}"]
        results["sentences_per_s"] = ours["sentences_per_s"]
        results["ratio_to_ctranslate2"] = round(
            ours["sentences_per_s"] / results["ctranslate2"]["sentences_per_s"], 3
        )
        argos = results["argostranslate"]
        results["speedup_vs_argostranslate"] = round(ours["sentences_per_s"] / argos["sentences_per_s"], 3)
        # argostranslate decodes up to 256 tokens and random weights rarely stop early: compare tokens too.
        results["speedup_vs_argostranslate_tokens"] = round(ours["tokens_per_s"] / argos["tokens_per_s"], 3)
        results["beam_size"] = beam
    return results


def bench_argostranslate(package_path: Path, pipeline: Pipeline, text: str, quick: bool) -> dict[str, Any]:
    """argostranslate's own per-paragraph translation, its sentence splitter replaced by ours."""
    import ctranslate2
    from argostranslate import settings as argos_settings
    from argostranslate.package import Package
    from argostranslate.translate import apply_packaged_translation

    from .. import segment

    class OurSentencizer:
        def split_sentences(self, paragraph: str) -> list[str]:
            return [
                paragraph[s.start : s.end]
                for line in segment.lines(paragraph)
                for s in segment.sentences(paragraph, line)
            ]

    class Counting:
        def __init__(self, translator: Any) -> None:
            self.translator, self.tokens = translator, 0

        def translate_batch(self, *args: Any, **kwargs: Any) -> Any:
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
    doc = pipeline(text.encode(), Options(chrome="keep"))
    paragraphs = []
    for line in segment.lines(doc.source):
        body = doc.source[line.start : line.end]
        if any(s.action == Action.TRANSLATED and line.start <= s.source_start < line.end for s in doc.spans):
            paragraphs.append(body)
    if quick:
        paragraphs = paragraphs[:1]
    sentencizer = OurSentencizer()
    n = sum(len(sentencizer.split_sentences(p)) for p in paragraphs)
    started = time.perf_counter()
    for paragraph in paragraphs:
        apply_packaged_translation(pkg, paragraph, translator, sentencizer, num_hypotheses=1)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    return {
        "paragraphs": len(paragraphs),
        **_rates(n, elapsed, translator.tokens),
        "beam_size": max(1, argos_settings.beam_size),
    }


def _rates(sentences: int, seconds: float, tokens: int) -> dict[str, Any]:
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


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def bench_http(models_dir: Path, quick: bool) -> dict[str, Any]:
    port = _free_port()
    env = {**os.environ, "TRANSNORM_MODELS_DIR": str(models_dir), "TRANSNORM_CACHE_SIZE": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    workers = 1 if quick else 2
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "transnorm", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if time.perf_counter() - started > 120:
                raise RuntimeError("server did not become ready within 120 s")
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        cold = time.perf_counter() - started
        lines = seed("003").splitlines()
        document = ("\n".join(lines[:12]) if quick else "\n".join(lines)).encode()
        levels = {}
        for concurrency in (1, 4) if quick else (1, 4, 16):
            count = concurrency * (2 if quick else 3)
            levels[str(concurrency)] = _load(base, document, concurrency, count, 30 if quick else 240)
        rss = [_rss_kb(p) for p in _children(proc.pid)]
        return {
            "workers": workers,
            "document_bytes": len(document),
            "cold_start_to_ready_s": round(cold, 2),
            "concurrency": levels,
            "rss_mb_per_worker": [round(k / 1024, 1) for k in rss],
            "cache": "off (every request translates)",
        }
    finally:
        proc.terminate()
        proc.wait(30)


def _load(base: str, document: bytes, concurrency: int, count: int, budget: float) -> dict[str, Any]:
    """``count`` requests at ``concurrency``, stopping early after ``budget`` seconds."""
    deadline = time.perf_counter() + budget

    def one(_: int) -> float | None:
        if time.perf_counter() > deadline:
            return None
        req = urllib.request.Request(
            base + "/v1/normalize", data=document, headers={"Content-Type": "text/plain"}
        )
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=300) as r:
            r.read()
        return time.perf_counter() - t

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(x for x in pool.map(one, range(count)) if x is not None)
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
        for name, extra in runs.items():
            started = time.perf_counter()
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "transnorm",
                    "batch",
                    str(src),
                    "--out",
                    str(work / name),
                    "--format",
                    "json,text",
                    *extra,
                ],
                env=env,
                capture_output=True,
            )
            elapsed = time.perf_counter() - started
            results[name] = {
                "seconds": round(elapsed, 2),
                "documents_per_s": round(documents / elapsed, 2),
                "exit": r.returncode,
            }
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import ray; ray.init(include_dashboard=False); ray.shutdown()"],
            capture_output=True,
        )
        results["ray_start_and_stop_s"] = round(time.perf_counter() - started, 2)
        results["ray_2_over_local"] = round(
            results["ray_2_actors"]["documents_per_s"] / results["local_2_jobs"]["documents_per_s"], 2
        )
        results["ray_2_over_1_actor"] = round(
            results["ray_2_actors"]["documents_per_s"] / results["ray_1_actor"]["documents_per_s"], 2
        )
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
    }


def run(
    quick: bool = False, sections: tuple[str, ...] = ("translation", "english", "http", "batch", "ray")
) -> dict[str, Any]:
    models_dir, vocab_source = proxy_models_dir()
    out: dict[str, Any] = {"machine": machine(), "quick": quick, "proxy_vocabulary": vocab_source}
    default_beam = Settings().beam_size
    if "translation" in sections:
        beams = [default_beam] if quick else sorted({1, 2, 4, default_beam})
        out["translation"] = bench_translation(models_dir, quick, beams)
    if "english" in sections:
        out["english"] = bench_english(quick)
    if "http" in sections:
        out["http"] = bench_http(models_dir, quick)
    if "batch" in sections:
        out["batch"] = bench_batch(models_dir, quick)
    if "ray" in sections:
        out["ray"] = bench_ray(models_dir, quick)
    return out


def format_report(result: dict[str, Any]) -> str:
    lines = [f"machine: {json.dumps(result['machine'])}"]
    t = result.get("translation")
    if t:
        lines.append(
            f"translation (beam {t['beam_size']}): {t['sentences_per_s']} sentences/s; "
            f"raw CTranslate2 {t['ctranslate2']['sentences_per_s']}/s → ratio {t['ratio_to_ctranslate2']}; "
            f"argostranslate {t['argostranslate']['sentences_per_s']}/s "
            f"(beam {t['argostranslate']['beam_size']}) "
            f"→ speedup {t['speedup_vs_argostranslate']} (tokens/s ×{t['speedup_vs_argostranslate_tokens']})"
        )
        for key, value in t.items():
            if key.startswith("beam_") and isinstance(value, dict):
                lines.append(f"  {key}: {value}")
    e = result.get("english")
    if e:
        lines.append(
            f"english: {e['mb_per_s']} MB/s on {e['megabytes']} MB, planted spans found: {e['recall_ok']}"
        )
    h = result.get("http")
    if h:
        lines.append(
            f"http: cold start {h['cold_start_to_ready_s']} s, RSS/worker {h['rss_mb_per_worker']} MB"
        )
        for c, v in h["concurrency"].items():
            lines.append(f"  concurrency {c}: {v}")
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
        rate = {name: r[name]["documents_per_s"] for name in ("local_2_jobs", "ray_1_actor", "ray_2_actors")}
        lines.append(
            f"ray ({r['documents']} docs, start-up included): local 2 jobs {rate['local_2_jobs']}/s, "
            f"Ray 1 actor {rate['ray_1_actor']}/s, 2 actors {rate['ray_2_actors']}/s "
            f"(×{r['ray_2_over_local']} of local; Ray start and stop {r['ray_start_and_stop_s']} s)"
        )
    return "\n".join(lines)
