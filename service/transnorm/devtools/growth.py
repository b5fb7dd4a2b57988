"""How each stage's time grows with its input: decode, segment, chrome, detect, plan, the quality
gate, assemble (post-normalization included) and render, timed on generated documents of 1 KB to
10 MB in several shapes (scripts, no punctuation, one giant line, many tiny lines, long runs of
one character, long words ...). A stage whose time grows faster than its input is a CPU bomb: one
document can hold a worker far past any timeout.

Run ``python -m transnorm.devtools.growth`` (``--help`` for sizes, shapes and the time limit);
:func:`run` and :func:`format_report` are what ``transnorm bench`` can call. Translation itself
is not timed: every foreign sentence gets a made-up English translation of its own length, the
worst case for the gate's copy check.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .. import chrome, quality, segment
from ..decode import decode
from ..detect import Detector, all_languages
from ..packages import PackageInfo
from ..pipeline import Pipeline
from ..render import render
from ..settings import Settings
from ..translate import EngineStats, Request, Result, Translation

SIZES = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
STAGES = (
    "decode",
    "segment",
    "chrome",
    "detect",
    "plan",
    "quality",
    "assemble",
    "render json",
    "render text",
    "render html",
)
#: A stage that takes more than this (CPU seconds) on one input is stopped, and not run on
#: larger ones. Times are the process's CPU time, not the wall clock: on a shared host, other
#: processes change the second much more than the first.
LIMIT = 60.0

_EN = "The talks will continue next week, officials said in a statement on Monday. "
_FR = "Le gouvernement a annoncé lundi de nouvelles mesures pour la région et ses habitants. "
_ZH = "科尔图诺夫说，会谈将于下周继续进行。官员们在周一的声明中表示，双方同意继续对话。"
_RU = "Переговоры продолжатся на следующей неделе, заявили официальные лица в понедельник. "
_AR = "قال المسؤولون في بيان يوم الاثنين إن المحادثات ستستمر الأسبوع المقبل. "

#: Generated documents: a name → a unit of text repeated (and cut) to the size wanted, or a head
#: and such a unit.
SHAPES: dict[str, Callable[[], str | tuple[str, str]]] = {
    "english": lambda: _EN * 5 + "\n\n",
    "french": lambda: _FR * 5 + "\n\n",
    "han": lambda: _ZH * 3 + "\n\n",
    "cyrillic": lambda: _RU * 5 + "\n\n",
    "arabic": lambda: _AR * 5 + "\n\n",
    "mixed": lambda: (
        "He told 《中国新闻周刊》 that https://example.com/a.html is up. "
        + _RU
        + "\n科尔图诺夫说，会谈将于\n下周继续进行。\nMenu\n"
        + _FR
        + "\n\n"
    ),
    # Prose hard-wrapped in mid-sentence, with no blank line: one logical line of many sentences.
    "wrapped en": lambda: (
        "the talks will continue next week, officials said. They met on\n"
        "monday and agreed to meet again. It was the third\n"
    ),
    "wrapped fr": lambda: (
        "le gouvernement a annoncé de nouvelles mesures. Elles seront\n"
        "appliquées dès lundi dans la région. Le ministre\n"
    ),
    # Hard-wrapped lines without a full stop: one logical line, one sentence, a join per line.
    "no punctuation fr": lambda: "le gouvernement a annoncé lundi de nouvelles mesures pour la\n",
    "no punctuation ru": lambda: "переговоры продолжатся на следующей неделе заявили официальные\n",
    "one line en": lambda: "the talks will continue next week, officials said on monday, ",
    "one line han": lambda: "科尔图诺夫说会谈将于下周继续进行官员们在周一的声明中表示双方同意继续对话",
    "tiny lines": lambda: "Menu\nok\nДа\n是\nx.\n",
    # Page furniture words ("Menu", "Search") on lines of their own after the article: chrome only
    # beside other chrome, which is decided from the last line up.
    "weak chrome lines": lambda: ("The article begins here and it is not chrome.\n", "Menu\n"),
    "run of a": lambda: "a",
    "run of .": lambda: ".",
    "run of 中": lambda: "中",
    "run of newlines": lambda: "\n",
    "long words": lambda: "a" * 4999 + ". ",
    "addresses": lambda: "See www.example.com. It is a.com. Then b.org/x. ",
}


class _Overtime(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`_Overtime` in this (main) thread after ``seconds`` of its CPU time."""

    def expire(signum: int, frame: Any) -> None:
        raise _Overtime

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def document(shape: str, size: int) -> bytes:
    """``size`` bytes of UTF-8 (cut at a character boundary) of the shape's text."""
    made = SHAPES[shape]()
    head, unit = (made[0].encode(), made[1].encode()) if isinstance(made, tuple) else (b"", made.encode())
    data = (head + unit * (size // len(unit) + 1))[:size]
    return data.decode("utf-8", "ignore").encode("utf-8")


def _english_like(n: int) -> str:
    words = "the government said on monday that the talks will go on next week "
    return (words * (n // len(words) + 1))[:n].strip() or "the"


class _EveryLanguage:
    """An engine with a package for every language the detector knows, so that every foreign
    sentence is planned for translation. It is never asked to translate: :func:`measure` passes
    its own strategy."""

    loaded = False

    def __init__(self) -> None:
        self._packages = {
            (lang, "en"): PackageInfo(lang, "en", f"translate-{lang}_en", "0", Path("/nonexistent"))
            for lang in all_languages()
        }

    def packages(self) -> dict[tuple[str, str], PackageInfo]:
        return self._packages

    def load(self) -> None:
        pass

    def stats(self) -> EngineStats:
        return EngineStats()

    def translate(self, *args: Any, **kwargs: Any) -> list[Translation]:
        raise AssertionError("measure() translates with its own strategy")


def measure(data: bytes, detector: Detector, limit: float, skip: set[str]) -> dict[str, float | None]:
    """CPU seconds per stage on ``data`` (None: stopped at ``limit``); stages in ``skip`` are not
    run, nor those that need their result.

    Segment, chrome and detect are timed on their own; plan and assemble (post-normalization and
    the gate included) as the pipeline runs them, around a translation strategy that answers each
    sentence with made-up English of its length; the gate alone on those pairs.
    """
    times: dict[str, float | None] = {}
    state: dict[str, Any] = {}

    def stage(name: str, work: Callable[[], Any], needs: tuple[str, ...] = ()) -> None:
        if name in skip or any(state.get(n) is None for n in needs):
            return
        started = time.process_time()
        try:
            with _deadline(limit):
                state[name] = work()
        except _Overtime:
            times[name] = None
            return
        times[name] = time.process_time() - started

    def segmented() -> tuple[list[segment.Line], list[segment.Sentence]]:
        text = state["decode"].text
        lines = segment.lines(text)
        return lines, [s for line in lines if not line.code for s in segment.sentences(text, line)]

    def detected() -> list[Any]:
        text = state["decode"].text
        out = []
        for s in state["segment"][1]:
            out.append(detector.detect(text[s.start : s.end]))
            out.extend(detector.detect(text[a:b]) for a, b in s.runs)
        return out

    stage("decode", lambda: decode(data))
    stage("segment", segmented, ("decode",))
    stage("chrome", lambda: chrome.classify(state["decode"].text, state["segment"][0]), ("segment",))
    stage("detect", detected, ("segment",))
    if not {"plan", "assemble"} & skip and state.get("decode") is not None:
        _pipeline(data, detector, limit, times, state)
    pairs = state.get("pairs")
    stage("quality", lambda: [quality.rejection(a, b) for a, b in pairs], ("pairs",))
    for fmt in ("json", "text", "html"):
        markers = "inline" if fmt == "text" else "none"
        stage(f"render {fmt}", lambda f=fmt, m=markers: render(state["document"], f, m), ("document",))
    return times


def _pipeline(
    data: bytes, detector: Detector, limit: float, times: dict[str, float | None], state: dict[str, Any]
) -> None:
    """Time plan and assemble through :meth:`Pipeline.normalize_many`: plan is the time to the
    translation strategy's call, less decoding; assemble the time after it returns (with nothing
    to translate, the strategy is not called, and plan includes assemble)."""
    pipeline = Pipeline(Settings(max_bytes=len(data) + 1), engine=_EveryLanguage(), detector=detector)
    marks: dict[str, float] = {}

    def translate(requests: Sequence[Request]) -> list[Result]:
        marks["planned"] = time.process_time()
        answers: list[Result] = [Translation(_english_like(len(r.text)), 0.5, 1) for r in requests]
        state["pairs"] = [(r.text, a.text) for r, a in zip(requests, answers, strict=True)]
        marks["translated"] = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, limit)  # assemble gets a limit of its own
        return answers

    state["pairs"] = []  # a document with nothing to translate never calls the strategy
    started = time.process_time()
    try:
        with _deadline(limit):
            outcome = pipeline.normalize_many([(data, None, None)], translate)[0]
    except _Overtime:
        if "planned" in marks:
            times["plan"] = marks["planned"] - started - (times.get("decode") or 0.0)
            times["assemble"] = None
        else:
            times["plan"] = None
            state.pop("pairs")  # nothing was planned: the gate has nothing to be timed on
        return
    if outcome.error is not None:
        raise outcome.error
    document = outcome.document
    ended = time.process_time()
    planned, translated = marks.get("planned", ended), marks.get("translated", ended)
    times["plan"] = max(0.0, planned - started - (times.get("decode") or 0.0))
    times["assemble"] = ended - translated
    state["plan"] = state["assemble"] = True
    state["document"] = document


def run(
    sizes: tuple[int, ...] = SIZES,
    shapes: tuple[str, ...] = tuple(SHAPES),
    limit: float = LIMIT,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Seconds per shape, stage and size: ``{"sizes": [...], "limit": s, "shapes": {shape: {stage:
    [seconds | None (stopped) | "skipped", ...]}}}``. A stage stopped at one size is skipped at the
    larger ones."""
    detector = Detector()
    out: dict[str, Any] = {"sizes": list(sizes), "limit": limit, "shapes": {}}
    for shape in shapes:
        rows: dict[str, list[Any]] = {name: [] for name in STAGES}
        stopped: set[str] = set()
        for size in sizes:
            times = measure(document(shape, size), detector, limit, stopped)
            for name in STAGES:
                value = times.get(name, "skipped")
                rows[name].append(value)
                if value is None:
                    stopped.add(name)
            if progress:
                progress(f"{shape} {size}: " + ", ".join(f"{k} {v}" for k, v in times.items()))
        out["shapes"][shape] = rows
    return out


def exponent(sizes: list[int], seconds: list[Any], floor: float = 0.02) -> float | None:
    """k in time ∝ size^k between the last two sizes measured (the first of them over ``floor``
    seconds, so that noise does not count); None if there is no such pair."""
    points = [(n, t) for n, t in zip(sizes, seconds, strict=True) if isinstance(t, float)]
    for (n1, t1), (n2, t2) in reversed(list(itertools.pairwise(points))):
        if t1 >= floor and t2 > 0:
            return math.log(t2 / t1) / math.log(n2 / n1)
    return None


def verdict(sizes: list[int], seconds: list[Any]) -> str:
    if any(t is None for t in seconds):
        return "SUPER-LINEAR (stopped)"
    k = exponent(sizes, seconds)
    if k is None:
        return "too fast to tell"
    return f"k={k:.2f}" + ("  SUPER-LINEAR" if k > 1.3 else "")


def _cell(value: Any, limit: float) -> str:
    if value is None:
        return f">{limit:g}s"
    if value == "skipped":
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _size(n: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"


def format_report(result: dict[str, Any]) -> str:
    """One table per shape: stage × size in seconds, and k in time ∝ size^k (1: linear)."""
    sizes, limit = result["sizes"], result["limit"]
    head = f"{'stage':<12}" + "".join(f"{_size(n):>10}" for n in sizes) + "   growth"
    lines = [f"CPU seconds per stage (stopped at {limit:g} s); growth: time ∝ size^k between the last sizes."]
    for shape, rows in result["shapes"].items():
        lines += ["", f"== {shape}", head]
        for name, seconds in rows.items():
            cells = "".join(f"{_cell(v, limit):>10}" for v in seconds)
            lines.append(f"{name:<12}{cells}   {verdict(sizes, seconds)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transnorm.devtools.growth", description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="bytes, comma-separated")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated: " + ", ".join(SHAPES))
    parser.add_argument("--limit", type=float, default=LIMIT, help="seconds a stage may take on one input")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--verbose", action="store_true", help="print each measurement to stderr as it is made"
    )
    args = parser.parse_args(argv)
    sizes = tuple(int(float(s)) for s in args.sizes.split(",") if s.strip())
    shapes = tuple(s.strip() for s in args.shapes.split(",") if s.strip())
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        parser.error(f"unknown shapes: {', '.join(unknown)}")
    printer = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    result = run(sizes, shapes, args.limit, printer)
    if args.json:
        import json

        print(json.dumps(result, indent=2))
    else:
        print(format_report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
